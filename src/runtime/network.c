/* A container's network: what the user asked for (--net, -p, --ip, or the org.hull.net.*
 * annotations), allocated and saved before clone(), set up from the parent while the init
 * waits for SYNC_GO, and undone by delete or a failed create. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "netsetup/netsetup.h"
#include "network_internal.h"

static const char *annotation(const struct oci_spec *spec, const char *key)
{
	for (size_t i = 0; i < spec->n_annotations; i++)
		if (strcmp(spec->annotations[i].key, key) == 0)
			return spec->annotations[i].value;
	return NULL;
}

/* --net host: no network namespace; bridge and none: a new one, added when missing. */
static void set_netns(struct oci_spec *spec, bool want)
{
	struct oci_linux *l = &spec->linux_cfg;
	size_t n = 0;
	struct oci_namespace *v = arena_alloc(&spec->arena, (l->n_namespaces + 2) * sizeof *v);
	for (size_t i = 0; i < l->n_namespaces; i++)
		if (l->namespaces[i].type != CLONE_NEWNET)
			v[n++] = l->namespaces[i];
	if (want)
		v[n++] = (struct oci_namespace){.type = CLONE_NEWNET};
	l->namespaces = v;
	l->n_namespaces = n;
}

static int plan_ports(const struct net_opts *o, const struct oci_spec *spec, struct net_plan *p,
		      struct hull_err *err)
{
	const char *ann = annotation(spec, "org.hull.net.ports");
	_cleanup_free_ char *copy = ann && o->ports.n == 0 ? strdup(ann) : NULL;
	const char *items[NET_MAX_PORTS];
	size_t n = 0;
	for (int i = 0; i < o->ports.n && n < NET_MAX_PORTS; i++)
		items[n++] = o->ports.items[i];
	char *save = NULL;
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && n < NET_MAX_PORTS;
	     t = strtok_r(NULL, ",", &save))
		items[n++] = t;
	for (size_t i = 0; i < n; i++) {
		struct net_port port;
		if (net_port_parse(items[i], &port, err) < 0)
			return -1;
		if (strlen(items[i]) >= sizeof p->ports[0])
			return hull_error(err, 0, "--publish %s: too long", items[i]);
		snprintf(p->ports[p->n_ports++], sizeof p->ports[0], "%s", items[i]);
	}
	return 0;
}

static int plan_bridge(const char *mode, struct net_plan *p, struct hull_err *err)
{
	const char *name = strncmp(mode, "bridge:", 7) == 0 ? mode + 7 : NET_DEF_BRIDGE;
	if (*name == 0 || strlen(name) >= IF_NAMESIZE || strpbrk(name, "/: \t\n") != NULL)
		return hull_error(err, 0, "--net %s: bad bridge name", mode);
	snprintf(p->mode, sizeof p->mode, "bridge");
	snprintf(p->bridge, sizeof p->bridge, "%s", name);
	return 0;
}

/* What the user asked for, with the namespaces in memory changed to match. */
static int plan_mode(const struct net_opts *o, struct oci_spec *spec, struct net_plan *p,
		     struct hull_err *err)
{
	const char *mode = o->mode ? o->mode : annotation(spec, "org.hull.net.mode");
	const struct oci_namespace *ns = oci_namespace(spec, CLONE_NEWNET);
	bool bridge = mode && (strcmp(mode, "bridge") == 0 || strncmp(mode, "bridge:", 7) == 0);
	if (mode && !bridge && strcmp(mode, "none") != 0 && strcmp(mode, "host") != 0)
		return hull_error(err, 0, "--net %s: want none, host or bridge[:NAME]", mode);
	if (ns != NULL && ns->path != NULL) {
		if (mode != NULL)
			return hull_error(err, 0,
					  "--net %s: the config joins the network "
					  "namespace %s",
					  mode, ns->path);
		return 0;
	}
	if (mode && strcmp(mode, "host") == 0) {
		set_netns(spec, false);
		return 0;
	}
	if (mode == NULL && ns == NULL)
		return 0;
	if (ns == NULL)
		set_netns(spec, true);
	if (bridge)
		return plan_bridge(mode, p, err);
	snprintf(p->mode, sizeof p->mode, "lo");
	return 0;
}

static int plan_devices(const struct oci_spec *spec, struct net_plan *p, struct hull_err *err)
{
	const struct oci_linux *l = &spec->linux_cfg;
	if (l->n_net_devices == 0)
		return 0;
	if (strcmp(p->mode, "lo") != 0 && strcmp(p->mode, "bridge") != 0)
		return hull_error(err, 0, "linux.netDevices needs a new network namespace");
	for (size_t i = 0; i < l->n_net_devices && i < NET_MAX_DEVS; i++) {
		const struct oci_net_device *d = &l->net_devices[i];
		snprintf(p->dev_host[i], IF_NAMESIZE, "%s", d->name);
		snprintf(p->dev_ctr[i], IF_NAMESIZE, "%s", d->new_name ? d->new_name : d->name);
		p->n_devs++;
	}
	return 0;
}

void network_lease_dir(const char *root, char *out, size_t size)
{
	char abs[PATH_MAX];
	snprintf(out, size, "%s/%s", realpath(root, abs) ? abs : root, NET_LEASE_DIR);
}

/* Two --root directories on one bridge would lease the same addresses, and the last
 * container of either would take the NAT rules the other's still use: a create is refused
 * while the bridge's owner (its alias) is another root that still has leases on it. */
static int check_bridge_owner(const char *bridge, const char *dir, struct hull_err *err)
{
	_cleanup_nl_ struct net_nl *nl = net_nl_open(-1, err);
	struct net_link_info li;
	if (nl == NULL || net_link_get(nl, bridge, &li, err) < 0)
		return -1;
	size_t n = strlen(NET_OWNER_PREFIX);
	const char *other = li.alias + n;
	if (li.index == 0 || strncmp(li.alias, NET_OWNER_PREFIX, n) != 0 || strcmp(other, dir) == 0)
		return 0;
	struct hull_err ignored = {0};
	int left = net_ipam_count(other, bridge, &ignored);
	hull_err_clear(&ignored);
	if (left > 0)
		return hull_error(err, EBUSY,
				  "--net bridge:%s: its addresses are leased by the containers of "
				  "another --root (%.*s); use that --root or another bridge",
				  bridge, (int)(strlen(other) - strlen("/" NET_LEASE_DIR)), other);
	return 0;
}

/* The host end's name: the id's hash mixed with random bits. Not the id's hash alone: the
 * pair of a deleted container goes away with its namespace in the background, so a new
 * container of the same id (`run --rm` in a loop) must not need the old name free. */
static void veth_name(const char *id, char out[IF_NAMESIZE])
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *s = id; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	uint32_t salt = 0;
	if (getrandom(&salt, sizeof salt, GRND_NONBLOCK) != sizeof salt)
		salt = (uint32_t)getpid() * 2654435761u ^ (uint32_t)time(NULL);
	snprintf(out, IF_NAMESIZE, "hv%08x", h ^ salt);
}

static int lease(struct container *c, const struct net_opts *o, struct net_plan *p,
		 struct hull_err *err)
{
	const char *ip = o->ip ? o->ip : annotation(&c->spec, "org.hull.net.ip");
	const char *subnet = annotation(&c->spec, "org.hull.net.subnet");
	struct net_subnet s;
	snprintf(p->subnet, sizeof p->subnet, "%s", subnet ? subnet : NET_DEF_SUBNET);
	if (net_subnet_parse(p->subnet, &s, err) < 0)
		return -1;
	p->prefix = s.prefix;
	veth_name(c->st.id, p->veth);
	/* Saved before the lease, so that a delete after a crash releases it. */
	if (net_plan_write(c->dir_fd, p, err) < 0)
		return -1;
	char dir[4096];
	network_lease_dir(c->g->root, dir, sizeof dir);
	if (check_bridge_owner(p->bridge, dir, err) < 0 ||
	    net_ipam_alloc(dir, p->bridge, &s, c->st.id, ip, p->ip4, err) < 0)
		return -1;
	net_plan_ipv6(p);
	return net_plan_write(c->dir_fd, p, err);
}

int network_prepare(struct container *c, const struct net_opts *o, struct hull_err *err)
{
	struct net_plan p = {0};
	if (plan_mode(o, &c->spec, &p, err) < 0 || plan_devices(&c->spec, &p, err) < 0)
		return -1;
	if (oci_namespace(&c->spec, CLONE_NEWNET) == NULL)
		log_msg(LOG_DEBUG, "network: host");
	if (strcmp(p.mode, "bridge") != 0) {
		if (o->ports.n || o->ip)
			return hull_error(err, 0, "--publish and --ip need --net bridge");
		return p.mode[0] ? net_plan_write(c->dir_fd, &p, err) : 0;
	}
	if (plan_ports(o, &c->spec, &p, err) < 0 || lease(c, o, &p, err) < 0)
		return -1;
	log_msg(LOG_DEBUG, "network: bridge %s, ip %s", p.bridge, p.ip4);
	return net_files_prepare(c, &p, err);
}
