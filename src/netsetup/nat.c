/* Masquerade and published ports in nftables table inet hull. Each call reads the table at a
 * ruleset generation, decides, and applies its whole change in one batch bound to that
 * generation; a concurrent change makes the kernel refuse it and the call starts over. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "nat_int.h"

/* Many containers starting at once each change the ruleset; back off and retry. */
#define NAT_TRIES 64

typedef int (*nat_step)(struct nat_conn *c, uint32_t genid, const struct nat_rules *rules,
			void *arg, struct hull_err *err);

/* 0.2 ms more per attempt plus up to 1 ms of jitter, so racing processes spread out. */
static void backoff(int attempt)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long us = (now.tv_nsec / 1000 + getpid()) % 1000 + 200L * (attempt + 1);
	struct timespec ts = {0, us * 1000};
	nanosleep(&ts, NULL);
}

static int transact(nat_step step, void *arg, struct hull_err *err)
{
	int r = -1;
	for (int i = 0; i < NAT_TRIES; i++) {
		/* A fresh socket per attempt: replies to a refused batch may still be queued on
		 * the old one and would be read as the answer to the next request. */
		struct nat_conn *c = nat_conn_open(err);
		if (c == NULL)
			return -1;
		uint32_t genid = 0;
		struct nat_rules rules;
		/* EINTR: the ruleset changed during the dump (NLM_F_DUMP_INTR). */
		r = nat_snapshot(c, &genid, &rules, err);
		if (r == 0) {
			r = step(c, genid, &rules, arg, err);
			nat_rules_free(&rules);
		}
		nat_conn_close(c);
		if (r >= 0 || (err->code != ERESTART && err->code != EINTR) || i == NAT_TRIES - 1)
			break;
		hull_err_clear(err);
		backoff(i);
	}
	return r;
}

static size_t count_prefix(const struct nat_rules *rules, const char *prefix)
{
	size_t n = 0;
	for (size_t i = 0; i < rules->n; i++)
		n += strncmp(rules->v[i].tag, prefix, strlen(prefix)) == 0;
	return n;
}

static void del_prefix(struct nat_batch *b, const struct nat_rules *rules, const char *prefix)
{
	for (size_t i = 0; i < rules->n; i++)
		if (strncmp(rules->v[i].tag, prefix, strlen(prefix)) == 0)
			nat_batch_del_rule(b, &rules->v[i]);
}

/* Writes 1 unless it is 1 already (a read-only /proc/sys then does no harm). */
static int sysctl_on(const char *path, struct hull_err *err)
{
	char cur[4] = "";
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "open %s", path);
	if (read(fd, cur, sizeof(cur) - 1) > 0 && cur[0] == '1')
		return 0;
	if (pwrite(fd, "1\n", 2, 0) != 2)
		return hull_error(err, errno, "write 1 to %s", path);
	return 0;
}

struct ensure {
	const char *bridge;
	char tag[NAT_TAG_MAX], prefix[NAT_TAG_MAX];
	struct nat_cidr v4, v6;
	bool has4, has6;
};

static void ensure_rules(struct nat_batch *b, struct ensure *e, bool *oom)
{
	struct nftnl_rule *r[4] = {0};
	size_t n = 0;
	if (e->has4) {
		r[n++] = nat_rule_masq(&e->v4, e->bridge, NAT_MASQ_OUT, e->tag);
		r[n++] = nat_rule_masq(&e->v4, e->bridge, NAT_MASQ_HAIRPIN, e->tag);
		r[n++] = nat_rule_masq(&e->v4, e->bridge, NAT_MASQ_LOOPBACK, e->tag);
	}
	if (e->has6)
		r[n++] = nat_rule_masq(&e->v6, e->bridge, NAT_MASQ_OUT, e->tag);
	for (size_t i = 0; i < n; i++) {
		if (r[i] == NULL) {
			*oom = true;
			continue;
		}
		nat_batch_add_rule(b, r[i]);
		nftnl_rule_free(r[i]);
	}
}

static int ensure_step(struct nat_conn *c, uint32_t genid, const struct nat_rules *rules, void *arg,
		       struct hull_err *err)
{
	struct ensure *e = arg;
	size_t want = (e->has4 ? 3 : 0) + (e->has6 ? 1 : 0);
	size_t old = count_prefix(rules, e->prefix);
	if (old == want && count_prefix(rules, e->tag) == want)
		return 0; /* already in place: no change, no new generation */
	bool oom = false;
	struct nat_batch *b = nat_batch_new(c, genid, old + want + 4);
	if (b != NULL) {
		nat_batch_table_chains(b);
		del_prefix(b, rules, e->prefix);
		ensure_rules(b, e, &oom);
	}
	int r = oom ? hull_error(err, ENOMEM, "nftables: build masquerade rules")
		    : nat_batch_commit(c, b, "add masquerade rules", err);
	nat_batch_free(b);
	return r;
}

static int check_bridge(const char *bridge, struct hull_err *err)
{
	if (bridge == NULL || *bridge == '\0' || strlen(bridge) >= IFNAMSIZ ||
	    strchr(bridge, '/') != NULL || strcmp(bridge, ".") == 0 || strcmp(bridge, "..") == 0)
		return hull_error(err, EINVAL, "bad bridge name \"%s\"", bridge ? bridge : "");
	return 0;
}

/* The first character of a sysctl file, 0 when unreadable. */
static char sysctl_get(const char *path)
{
	char cur[4] = "";
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 && read(fd, cur, sizeof(cur) - 1) > 0 ? cur[0] : 0;
}

/* With forwarding on, an interface with accept_ra=1 stops listening to router
 * advertisements, and a host that got its IPv6 default route from one loses it when the
 * route expires. Before hull turns forwarding on, every interface (and the default for new
 * ones) that accepts RAs is moved to accept_ra=2, "accept even when forwarding": the host
 * keeps the behaviour it had. */
static int keep_router_advertisements(struct hull_err *err)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/sys/net/ipv6/conf");
	if (d == NULL)
		return hull_error(err, errno, "open /proc/sys/net/ipv6/conf");
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		char path[sizeof "/proc/sys/net/ipv6/conf//accept_ra" + sizeof e->d_name];
		if (e->d_name[0] == '.' || strcmp(e->d_name, "all") == 0)
			continue;
		snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/accept_ra", e->d_name);
		if (sysctl_get(path) != '1')
			continue;
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "2\n", 2) != 2)
			return hull_error(err, errno, "write 2 to %s", path);
	}
	return 0;
}

/* Forwarding, and route_localnet on the bridge: a connection to 127.0.0.1:PORT that output
 * DNATs to a container leaves through the bridge with source 127.0.0.1, which the kernel
 * drops as a martian unless the bridge allows it (masquerade then rewrites the source). */
static int ensure_sysctls(const char *bridge, bool v6, struct hull_err *err)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
	if (sysctl_on("/proc/sys/net/ipv4/ip_forward", err) < 0 || sysctl_on(path, err) < 0)
		return -1;
	const char *fwd6 = "/proc/sys/net/ipv6/conf/all/forwarding";
	if (v6 && sysctl_get(fwd6) != '1' &&
	    (keep_router_advertisements(err) < 0 || sysctl_on(fwd6, err) < 0))
		return -1;
	return 0;
}

int net_nat_ensure(const char *bridge, const char *subnet4, const char *subnet6,
		   struct hull_err *err)
{
	struct ensure e = {.bridge = bridge, .has4 = subnet4 != NULL, .has6 = subnet6 != NULL};
	if (check_bridge(bridge, err) < 0 ||
	    nat_tag_bridge(e.tag, bridge, subnet4, subnet6, err) < 0 ||
	    nat_tag_bridge_prefix(e.prefix, bridge, err) < 0)
		return -1;
	if (subnet4 && nat_cidr_parse(subnet4, AF_INET, &e.v4, err) < 0)
		return -1;
	if (subnet6 && nat_cidr_parse(subnet6, AF_INET6, &e.v6, err) < 0)
		return -1;
	if (ensure_sysctls(bridge, e.has6, err) < 0)
		return hull_error_wrap(err, "NAT for bridge %s", bridge);
	if (transact(ensure_step, &e, err) < 0)
		return hull_error_wrap(err, "NAT for bridge %s", bridge);
	return 0;
}

struct publish {
	const char *id;
	struct in_addr ip4;
	const struct net_port *ports;
	size_t n;
	char prefix[NAT_TAG_MAX];
};

static const char *proto_text(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* A port of ours that a rule of another container already publishes. */
static int check_taken(const struct publish *p, const struct nat_rules *rules, struct hull_err *err)
{
	char other[NAT_TAG_MAX];
	int proto;
	uint16_t port;
	for (size_t i = 0; i < rules->n; i++) {
		if (nat_tag_port_parse(rules->v[i].tag, other, &proto, &port) < 0 ||
		    strcmp(other, p->id) == 0)
			continue;
		for (size_t j = 0; j < p->n; j++)
			if (p->ports[j].proto == proto && p->ports[j].host_port == port)
				return hull_error(err, EADDRINUSE,
						  "host port %s/%u is already published by %s",
						  proto_text(proto), (unsigned)port, other);
	}
	return 0;
}

static int add_port_rules(struct nat_batch *b, const struct publish *p, struct hull_err *err)
{
	static const char *const chains[] = {NAT_PREROUTING, NAT_OUTPUT};
	char tag[NAT_TAG_MAX];
	for (size_t i = 0; i < p->n; i++) {
		if (nat_tag_port(tag, p->id, &p->ports[i], err) < 0)
			return -1;
		for (size_t k = 0; k < 2; k++) {
			_cleanup_rule_ struct nftnl_rule *r =
			    nat_rule_dnat(chains[k], &p->ports[i], p->ip4, tag);
			if (r == NULL)
				return hull_error(err, ENOMEM, "nftables: build DNAT rule");
			nat_batch_add_rule(b, r);
		}
	}
	return 0;
}

static int publish_step(struct nat_conn *c, uint32_t genid, const struct nat_rules *rules,
			void *arg, struct hull_err *err)
{
	struct publish *p = arg;
	if (check_taken(p, rules, err) < 0)
		return -1;
	size_t old = count_prefix(rules, p->prefix);
	struct nat_batch *b = nat_batch_new(c, genid, old + 2 * p->n + 4);
	if (b == NULL)
		return hull_error(err, ENOMEM, "nftables batch");
	nat_batch_table_chains(b);
	del_prefix(b, rules, p->prefix);
	int r = add_port_rules(b, p, err);
	if (r == 0)
		r = nat_batch_commit(c, b, "add published-port rules", err);
	nat_batch_free(b);
	return r;
}

static int check_ports(const struct net_port *ports, size_t n, struct hull_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct net_port *a = &ports[i];
		if ((a->proto != IPPROTO_TCP && a->proto != IPPROTO_UDP) || a->host_port == 0 ||
		    a->container_port == 0)
			return hull_error(err, EINVAL, "bad published port %u:%u",
					  (unsigned)a->host_port, (unsigned)a->container_port);
		for (size_t j = 0; j < i; j++)
			if (ports[j].proto == a->proto && ports[j].host_port == a->host_port)
				return hull_error(err, EINVAL, "host port %s/%u published twice",
						  proto_text(a->proto), (unsigned)a->host_port);
	}
	return 0;
}

int net_ports_add(const char *id, const char *ip4, const struct net_port *ports, size_t n,
		  struct hull_err *err)
{
	struct publish p = {.id = id, .ports = ports, .n = n};
	if (n == 0)
		return 0;
	if (ip4 == NULL || inet_pton(AF_INET, ip4, &p.ip4) != 1)
		return hull_error(err, EINVAL, "bad container address \"%s\"", ip4 ? ip4 : "");
	if (nat_tag_port_prefix(p.prefix, id, err) < 0 || check_ports(ports, n, err) < 0)
		return -1;
	if (transact(publish_step, &p, err) < 0)
		return hull_error_wrap(err, "publish ports of %s", id);
	return 0;
}

struct unpublish {
	char prefix[NAT_TAG_MAX];
};

static int unpublish_step(struct nat_conn *c, uint32_t genid, const struct nat_rules *rules,
			  void *arg, struct hull_err *err)
{
	struct unpublish *u = arg;
	size_t mine = count_prefix(rules, u->prefix);
	if (mine == 0)
		return 0;
	struct nat_batch *b = nat_batch_new(c, genid, mine + 2);
	if (b == NULL)
		return hull_error(err, ENOMEM, "nftables batch");
	del_prefix(b, rules, u->prefix);
	int r = nat_batch_commit(c, b, "delete rules", err);
	nat_batch_free(b);
	return r;
}

int net_ports_remove(const char *id, struct hull_err *err)
{
	struct unpublish u = {0};
	if (nat_tag_port_prefix(u.prefix, id, err) < 0)
		return -1;
	if (transact(unpublish_step, &u, err) < 0)
		return hull_error_wrap(err, "remove published ports of %s", id);
	return 0;
}

static int drop_step(struct nat_conn *c, uint32_t genid, const struct nat_rules *rules, void *arg,
		     struct hull_err *err)
{
	bool *dropped = arg;
	*dropped = false;
	if (rules->n > 0)
		return 0;
	struct nat_batch *b = nat_batch_new(c, genid, 1);
	if (b == NULL)
		return hull_error(err, ENOMEM, "nftables batch");
	nat_batch_del_table(b); /* its empty base chains go with it */
	int r = nat_batch_commit(c, b, "delete table inet " NAT_TABLE, err);
	nat_batch_free(b);
	if (r < 0 && err->code == ENOENT) {
		hull_err_clear(err);
		return 0;
	}
	*dropped = r == 0;
	return r;
}

int net_nat_drop_if_empty(struct hull_err *err)
{
	bool dropped = false;
	if (transact(drop_step, &dropped, err) < 0)
		return hull_error_wrap(err, "remove the nftables table inet " NAT_TABLE);
	return dropped;
}

int net_nat_release_if_unused(const char *bridge, bool still_used, struct hull_err *err)
{
	struct unpublish u = {0};
	if (still_used)
		return 0;
	if (check_bridge(bridge, err) < 0 || nat_tag_bridge_prefix(u.prefix, bridge, err) < 0)
		return -1;
	if (transact(unpublish_step, &u, err) < 0)
		return hull_error_wrap(err, "release NAT of bridge %s", bridge);
	return 0;
}
