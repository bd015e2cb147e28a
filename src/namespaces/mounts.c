/* One mount of the spec: its target created inside the root, the mount made onto the
 * target's fd, a check that it landed there, then options, propagation and recursive
 * attributes. Bind mounts, filesystems, and the cgroup tree each have their steps. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/safepath.h"
#include "rootfs_internal.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MOUNT_ATTR__ATIME
#define MOUNT_ATTR__ATIME 0x00000070
#endif
#ifndef MOUNT_ATTR_SIZE_VER0
struct mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#endif

#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
#define ATIME_FLAGS	  (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)
/* Per-mount flags: a bind mount ignores them and takes them only through a remount. */
#define BIND_REMOUNT_FLAGS                                                                         \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NODIRATIME | MS_NOSYMFOLLOW |           \
	 ATIME_FLAGS)

/* --- where a mount lands --- */

static int mnt_id_from_fdinfo(int fd, uint64_t *id)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	char line[256];
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "mnt_id: %" SCNu64, id) == 1)
			return 0;
	errno = ENODATA;
	return -1;
}

/* The id of the mount fd is on (statx since Linux 5.8, fdinfo before). */
static int mnt_id_of(int fd, uint64_t *id)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) == 0 &&
	    (stx.stx_mask & STATX_MNT_ID)) {
		*id = stx.stx_mnt_id;
		return 0;
	}
	return mnt_id_from_fdinfo(fd, id);
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int ns_mount_at(int root_fd, const char *dest, int target_fd, const char *source, const char *type,
		unsigned long flags, const char *data, int source_fd, struct hull_err *err)
{
	char target[FD_PATH_SIZE];
	if (mount(source, fd_path(target_fd, target), type, flags, data) < 0)
		return hull_error(err, errno, "mount");
	/* Bubblewrap's check: what dest shows now must be the new mount (and for a bind,
	 * the source itself), not something swapped in under the same name. */
	_cleanup_close_ int fd = safe_open_in_root(root_fd, dest, O_PATH, err);
	if (fd < 0)
		return hull_error_wrap(err, "after mounting");
	uint64_t before, after;
	if (mnt_id_of(target_fd, &before) < 0 || mnt_id_of(fd, &after) < 0)
		return hull_error(err, errno, "read the mount id of %s", dest);
	if (before == after || (source_fd >= 0 && !same_file(fd, source_fd)))
		return hull_error(err, EXDEV, "the mount did not land on %s (target replaced?)",
				  dest);
	return steal_fd(&fd);
}

/* --- options --- */

/* statvfs's ST_* flags as the MS_* flags mount(2) takes. */
static unsigned long ms_flags_of(const char *target)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
	    {ST_RDONLY, MS_RDONLY},	    {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},
	    {ST_NOEXEC, MS_NOEXEC},	    {ST_NOATIME, MS_NOATIME}, {ST_RELATIME, MS_RELATIME},
	    {ST_NODIRATIME, MS_NODIRATIME},
	};
	struct statvfs sv;
	unsigned long ms = 0;
	if (statvfs(target, &sv) < 0)
		return 0;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (sv.f_flag & map[i].st)
			ms |= map[i].ms;
	return ms;
}

int ns_remount_bind(const char *target, unsigned long flags, bool keep_locked, struct hull_err *err)
{
	flags &= BIND_REMOUNT_FLAGS;
	if (keep_locked) {
		unsigned long now = ms_flags_of(target);
		flags |= now & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
		/* An atime option asked for replaces the current one; otherwise keep it. */
		if (!(flags & ATIME_FLAGS))
			flags |= now & (ATIME_FLAGS | MS_NODIRATIME);
	}
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
		return hull_error(err, errno, "remount with the mount's options");
	return 0;
}

int ns_mount_setattr(int fd, uint64_t attr_set, uint64_t attr_clr, struct hull_err *err)
{
	struct mount_attr attr = {.attr_set = attr_set, .attr_clr = attr_clr};
	/* The kernel wants the whole atime field cleared when one atime value is set. */
	if (attr_set & MOUNT_ATTR__ATIME)
		attr.attr_clr |= MOUNT_ATTR__ATIME;
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) <
	    0) {
		if (errno == ENOSYS)
			return hull_error(
			    err, ENOSYS, "recursive mount options need mount_setattr (Linux 5.12)");
		return hull_error(err, errno, "mount_setattr");
	}
	return 0;
}

/* What every kind of mount gets last, on the fd of the new mount. */
static int set_propagation_and_attrs(const struct oci_mount *m, int fd, struct hull_err *err)
{
	char path[FD_PATH_SIZE];
	if (m->propagation != 0 && mount(NULL, fd_path(fd, path), NULL, m->propagation, NULL) < 0)
		return hull_error(err, errno, "set propagation");
	if (m->attr_set != 0 || m->attr_clr != 0)
		return ns_mount_setattr(fd, m->attr_set, m->attr_clr, err);
	return 0;
}

/* --- bind mounts --- */

/* Bind the host file source_fd is open on to dest, the target created as a directory or
 * an empty file like the source, with the per-mount flags applied. Returns the new
 * mount's fd. */
static int bind_to(const struct ns_rootfs *rfs, int source_fd, const char *dest, bool recursive,
		   unsigned long flags, struct hull_err *err)
{
	struct stat st;
	if (fstat(source_fd, &st) < 0)
		return hull_error(err, errno, "stat the source");
	_cleanup_close_ int target =
	    S_ISDIR(st.st_mode) ? safe_mkdir_p_in_root(rfs->root_fd, dest, 0755, err)
				: safe_create_in_root(rfs->root_fd, dest, S_IFREG | 0644, 0, err);
	if (target < 0)
		return -1;
	char source[FD_PATH_SIZE];
	_cleanup_close_ int fd =
	    ns_mount_at(rfs->root_fd, dest, target, fd_path(source_fd, source), NULL,
			MS_BIND | (recursive ? MS_REC : 0), NULL, source_fd, err);
	if (fd < 0)
		return -1;
	char path[FD_PATH_SIZE];
	if ((flags & BIND_REMOUNT_FLAGS) &&
	    ns_remount_bind(fd_path(fd, path), flags, rfs->in_userns, err) < 0)
		return -1;
	return steal_fd(&fd);
}

static int bind_path_to(const struct ns_rootfs *rfs, const char *source, const char *dest,
			bool recursive, unsigned long flags, struct hull_err *err)
{
	/* The source is the host's, named by the trusted config; an fd pins it. */
	_cleanup_close_ int src = open(source, O_PATH | O_CLOEXEC);
	if (src < 0)
		return hull_error(err, errno, "source %s", source);
	return bind_to(rfs, src, dest, recursive, flags, err);
}

static int mount_bind(const struct ns_rootfs *rfs, const struct oci_mount *m, struct hull_err *err)
{
	_cleanup_close_ int fd =
	    bind_path_to(rfs, m->source, m->destination, m->recursive, m->flags, err);
	if (fd < 0)
		return -1;
	return set_propagation_and_attrs(m, fd, err);
}

/* --- filesystems --- */

/* In a user namespace without its own network or IPC namespace the kernel refuses sysfs
 * and mqueue (EPERM); like runc, bind the host's instead. */
static const char *host_dir_for(const char *type)
{
	if (strcmp(type, "sysfs") == 0)
		return "/sys";
	if (strcmp(type, "mqueue") == 0)
		return "/dev/mqueue";
	return NULL;
}

static int mount_fs(const struct ns_rootfs *rfs, const struct oci_mount *m, struct hull_err *err)
{
	_cleanup_close_ int target = safe_mkdir_p_in_root(rfs->root_fd, m->destination, 0755, err);
	if (target < 0)
		return -1;
	unsigned long flags = m->flags & ~(PROPAGATION_FLAGS | MS_BIND | MS_REC);
	const char *source = m->source ? m->source : m->type;
	/* What the image has there, read before the tmpfs hides it. */
	_cleanup_close_ int below = -1;
	if (m->copy_up && (below = safe_open_in_root(rfs->root_fd, m->destination,
						     O_RDONLY | O_DIRECTORY, err)) < 0)
		return -1;
	_cleanup_close_ int fd = ns_mount_at(rfs->root_fd, m->destination, target, source, m->type,
					     flags, m->data, -1, err);
	const char *host_dir = host_dir_for(m->type);
	if (fd < 0 && err->code == EPERM && rfs->in_userns && host_dir != NULL) {
		hull_err_clear(err);
		fd = bind_path_to(rfs, host_dir, m->destination, true, flags, err);
	}
	if (fd < 0)
		return -1;
	if (below >= 0) {
		_cleanup_close_ int top =
		    safe_open_in_root(rfs->root_fd, m->destination, O_RDONLY | O_DIRECTORY, err);
		if (top < 0 || ns_copy_up(below, top, err) < 0)
			return -1;
	}
	return set_propagation_and_attrs(m, fd, err);
}

/* --- cgroups --- */

/* One hierarchy of the container's cgroups at dest: the filesystem itself when the
 * container has its own cgroup namespace (the kernel then shows its cgroup as the
 * root), else a bind of its directory on the host. */
static int mount_cgroup_entry(const struct ns_rootfs *rfs, const struct oci_mount *m,
			      const char *dest, const struct cgroup_view_entry *e,
			      struct hull_err *err)
{
	unsigned long flags = m->flags & ~(PROPAGATION_FLAGS | MS_BIND | MS_REC);
	if (!rfs->new_cgroupns)
		return bind_path_to(rfs, e->host_dir, dest, true, flags, err);
	_cleanup_close_ int target = safe_mkdir_p_in_root(rfs->root_fd, dest, 0755, err);
	if (target < 0)
		return -1;
	return ns_mount_at(rfs->root_fd, dest, target, "cgroup", e->fstype, flags, e->fs_options,
			   -1, err);
}

/* Where v1 co-mounts controllers ("cpu,cpuacct"), each name also gets a symlink, as on
 * the host. */
static int link_comounted(int dir_fd, const char *name, struct hull_err *err)
{
	if (strchr(name, ',') == NULL)
		return 0;
	_cleanup_free_ char *names = strdup(name);
	if (names == NULL)
		return hull_error(err, ENOMEM, "cgroup %s", name);
	char *save = NULL;
	for (char *one = strtok_r(names, ",", &save); one; one = strtok_r(NULL, ",", &save))
		if (strncmp(one, "name=", 5) != 0 && symlinkat(name, dir_fd, one) < 0 &&
		    errno != EEXIST)
			return hull_error(err, errno, "symlink cgroup %s to %s", one, name);
	return 0;
}

/* v1 or hybrid: a tmpfs holding one directory per hierarchy. */
static int mount_cgroup_tree(const struct ns_rootfs *rfs, const struct oci_mount *m, int target,
			     struct hull_err *err)
{
	_cleanup_close_ int top =
	    ns_mount_at(rfs->root_fd, m->destination, target, "tmpfs", "tmpfs",
			MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", -1, err);
	if (top < 0)
		return -1;
	for (size_t i = 0; i < rfs->cgroups->n; i++) {
		const struct cgroup_view_entry *e = &rfs->cgroups->entries[i];
		_cleanup_free_ char *dest = NULL;
		if (asprintf(&dest, "%s/%s", m->destination, e->name) < 0)
			return hull_error(err, ENOMEM, "cgroup %s", e->name);
		_cleanup_close_ int fd = mount_cgroup_entry(rfs, m, dest, e, err);
		if (fd < 0)
			return hull_error_wrap(err, "%s", e->name);
		if (link_comounted(top, e->name, err) < 0)
			return -1;
	}
	char path[FD_PATH_SIZE];
	/* Read-only last: the directories above were made in the tmpfs. */
	if ((m->flags & MS_RDONLY) && ns_remount_bind(fd_path(top, path), MS_RDONLY, true, err) < 0)
		return -1;
	return steal_fd(&top);
}

static int mount_cgroup(const struct ns_rootfs *rfs, const struct oci_mount *m,
			struct hull_err *err)
{
	const struct cgroup_view *view = rfs->cgroups;
	_cleanup_close_ int fd = -1;
	if (view != NULL && view->n == 1 && view->entries[0].name[0] == '\0') {
		/* A pure v2 host: the mount point itself is the hierarchy. */
		fd = mount_cgroup_entry(rfs, m, m->destination, &view->entries[0], err);
	} else {
		_cleanup_close_ int target =
		    safe_mkdir_p_in_root(rfs->root_fd, m->destination, 0755, err);
		if (target < 0)
			return -1;
		if (view != NULL && view->n > 0)
			fd = mount_cgroup_tree(rfs, m, target, err);
		else /* no cgroups to show: an empty read-only directory */
			fd = ns_mount_at(rfs->root_fd, m->destination, target, "tmpfs", "tmpfs",
					 MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755",
					 -1, err);
	}
	if (fd < 0)
		return -1;
	return set_propagation_and_attrs(m, fd, err);
}

static bool is_cgroup(const char *type)
{
	return type != NULL && (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0);
}

int ns_mount(const struct ns_rootfs *rfs, const struct oci_mount *m, struct hull_err *err)
{
	int r;
	if (m->bind)
		r = mount_bind(rfs, m, err);
	else if (m->type == NULL)
		r = hull_error(err, EINVAL, "no type given");
	else if (is_cgroup(m->type))
		r = mount_cgroup(rfs, m, err);
	else
		r = mount_fs(rfs, m, err);
	if (r >= 0)
		return 0;
	if (m->bind || m->type == NULL)
		return hull_error_wrap(err, "mount %s", m->destination);
	return hull_error_wrap(err, "mount %s (%s)", m->destination, m->type);
}
