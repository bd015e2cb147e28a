/* Shared by rootfs.c, mounts.c and devices.c; not part of the namespaces API. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "namespaces.h"

/* "/proc/self/fd/N": what mount(2) is given instead of a path string, so a symlink
 * swapped into the rootfs cannot redirect a mount (the fd was resolved in the root). */
#define FD_PATH_SIZE 32
static inline const char *fd_path(int fd, char buf[FD_PATH_SIZE])
{
	snprintf(buf, FD_PATH_SIZE, "/proc/self/fd/%d", fd);
	return buf;
}

/* mounts.c */

/* Mount one entry of the spec's mounts: create its target in the root, mount, check it
 * landed there, then options, propagation and recursive attributes. */
int ns_mount(const struct ns_rootfs *rfs, const struct oci_mount *m, struct hull_err *err);

/* mount(2) onto the file target_fd is open on, then open dest in the root again and
 * check that it now shows the new mount (and, when source_fd >= 0, the very file
 * source_fd is open on): the target was not swapped meanwhile. Returns an O_PATH fd of
 * the new mount's root. */
int ns_mount_at(int root_fd, const char *dest, int target_fd, const char *source, const char *type,
		unsigned long flags, const char *data, int source_fd, struct hull_err *err);

/* Remount the bind mount at target with the per-mount flags in flags (MS_RDONLY,
 * MS_NOSUID, ..., atime). keep_locked ORs in the nosuid/nodev/noexec/rdonly/atime
 * flags the mount has now: a user namespace may not clear them (EPERM), and read-only
 * paths must keep them. */
int ns_remount_bind(const char *target, unsigned long flags, bool keep_locked,
		    struct hull_err *err);

/* copyup.c: copy the tree under src_dir into dst_dir (tmpcopyup), keeping owners, modes
 * and times; symlinks are copied, never followed. */
int ns_copy_up(int src_dir, int dst_dir, struct hull_err *err);

/* mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE) with MOUNT_ATTR_* bits. */
int ns_mount_setattr(int fd, uint64_t attr_set, uint64_t attr_clr, struct hull_err *err);

/* devices.c: the default /dev when the spec mounted a tmpfs there, then linux.devices. */
int ns_rootfs_devices(const struct ns_rootfs *rfs, struct hull_err *err);
