/* `hull net prune`: what hull leaves on the host for the next container (hull-net(8)):
 * bridges that no container under --root has a lease on and that have no port left, and
 * the nftables table inet hull once it holds no rule. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netsetup/netsetup.h"
#include "network_internal.h"
#include "runtime.h"

/* Under the bridge's lease lock, so no create takes a lease while we remove it. */
static int prune_bridge(struct net_nl *nl, const char *dir, const char *bridge,
			struct hull_err *err)
{
	_cleanup_close_ int lock = -1;
	int leases = net_ipam_release(dir, bridge, NULL, &lock, err);
	if (leases != 0)
		return leases < 0 ? -1 : 0;
	struct net_link_info li;
	if (net_link_get(nl, bridge, &li, err) < 0)
		return -1;
	if (li.index == 0 || strcmp(li.kind, "bridge") != 0)
		return 0;
	int ports = net_bridge_port_count(nl, li.index, err);
	if (ports != 0)
		return ports < 0 ? -1 : 0;
	if (net_link_delete(nl, bridge, err) < 0)
		return -1;
	printf("removed bridge %s\n", bridge);
	return 0;
}

/* The bridges hull knows of: the default and every one with a lease file. */
static int prune_bridges(struct net_nl *nl, const char *dir, struct hull_err *err)
{
	if (prune_bridge(nl, dir, NET_DEF_BRIDGE, err) < 0)
		return -1;
	_cleanup_closedir_ DIR *d = opendir(dir);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		size_t n = strlen(e->d_name);
		const char *suffix = ".leases";
		if (n <= strlen(suffix) || strcmp(e->d_name + n - strlen(suffix), suffix) != 0)
			continue;
		char bridge[IFNAMSIZ + 1];
		snprintf(bridge, sizeof bridge, "%.*s", (int)(n - strlen(suffix)), e->d_name);
		if (strcmp(bridge, NET_DEF_BRIDGE) != 0 && prune_bridge(nl, dir, bridge, err) < 0)
			return -1;
	}
	return 0;
}

int net_prune(const struct hull_globals *g, struct hull_err *err)
{
	char dir[4096];
	network_lease_dir(g->root, dir, sizeof dir);
	_cleanup_nl_ struct net_nl *nl = net_nl_open(-1, err);
	if (nl == NULL || prune_bridges(nl, dir, err) < 0)
		return -1;
	int dropped = net_nat_drop_if_empty(err);
	if (dropped < 0)
		return -1;
	if (dropped)
		printf("removed nftables table inet hull\n");
	return 0;
}
