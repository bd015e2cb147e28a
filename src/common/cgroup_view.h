/* What the rootfs code needs to know about the container's cgroups to mount them
 * inside the container; filled by src/cgroups, read by src/namespaces. */
#pragma once
#include <stddef.h>

struct cgroup_view_entry {
	char *name;	  /* directory under the cgroup mount point: "cpu", "unified", ... ;
			     "" on a pure v2 host, where the mount point itself is cgroup2 */
	char *fstype;	  /* "cgroup" or "cgroup2" */
	char *fs_options; /* v1 subsystem option ("cpu", "name=systemd"), NULL for cgroup2 */
	char *host_dir;	  /* the container's cgroup directory on the host */
};

struct cgroup_view {
	struct cgroup_view_entry *entries;
	size_t n;
};

void cgroup_view_free(struct cgroup_view *view);
