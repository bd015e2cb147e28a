/* Setting up a container's planned network from the parent, while its init waits for
 * SYNC_GO, and taking it down again (delete, a failed create). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "netsetup/netsetup.h"
#include "network_internal.h"

/* The init's network namespace, or -2 (no error) when it is still ours: the init makes
 * it later (after joining a user namespace by path). */
static int open_netns(pid_t pid, struct hull_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
	struct stat a, b;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &a) < 0 || stat("/proc/self/ns/net", &b) < 0) {
		if (fd >= 0)
			close(fd);
		return hull_error(err, errno, "open %s", path);
	}
	if (a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
		close(fd);
		return -2;
	}
	return fd;
}

static int link_up(struct net_nl *nl, const char *name, unsigned mtu, int master,
		   struct hull_err *err)
{
	struct net_link_info li;
	if (net_link_get(nl, name, &li, err) < 0)
		return -1;
	if (li.index == 0)
		return hull_error(err, ENODEV, "link %s is missing", name);
	struct net_link_change ch = {
	    .index = li.index, .up = 1, .mtu = mtu, .master = master, .netns_fd = -1};
	return net_link_apply(nl, &ch, err) < 0 ? -1 : li.index;
}

/* Up, with its owner in the alias (network_internal.h); the kernel keeps 255 bytes of it. */
static int setup_bridge(struct net_nl *host, const struct net_plan *p, const char *root,
			struct hull_err *err)
{
	char dir[4096], owner[256];
	network_lease_dir(root, dir, sizeof dir);
	snprintf(owner, sizeof owner, NET_OWNER_PREFIX "%.240s", dir);
	int br = net_bridge_ensure(host, p->bridge, err);
	struct net_link_change up = {.index = br, .up = 1, .netns_fd = -1, .alias = owner};
	if (br < 0 || net_addr_add(host, br, p->gw4, p->prefix, err) < 0 ||
	    net_addr_add(host, br, p->gw6, 64, err) < 0 || net_link_apply(host, &up, err) < 0)
		return -1;
	if (net_nat_ensure(p->bridge, p->subnet, p->subnet6, err) < 0)
		return -1;
	return br;
}

static int setup_inside(struct net_nl *in, const struct net_plan *p, unsigned mtu,
			struct hull_err *err)
{
	int eth = link_up(in, "eth0", mtu, 0, err);
	if (eth < 0 || net_addr_add(in, eth, p->ip4, p->prefix, err) < 0 ||
	    net_addr_add(in, eth, p->ip6, 64, err) < 0 ||
	    net_route_default(in, eth, p->gw4, err) < 0 ||
	    net_route_default(in, eth, p->gw6, err) < 0)
		return -1;
	return 0;
}

static int setup_ports(const struct container *c, const struct net_plan *p, struct hull_err *err)
{
	struct net_port ports[NET_MAX_PORTS];
	for (size_t i = 0; i < p->n_ports; i++)
		if (net_port_parse(p->ports[i], &ports[i], err) < 0)
			return -1;
	if (p->n_ports == 0)
		return 0;
	return net_ports_add(c->st.id, p->ip4, ports, p->n_ports, err);
}

static int setup_veth(struct container *c, struct net_nl *host, struct net_nl *in, int ns,
		      const struct net_plan *p, struct hull_err *err)
{
	int br = setup_bridge(host, p, c->g->root, err);
	if (br < 0)
		return -1;
	unsigned mtu = net_uplink_mtu(host);
	int port = -1;
	uint8_t mac[6];
	net_mac_of_ip4(p->ip4, mac);
	if (net_veth_create(host, p->veth, "eth0", ns, mac, err) < 0 ||
	    (port = link_up(host, p->veth, mtu, br, err)) < 0 ||
	    net_bridge_port_hairpin(host, port, err) < 0 || setup_inside(in, p, mtu, err) < 0 ||
	    setup_ports(c, p, err) < 0)
		return hull_error_wrap(err, "network %s", p->bridge);
	return 0;
}

int network_setup(struct container *c, struct hull_err *err)
{
	struct net_plan p;
	if (net_plan_read(c->dir_fd, &p, err) < 0)
		return -1;
	if (p.mode[0] == 0)
		return 0;
	net_plan_ipv6(&p);
	_cleanup_close_ int ns = open_netns(c->pid, err);
	if (ns == -2 && strcmp(p.mode, "lo") == 0)
		return 0; /* the init's own netns comes later; the kernel leaves lo down */
	if (ns == -2)
		return hull_error(err, 0,
				  "--net %s: the network namespace is made after a "
				  "user namespace joined by path; not supported",
				  p.mode);
	if (ns < 0)
		return -1;
	_cleanup_nl_ struct net_nl *in = net_nl_open(ns, err);
	_cleanup_nl_ struct net_nl *host = in ? net_nl_open(-1, err) : NULL;
	if (host == NULL || link_up(in, "lo", 0, 0, err) < 0)
		return -1;
	if (strcmp(p.mode, "bridge") == 0 && setup_veth(c, host, in, ns, &p, err) < 0)
		return -1;
	for (size_t i = 0; i < p.n_devs; i++)
		if (net_dev_move_in(host, ns, p.dev_host[i], p.dev_ctr[i], err) < 0)
			return -1;
	return 0;
}

/* Before the init dies: its namespace would take virtual devices with it. */
void network_detach_devices(struct container *c)
{
	struct net_plan p;
	struct hull_err e = {0};
	if (net_plan_read(c->dir_fd, &p, &e) < 0 || p.n_devs == 0 || !state_pid_alive(&c->st)) {
		hull_err_clear(&e);
		return;
	}
	_cleanup_close_ int ns = open_netns(c->st.pid, &e);
	for (size_t i = 0; ns >= 0 && i < p.n_devs; i++) {
		if (net_dev_move_out(ns, p.dev_ctr[i], p.dev_host[i], &e) < 0)
			log_msg(LOG_WARN, "%s", hull_err_text(&e));
		hull_err_clear(&e);
	}
	hull_err_clear(&e);
}

/* The veth pair dies with the container's network namespace, which the kernel frees in the
 * background once the last process in it is gone. Deleting the pair here instead would make
 * delete wait for it: unregistering a device waits for RCU grace periods, 16-40 ms measured
 * on this VM, and while a dying namespace is being cleaned up, rtnl is busy anyway. So the
 * pair is deleted here only while something in the container still runs (a create that
 * failed before its init was killed). A namespace pinned by someone else (a bind mount made
 * by a hook) keeps its end of the pair until they let it go, as with any namespace. */
static int delete_veth_if_alive(struct container *c, const struct net_plan *p, struct hull_err *err)
{
	if (c->pid <= 0 && !state_pid_alive(&c->st))
		return 0;
	_cleanup_nl_ struct net_nl *host = net_nl_open(-1, err);
	return host == NULL ? -1 : net_link_delete(host, p->veth, err);
}

int network_teardown(struct container *c, struct hull_err *err)
{
	struct net_plan p;
	if (net_plan_read(c->dir_fd, &p, err) < 0)
		return -1;
	if (strcmp(p.mode, "bridge") != 0)
		return 0;
	log_msg(LOG_DEBUG, "network: release %s on bridge %s", p.ip4, p.bridge);
	char dir[4096];
	network_lease_dir(c->g->root, dir, sizeof dir);
	_cleanup_close_ int lock = -1;
	int left = -1;
	/* The NAT rules go while the lease lock is held, so a create racing with the last
	 * delete either sees its lease counted or adds the rules again after we removed them. */
	if (delete_veth_if_alive(c, &p, err) < 0 || net_ports_remove(c->st.id, err) < 0 ||
	    (left = net_ipam_release(dir, p.bridge, c->st.id, &lock, err)) < 0 ||
	    net_nat_release_if_unused(p.bridge, left > 0, err) < 0)
		return -1;
	return unlinkat(c->dir_fd, NET_PLAN_FILE, 0) < 0 && errno != ENOENT
		   ? hull_error(err, errno, "remove %s", NET_PLAN_FILE)
		   : 0;
}
