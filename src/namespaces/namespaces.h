/* Namespaces (create, join, id maps) and the container's root filesystem. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "common/cgroup_view.h"
#include "common/err.h"
#include "common/oci.h"

/* --- namespaces (ns.c) --- */

/* "pid" -> CLONE_NEWPID ..., -1 for an unknown name. And back. */
int ns_type_from_name(const char *name);
const char *ns_name(int type);
/* NULL-terminated list of the runtime-spec names hull supports, for `features`. */
extern const char *const ns_names[];

/* setns() into ns->path, checking it is a namespace of the expected type. */
int ns_join(const struct oci_namespace *ns, struct hull_err *err);

/* Write /proc/PID/{uid_map,setgroups,gid_map} from the spec (run by the parent). */
int ns_write_id_maps(pid_t pid, const struct oci_spec *spec, struct hull_err *err);

/* Write /proc/self/timens_offsets for a time namespace just unshared. */
int ns_write_time_offsets(const struct oci_spec *spec, struct hull_err *err);

/* --- the root filesystem (rootfs.c, mounts.c, devices.c), run by the container's init
 * in its new mount namespace, as three steps with the createContainer hooks between the
 * second and the third. --- */

struct ns_rootfs {
	const struct oci_spec *spec;
	const struct cgroup_view *cgroups; /* for mounts of type "cgroup" */
	bool in_userns;	   /* mknod is impossible: bind device nodes from the host */
	bool new_cgroupns; /* cgroup mounts can be real mounts, not binds of host dirs */
	bool no_pivot;	   /* MS_MOVE + chroot instead of pivot_root (initramfs roots) */
	int root_fd;	   /* set by ns_rootfs_prepare: the container root, O_PATH */
};

/* Propagation, bind the root onto itself, the spec's mounts in order, /dev, devices. */
int ns_rootfs_prepare(struct ns_rootfs *rfs, struct hull_err *err);
/* pivot_root (or the no_pivot fallback); afterwards "/" is the container root. */
int ns_rootfs_pivot(struct ns_rootfs *rfs, struct hull_err *err);
/* After pivot: maskedPaths, readonlyPaths, root.readonly, rootfsPropagation. */
int ns_rootfs_finish(struct ns_rootfs *rfs, struct hull_err *err);
