/* The container's root filesystem in three steps, run by its init in a new mount
 * namespace: prepare (propagation, the root as a mount, the spec's mounts, /dev), pivot,
 * and finish (masked and read-only paths, a read-only root, rootfsPropagation). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/safepath.h"
#include "rootfs_internal.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

/* --- prepare --- */

/* pivot_root refuses a new root whose parent mount is shared, and a bind of an
 * unbindable mount fails: make the mount holding root_path private, as runc does. The
 * innermost mount point at or above root_path is the first that takes MS_PRIVATE. */
static int make_root_parent_private(const char *root_path, struct hull_err *err)
{
	_cleanup_free_ char *dir = realpath(root_path, NULL);
	if (dir == NULL)
		return hull_error(err, errno, "resolve the root %s", root_path);
	while (mount(NULL, dir, NULL, MS_PRIVATE, NULL) < 0) {
		if (errno != EINVAL || strcmp(dir, "/") == 0)
			return hull_error(err, errno, "make the mount of %s private", root_path);
		char *slash = strrchr(dir, '/');
		slash[slash == dir ? 1 : 0] = '\0';
	}
	return 0;
}

/* Nothing mounted in here may reach the host: "/" becomes rslave (runc's default) or
 * what rootfsPropagation asks, recursively, before anything is mounted. */
static int set_root_propagation(const struct oci_spec *spec, struct hull_err *err)
{
	unsigned long type = spec->linux_cfg.rootfs_propagation & PROPAGATION_FLAGS;
	if (type == 0)
		type = MS_SLAVE;
	if (mount(NULL, "/", NULL, MS_REC | type, NULL) < 0)
		return hull_error(err, errno, "make / recursively %s",
				  type == MS_SLAVE ? "slave" : "rootfsPropagation");
	if (type & (MS_SHARED | MS_UNBINDABLE))
		return make_root_parent_private(spec->root_path, err);
	return 0;
}

/* pivot_root needs the new root to be a mount point: bind it onto itself. */
static int bind_root(struct ns_rootfs *rfs, struct hull_err *err)
{
	const char *root = rfs->spec->root_path;
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return hull_error(err, errno, "bind the root %s onto itself", root);
	rfs->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfs->root_fd < 0)
		return hull_error(err, errno, "open the root %s", root);
	return 0;
}

int ns_rootfs_prepare(struct ns_rootfs *rfs, struct hull_err *err)
{
	const struct oci_spec *spec = rfs->spec;
	rfs->root_fd = -1;
	if (set_root_propagation(spec, err) < 0 || bind_root(rfs, err) < 0)
		return -1;
	/* runtime-spec "Mounts": in the listed order, later ones may sit inside earlier. */
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (ns_mount(rfs, &spec->mounts[i], err) < 0)
			return -1;
	return ns_rootfs_devices(rfs, err);
}

/* --- pivot --- */

static int pivot_failed(int code, struct hull_err *err)
{
	struct statfs sf;
	/* The initramfs root (rootfs, a ramfs or tmpfs) cannot be pivoted away from. */
	if (code == EINVAL && statfs("/", &sf) == 0 &&
	    (sf.f_type == RAMFS_MAGIC || sf.f_type == TMPFS_MAGIC))
		return hull_error(
		    err, code,
		    "pivot_root: the current root is a ramfs/rootfs, where pivot_root "
		    "is refused; run with --no-pivot");
	return hull_error(err, code, "pivot_root");
}

/* runc --no-pivot: move the root over "/" and chroot. Weaker than pivot_root: the old
 * root's other mounts stay in the namespace, under the new root, so a process that may
 * chroot can get back to them. Only for roots where pivot_root is refused. */
static int move_root(struct hull_err *err)
{
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return hull_error(err, errno, "move the root onto /");
	if (chroot(".") < 0)
		return hull_error(err, errno, "chroot");
	if (chdir("/") < 0)
		return hull_error(err, errno, "chdir /");
	return 0;
}

int ns_rootfs_pivot(struct ns_rootfs *rfs, struct hull_err *err)
{
	if (fchdir(rfs->root_fd) < 0)
		return hull_error(err, errno, "enter the root");
	if (rfs->no_pivot)
		return move_root(err);
	/* pivot_root(".", "."): the old root ends up stacked on the new one at ".", from
	 * where it is detached; no directory for it is needed in the rootfs. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return pivot_failed(errno, err);
	/* The old root may still have shared mounts (rootfsPropagation "shared"): make it
	 * rslave so detaching it cannot unmount anything on the host. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return hull_error(err, errno, "make the old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return hull_error(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return hull_error(err, errno, "chdir /");
	return 0;
}

/* --- finish --- */

/* Missing paths are skipped (runtime-spec maskedPaths/readonlyPaths); 0 then. */
static int open_existing(int root_fd, const char *path, struct hull_err *err)
{
	int fd = safe_open_in_root(root_fd, path, O_PATH, err);
	if (fd < 0 && err->code == ENOENT) {
		hull_err_clear(err);
		return -ENOENT;
	}
	return fd;
}

/* The container's /dev/null, which masks files. CVE-2025-31133: a container could make
 * it a symlink to a host-sensitive file and have that bind-mounted over a masked path;
 * it must be the null device itself, and the mount comes from this fd. */
static int open_dev_null(int root_fd, struct hull_err *err)
{
	_cleanup_close_ int fd = safe_open_in_root(root_fd, "/dev/null", O_PATH | O_NOFOLLOW, err);
	if (fd < 0)
		return hull_error_wrap(err, "masked paths need /dev/null");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error(err, errno, "stat /dev/null");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return hull_error(err, EPERM, "/dev/null in the container is not the null device");
	return steal_fd(&fd);
}

static int mask_path(int root_fd, const char *path, int *null_fd, struct hull_err *err)
{
	_cleanup_close_ int fd = open_existing(root_fd, path, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error(err, errno, "stat %s", path);
	_cleanup_close_ int masked = -1;
	if (S_ISDIR(st.st_mode)) {
		masked =
		    ns_mount_at(root_fd, path, fd, "tmpfs", "tmpfs",
				MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", -1, err);
	} else {
		if (*null_fd < 0 && (*null_fd = open_dev_null(root_fd, err)) < 0)
			return -1;
		char null_path[FD_PATH_SIZE];
		masked = ns_mount_at(root_fd, path, fd, fd_path(*null_fd, null_path), NULL, MS_BIND,
				     NULL, *null_fd, err);
	}
	return masked < 0 ? -1 : 0;
}

static int readonly_path(int root_fd, const char *path, struct hull_err *err)
{
	_cleanup_close_ int fd = open_existing(root_fd, path, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return -1;
	char self[FD_PATH_SIZE], bound_path[FD_PATH_SIZE];
	_cleanup_close_ int bound = ns_mount_at(root_fd, path, fd, fd_path(fd, self), NULL,
						MS_BIND | MS_REC, NULL, fd, err);
	if (bound < 0 || ns_remount_bind(fd_path(bound, bound_path), MS_RDONLY, true, err) < 0)
		return -1;
	/* The remount made only the top read-only; submounts (binfmt_misc under /proc/sys)
	 * follow where the kernel has mount_setattr. */
	struct hull_err ignored = {0};
	ns_mount_setattr(bound, MOUNT_ATTR_RDONLY, 0, &ignored);
	hull_err_clear(&ignored);
	return 0;
}

/* The masked and read-only paths are mounted onto /proc/self/fd/N: that must be the
 * container's procfs, not a directory tree the rootfs planted there. */
static int check_procfs(const struct oci_linux *l, struct hull_err *err)
{
	struct statfs sf;
	if (l->n_masked_paths == 0 && l->n_readonly_paths == 0)
		return 0;
	if (statfs("/proc", &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
		return hull_error(err, 0,
				  "maskedPaths and readonlyPaths need procfs mounted at /proc");
	return 0;
}

static int mask_and_protect(const struct ns_rootfs *rfs, struct hull_err *err)
{
	const struct oci_linux *l = &rfs->spec->linux_cfg;
	_cleanup_close_ int null_fd = -1;
	if (check_procfs(l, err) < 0)
		return -1;
	for (size_t i = 0; i < l->n_masked_paths; i++)
		if (mask_path(rfs->root_fd, l->masked_paths[i], &null_fd, err) < 0)
			return hull_error_wrap(err, "mask %s", l->masked_paths[i]);
	for (size_t i = 0; i < l->n_readonly_paths; i++)
		if (readonly_path(rfs->root_fd, l->readonly_paths[i], err) < 0)
			return hull_error_wrap(err, "make %s read-only", l->readonly_paths[i]);
	return 0;
}

int ns_rootfs_finish(struct ns_rootfs *rfs, struct hull_err *err)
{
	const struct oci_spec *spec = rfs->spec;
	if (mask_and_protect(rfs, err) < 0)
		return -1;
	/* "/" is the root itself now, a path no symlink can redirect. */
	if (spec->root_readonly && ns_remount_bind("/", MS_RDONLY, true, err) < 0)
		return hull_error_wrap(err, "make the root read-only");
	unsigned long propagation = spec->linux_cfg.rootfs_propagation & PROPAGATION_FLAGS;
	if (propagation != 0 && mount(NULL, "/", NULL, MS_REC | propagation, NULL) < 0)
		return hull_error(err, errno, "apply rootfsPropagation to /");
	return 0;
}
