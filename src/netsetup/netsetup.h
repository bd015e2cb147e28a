/* src/netsetup: container networking over rtnetlink (libmnl): links, veth, bridge,
 * addresses, routes, address allocation, and (nat*.c) NAT and published ports. */
#pragma once
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* ===== links, addresses, routes, allocation (netlink.c link.c addr.c ipam.c netdev.c) ===== */

struct nlmsghdr;

/* One rtnetlink socket, bound in the network namespace of netns_fd (-1: ours). */
struct net_nl;
struct net_nl *net_nl_open(int netns_fd, struct hull_err *err);
void net_nl_close(struct net_nl *nl);
static inline void net_nl_closep(struct net_nl **nl)
{
	net_nl_close(*nl);
}
#define _cleanup_nl_ __attribute__((cleanup(net_nl_closep)))
/* Send one request (with NLM_F_ACK) and read until its ack or NLMSG_DONE; each other reply
 * goes to cb. what names the request in errors, which carry the kernel's extack text. */
typedef int (*net_nl_cb)(const struct nlmsghdr *nlh, void *data);
int net_nl_talk(struct net_nl *nl, struct nlmsghdr *nlh, net_nl_cb cb, void *data, const char *what,
		struct hull_err *err);
/* The replies in buf[0..len) for request seq: 1 when an ack or NLMSG_DONE ended them, 0 when
 * more should follow, <0 on an error reply (err filled, with the extack message if any). */
int net_nl_parse(const void *buf, size_t len, uint32_t seq, net_nl_cb cb, void *data,
		 const char *what, struct hull_err *err);

/* Message builders (pure; buf holds at least NET_MSG_SIZE bytes). */
#define NET_MSG_SIZE 8192
struct nlmsghdr *net_msg_veth(void *buf, const char *name, const char *peer, int peer_netns_fd,
			      const uint8_t peer_mac[6]);
struct nlmsghdr *net_msg_bridge(void *buf, const char *name);
/* Hairpin mode on bridge port index: a frame may leave by the port it came in on, which
 * a container reaching its own published port needs when br_netfilter is loaded. */
struct nlmsghdr *net_msg_bridge_port_hairpin(void *buf, int index);
int net_bridge_port_hairpin(struct net_nl *nl, int index, struct hull_err *err);
struct net_link_change {
	int index;
	int up;		   /* 1 up, 0 down, -1 unchanged */
	unsigned mtu;	   /* 0: unchanged */
	int master;	   /* ifindex, 0: unchanged */
	const char *name;  /* rename, or NULL */
	int netns_fd;	   /* move, or -1 */
	const char *alias; /* IFLA_IFALIAS, or NULL */
};
struct nlmsghdr *net_msg_link_change(void *buf, const struct net_link_change *ch);
/* family AF_INET or AF_INET6; addr in network order. */
struct nlmsghdr *net_msg_addr(void *buf, int index, int family, const void *addr, int prefix);
struct nlmsghdr *net_msg_default_route(void *buf, int index, int family, const void *gw);

struct net_link_info {
	int index; /* 0: no such link */
	unsigned mtu;
	char kind[32];	 /* "bridge", "veth", ... or "" */
	char alias[256]; /* IFLA_IFALIAS, or "" */
};
int net_link_get(struct net_nl *nl, const char *name, struct net_link_info *out,
		 struct hull_err *err);
int net_link_apply(struct net_nl *nl, const struct net_link_change *ch, struct hull_err *err);
/* How many links have bridge_index as their master. */
int net_bridge_port_count(struct net_nl *nl, int bridge_index, struct hull_err *err);
/* The bridge, created when missing; fails when the name is another kind of link. */
int net_bridge_ensure(struct net_nl *nl, const char *name, struct hull_err *err);
/* A veth pair, the peer made directly in peer_netns_fd with peer_mac (NULL: the kernel's
 * random one). */
int net_veth_create(struct net_nl *nl, const char *name, const char *peer, int peer_netns_fd,
		    const uint8_t peer_mac[6], struct hull_err *err);
/* The container MAC for an IPv4 address: locally administered 02:68 + its four bytes, so a
 * reused address keeps its MAC and a stale neighbour entry on the host stays right. */
void net_mac_of_ip4(const char *ip4, uint8_t mac[6]);
/* Removing a missing link is not an error. */
int net_link_delete(struct net_nl *nl, const char *name, struct hull_err *err);
/* The MTU of the link the IPv4 default route goes out of, 1500 without one. */
unsigned net_uplink_mtu(struct net_nl *nl);
int net_addr_add(struct net_nl *nl, int index, const char *text, int prefix, struct hull_err *err);
int net_route_default(struct net_nl *nl, int index, const char *gw_text, struct hull_err *err);

/* linux.netDevices: move host_name into netns_fd as new_name (NULL: same name), and back. */
int net_dev_move_in(struct net_nl *host, int netns_fd, const char *host_name, const char *new_name,
		    struct hull_err *err);
int net_dev_move_out(int netns_fd, const char *ctr_name, const char *host_name,
		     struct hull_err *err);

/* Address allocation: IPv4 leases in a subnet, one file per bridge under dir, locked. */
struct net_subnet {
	uint32_t net; /* host order */
	int prefix;
};
int net_subnet_parse(const char *cidr, struct net_subnet *out, struct hull_err *err);
/* The lowest address not in taken (host order, any order), not the network, the gateway
 * (.1) or the broadcast address; <0 when the subnet is full. */
int net_ipam_pick(const struct net_subnet *s, const uint32_t *taken, size_t n, uint32_t *out);
/* Lease an address for id: want (text) or the lowest free one; out gets its text. */
int net_ipam_alloc(const char *dir, const char *bridge, const struct net_subnet *s, const char *id,
		   const char *want, char out[16], struct hull_err *err);
/* Drop id's lease (id NULL: none); returns how many leases the bridge still has. With
 * held_lock, the bridge's lock fd stays held and is handed over (or -1), so the caller can
 * act on "none left" before a concurrent create takes a new lease. */
int net_ipam_release(const char *dir, const char *bridge, const char *id, int *held_lock,
		     struct hull_err *err);
/* How many leases the bridge has (0 when none or no file). */
int net_ipam_count(const char *dir, const char *bridge, struct hull_err *err);

/* ===== NAT and published ports (nat*.c) ===== */
/* All rules live in one nftables table, inet hull (nat.c, nat_nl.c, nat_rules.c, ports.c). */

struct net_port {
	uint16_t host_port, container_port;
	int proto; /* IPPROTO_TCP or IPPROTO_UDP */
};
/* "8080:80", "8080:80/tcp", "53:53/udp"; a clear error naming the spec otherwise. Pure. */
int net_port_parse(const char *spec, struct net_port *out, struct hull_err *err);
/* Masquerade traffic leaving subnet4/subnet6 (either may be NULL) through anything but
 * bridge, and hairpin traffic sent back onto it; turns on forwarding and the bridge's
 * route_localnet. Idempotent. */
int net_nat_ensure(const char *bridge, const char *subnet4, const char *subnet6,
		   struct hull_err *err);
/* DNAT host ports to ip4 from outside and from the host itself (127.0.0.1 included), in one
 * transaction tagged with id; a host port already published by another id is an error. */
int net_ports_add(const char *id, const char *ip4, const struct net_port *ports, size_t n,
		  struct hull_err *err);
/* Removing ports of an id that has none is not an error. */
int net_ports_remove(const char *id, struct hull_err *err);
/* When still_used is false, drop the bridge's rules. The table and its base chains stay:
 * unregistering the nat hooks waits for RCU grace periods (13 ms here), a cost every
 * sequential run would pay; the empty chains hold no rules and match nothing. */
int net_nat_release_if_unused(const char *bridge, bool still_used, struct hull_err *err);
/* The nftables sockets this process used are kept open until here: closing one soon after a
 * commit waits for an RCU grace period. Call once, just before the process exits: a child
 * that holds nothing else closes them (and waits) after the process has gone. */
void net_nat_release_sockets(void);
/* `hull net prune`: remove table inet hull when it holds no rule; 1 when it was removed,
 * 0 when it was not there or still has rules. */
int net_nat_drop_if_empty(struct hull_err *err);
