/* linux.netDevices (runtime-spec 1.2): a host interface moved into the container's network
 * namespace, renamed there, and moved back on delete. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "netsetup.h"

static int move(struct net_nl *from, const char *name, int to_fd, struct hull_err *err)
{
	struct net_link_info li;
	if (net_link_get(from, name, &li, err) < 0)
		return -1;
	if (li.index == 0)
		return hull_error(err, ENODEV, "linux.netDevices: no interface %s", name);
	struct net_link_change ch = {.index = li.index, .up = 0, .netns_fd = to_fd};
	if (net_link_apply(from, &ch, err) < 0)
		return hull_error_wrap(err, "linux.netDevices: move %s", name);
	return 0;
}

/* Renamed in the namespace it is in now, where the new name must be free. */
static int rename_in(struct net_nl *nl, const char *name, const char *new_name,
		     struct hull_err *err)
{
	struct net_link_info li;
	if (net_link_get(nl, name, &li, err) < 0)
		return -1;
	struct net_link_change ch = {.index = li.index, .up = 1, .name = new_name, .netns_fd = -1};
	if (li.index == 0 || net_link_apply(nl, &ch, err) < 0)
		return hull_error_wrap(err, "linux.netDevices: rename %s to %s", name, new_name);
	return 0;
}

int net_dev_move_in(struct net_nl *host, int netns_fd, const char *host_name, const char *new_name,
		    struct hull_err *err)
{
	if (move(host, host_name, netns_fd, err) < 0)
		return -1;
	struct net_nl *inside = net_nl_open(netns_fd, err);
	if (inside == NULL)
		return -1;
	int r = rename_in(inside, host_name, new_name ? new_name : host_name, err);
	net_nl_close(inside);
	return r;
}

int net_dev_move_out(int netns_fd, const char *ctr_name, const char *host_name,
		     struct hull_err *err)
{
	struct net_nl *inside = net_nl_open(netns_fd, err);
	if (inside == NULL)
		return -1;
	int home = open("/proc/self/ns/net", 0);
	int r = home < 0 ? hull_error(err, errno, "open /proc/self/ns/net")
			 : move(inside, ctr_name, home, err);
	net_nl_close(inside);
	if (home >= 0)
		close(home);
	if (r < 0)
		return -1;
	struct net_nl *nl = net_nl_open(-1, err);
	if (nl == NULL)
		return -1;
	r = rename_in(nl, ctr_name, host_name, err);
	net_nl_close(nl);
	return r;
}
