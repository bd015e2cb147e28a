/* Private to src/runtime: a container's network plan, as saved in its state directory. */
#pragma once
#include <net/if.h>
#include <stddef.h>

#include "common/err.h"

#define NET_PLAN_FILE  "network"
#define NET_MAX_PORTS  64
#define NET_MAX_DEVS   16
#define NET_LEASE_DIR  ".net" /* under --root; a dot so `list` and ids never meet it */
#define NET_DEF_BRIDGE "hull0"
#define NET_DEF_SUBNET "10.89.0.0/16"

/* "lo": a new netns with loopback up; "bridge": a veth on a bridge. */
struct net_plan {
	char mode[16]; /* "" = hull leaves the network alone */
	char bridge[IF_NAMESIZE], veth[IF_NAMESIZE];
	char subnet[32], gw4[16], ip4[16], subnet6[56], gw6[48], ip6[48];
	int prefix;
	char ports[NET_MAX_PORTS][32];
	size_t n_ports;
	char dev_host[NET_MAX_DEVS][IF_NAMESIZE], dev_ctr[NET_MAX_DEVS][IF_NAMESIZE];
	size_t n_devs;
};

int net_plan_write(int dir_fd, const struct net_plan *p, struct hull_err *err);
struct hull_globals;
/* `hull net prune` (net_prune.c). */
int net_prune(const struct hull_globals *g, struct hull_err *err);
/* A missing file is an empty plan. */
int net_plan_read(int dir_fd, struct net_plan *p, struct hull_err *err);
/* The IPv6 side of an IPv4 subnet and address: fd89:HI:LO::/64, ...::A:B. */
void net_plan_ipv6(struct net_plan *p);
