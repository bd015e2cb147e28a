/* One tar entry into the rootfs. Every parent directory is reached with safepath
 * (RESOLVE_IN_ROOT: a symlink planted by an earlier entry or layer resolves inside the
 * rootfs, never out of it), and the last component is made with *at() calls in that
 * parent's fd with O_EXCL/O_NOFOLLOW/AT_SYMLINK_NOFOLLOW, after whatever was there is
 * removed, so nothing is ever written through a symlink. Whiteouts follow image-spec
 * layer.md "Whiteouts": they hide what lower layers hold, never this layer's entries.
 *
 * In overlay mode (c->ovl, the image store) the layer goes alone into a directory of
 * its own and the lower layers are not touched: a whiteout becomes overlayfs's 0/0
 * character device, an opaque marker the directory's trusted.overlay.opaque=y
 * (Documentation/filesystems/overlayfs.rst, "whiteouts and opaque directories"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/safepath.h"
#include "layer.h"

/* overlayfs's own attributes: written by hull only, never taken from a layer, where
 * one such as trusted.overlay.redirect would steer lookups of the merged tree. */
#define OVL_XATTR_PREFIX "trusted.overlay."

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool seen(struct layer_ctx *c, const char *path)
{
	return tfind(path, &c->seen, cmp_str) != NULL;
}

static int mark_seen(struct layer_ctx *c, const char *path, struct hull_err *err)
{
	char *copy = strdup(path);
	void *node = copy ? tsearch(copy, &c->seen, cmp_str) : NULL;
	if (node == NULL) {
		free(copy);
		return hull_error(err, ENOMEM, "layer");
	}
	if (*(char **)node != copy)
		free(copy);
	return 0;
}

/* "a/b/c" -> parent "a/b" (or "."), *base "c". */
static char *split(const char *path, const char **base, struct hull_err *err)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	char *parent = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (parent == NULL)
		hull_error(err, ENOMEM, "path");
	return parent;
}

static char *join(const char *dir, const char *name)
{
	char *p;
	if (strcmp(dir, ".") == 0)
		return strdup(name);
	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* The directory an entry goes in, made when missing. */
static int parent_dir(struct layer_ctx *c, const char *dir, struct hull_err *err)
{
	if (c->ovl != NULL)
		return lower_mkdir(c, dir, err);
	return safe_mkdir_p_in_root(c->root_fd, dir, 0755, err);
}

static int ovl_opaque(struct layer_ctx *c, const char *dir, struct hull_err *err)
{
	_cleanup_close_ int fd = lower_mkdir(c, dir, err);
	return fd < 0 ? -1 : lower_set_opaque(fd, dir, err);
}

/* A whiteout over what this layer made itself (a directory it needed for a deeper
 * entry): that stays, and only what lies below is hidden. */
static int ovl_whiteout(struct layer_ctx *c, const char *dir, const char *hidden,
			struct hull_err *err)
{
	_cleanup_close_ int pfd = lower_mkdir(c, dir, err);
	if (pfd < 0)
		return -1;
	struct stat st;
	if (fstatat(pfd, hidden, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (lower_is_whiteout(&st))
			return 0;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int fd =
			    openat(pfd, hidden, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return hull_error(err, errno, "whiteout %s", hidden);
			return lower_set_opaque(fd, hidden, err);
		}
		if (image_remove_tree(pfd, hidden, err) < 0)
			return -1;
	}
	if (mknodat(pfd, hidden, S_IFCHR | 0600, makedev(0, 0)) < 0)
		return hull_error(err, errno, "whiteout %s", hidden);
	return 0;
}

static int opaque(struct layer_ctx *c, const char *dir, struct hull_err *err)
{
	_cleanup_close_ int pfd = safe_mkdir_p_in_root(c->root_fd, dir, 0755, err);
	if (pfd < 0)
		return -1;
	int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return hull_error(err, errno, "opaque directory %s", dir);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *p = join(dir, de->d_name);
		if (p == NULL)
			return hull_error(err, ENOMEM, "path");
		if (!seen(c, p) && image_remove_tree(dirfd(d), de->d_name, err) < 0)
			return -1;
	}
	return 0;
}

static int whiteout(struct layer_ctx *c, const char *path, const char *hidden, struct hull_err *err)
{
	const char *base;
	_cleanup_free_ char *dir = split(path, &base, err);
	_cleanup_free_ char *victim = dir ? join(dir, hidden) : NULL;
	if (victim == NULL)
		return hull_error(err, ENOMEM, "path");
	if (hidden[0] == '\0' || strcmp(hidden, ".") == 0 || strcmp(hidden, "..") == 0)
		return hull_error(err, 0, "bad whiteout %s", path);
	if (seen(c, victim))
		return 0;
	if (c->ovl != NULL)
		return ovl_whiteout(c, dir, hidden, err);
	_cleanup_close_ int pfd = safe_open_in_root(c->root_fd, dir, O_PATH | O_DIRECTORY, err);
	if (pfd < 0 && err->code == ENOENT)
		return hull_err_clear(err), 0;
	if (pfd < 0)
		return -1;
	return image_remove_tree(pfd, hidden, err);
}

static int map_owner(struct layer_ctx *c, struct archive_entry *e, uid_t *uid, gid_t *gid,
		     struct hull_err *err)
{
	unsigned u = (unsigned)archive_entry_uid(e), g = (unsigned)archive_entry_gid(e);
	if (c->ids == NULL) {
		*uid = u;
		*gid = g;
		return 0;
	}
	if (image_map_id(c->ids->uid, c->ids->n_uid, u, &u, "uid", err) < 0 ||
	    image_map_id(c->ids->gid, c->ids->n_gid, g, &g, "gid", err) < 0)
		return -1;
	*uid = u;
	*gid = g;
	return 0;
}

/* xattrs go on after chown: chown clears security.capability (and setuid). */
static int set_xattrs(struct layer_ctx *c, int pfd, const char *base, struct archive_entry *e,
		      struct hull_err *err)
{
	const char *name;
	const void *value;
	size_t size;
	char proc[64];
	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d/", pfd);
	_cleanup_free_ char *path = join(proc, base);
	if (path == NULL)
		return hull_error(err, ENOMEM, "path");
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (c->ovl != NULL &&
		    strncmp(name, OVL_XATTR_PREFIX, strlen(OVL_XATTR_PREFIX)) == 0)
			continue;
		if (lsetxattr(path, name, value, size, 0) < 0)
			return hull_error(err, errno, "xattr %s on %s", name, base);
	}
	return 0;
}

static int set_meta(struct layer_ctx *c, int pfd, const char *base, struct archive_entry *e,
		    struct hull_err *err)
{
	uid_t uid;
	gid_t gid;
	mode_t type = archive_entry_filetype(e);
	if (map_owner(c, e, &uid, &gid, err) < 0)
		return -1;
	if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_error(err, errno, "chown %s", base);
	if (type != AE_IFLNK && fchmodat(pfd, base, archive_entry_perm(e), 0) < 0)
		return hull_error(err, errno, "chmod %s", base);
	if (type != AE_IFLNK && set_xattrs(c, pfd, base, e, err) < 0)
		return -1;
	struct timespec t[2] = {{archive_entry_atime(e), archive_entry_atime_nsec(e)},
				{archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
	if (!archive_entry_atime_is_set(e))
		t[0] = t[1];
	if (type == AE_IFDIR)
		return 0;
	if (utimensat(pfd, base, t, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_error(err, errno, "set times of %s", base);
	return 0;
}

int layer_defer_time(struct layer_ctx *c, const char *path, const struct timespec times[2],
		     struct hull_err *err)
{
	if (c->n_dirs == c->cap_dirs) {
		size_t cap = c->cap_dirs ? 2 * c->cap_dirs : 64;
		struct dir_time *d = realloc(c->dirs, cap * sizeof *d);
		if (d == NULL)
			return hull_error(err, ENOMEM, "layer");
		c->dirs = d;
		c->cap_dirs = cap;
	}
	struct dir_time *d = &c->dirs[c->n_dirs];
	d->path = strdup(path);
	if (d->path == NULL)
		return hull_error(err, ENOMEM, "layer");
	d->times[0] = times[0];
	d->times[1] = times[1];
	c->n_dirs++;
	return 0;
}

static int defer_dir_time(struct layer_ctx *c, const char *path, struct archive_entry *e,
			  struct hull_err *err)
{
	struct timespec t[2];
	t[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
	t[0] = archive_entry_atime_is_set(e)
		   ? (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)}
		   : t[1];
	return layer_defer_time(c, path, t, err);
}

static int write_data(struct archive *a, int fd, struct archive_entry *e, const char *path,
		      struct hull_err *err)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		for (size_t done = 0; done < len;) {
			ssize_t w = pwrite(fd, (const char *)buf + done, len - done, off + done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return hull_error(err, errno, "write %s", path);
			done += (size_t)w;
		}
	}
	if (r != ARCHIVE_EOF)
		return hull_error(err, 0, "%s: %s", path, archive_error_string(a));
	/* A sparse file may end in a hole. */
	if (ftruncate(fd, archive_entry_size(e)) < 0)
		return hull_error(err, errno, "truncate %s", path);
	return 0;
}

static int make_hardlink(struct layer_ctx *c, int pfd, const char *base, const char *target,
			 struct hull_err *err)
{
	_cleanup_free_ char *clean = image_clean_path(target, err);
	if (clean == NULL)
		return -1;
	/* Resolved in the root and without following a last symlink: a link names what
	 * the layer itself holds, never a host file such as /etc/shadow. */
	_cleanup_close_ int t = safe_open_in_root(c->root_fd, clean, O_PATH | O_NOFOLLOW, err);
	/* Overlay mode: a link to a file of a lower layer takes that file up into this
	 * one first, as a link made in a mounted overlay would. */
	if (t < 0 && err->code == ENOENT && c->ovl != NULL && c->ovl->n_lower > 0) {
		hull_err_clear(err);
		t = lower_copy_up(c, clean, err);
	}
	if (t < 0)
		return hull_error_wrap(err, "hard link %s", base);
	struct stat st;
	if (fstat(t, &st) < 0 || S_ISDIR(st.st_mode))
		return hull_error(err, EPERM, "hard link %s to %s", base, target);
	if (linkat(t, "", pfd, base, AT_EMPTY_PATH) < 0)
		return hull_error(err, errno, "hard link %s to %s", base, target);
	return 0;
}

static int make_node(struct layer_ctx *c, struct archive *a, struct archive_entry *e, int pfd,
		     const char *base, const char *path, struct hull_err *err)
{
	mode_t type = archive_entry_filetype(e);
	if (archive_entry_hardlink(e) != NULL)
		return make_hardlink(c, pfd, base, archive_entry_hardlink(e), err);
	if (type == AE_IFDIR) {
		if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST)
			return hull_error(err, errno, "mkdir %s", path);
	} else if (type == AE_IFLNK) {
		if (symlinkat(archive_entry_symlink(e), pfd, base) < 0)
			return hull_error(err, errno, "symlink %s", path);
	} else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO) {
		if (mknodat(pfd, base, type | 0600, archive_entry_rdev(e)) < 0)
			return hull_error(err, errno, "mknod %s", path);
	} else if (type == AE_IFREG) {
		_cleanup_close_ int fd =
		    openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return hull_error(err, errno, "create %s", path);
		if (write_data(a, fd, e, path, err) < 0)
			return -1;
	} else {
		return 1; /* sockets and the like: nothing to make */
	}
	if (set_meta(c, pfd, base, e, err) < 0)
		return hull_error_wrap(err, "%s", path);
	return type == AE_IFDIR ? defer_dir_time(c, path, e, err) : 0;
}

static int apply_root(struct layer_ctx *c, struct archive_entry *e, struct hull_err *err)
{
	if (archive_entry_filetype(e) != AE_IFDIR)
		return hull_error(err, 0, "layer entry for the root is not a directory");
	uid_t uid;
	gid_t gid;
	if (map_owner(c, e, &uid, &gid, err) < 0)
		return -1;
	if (fchown(c->root_fd, uid, gid) < 0 || fchmod(c->root_fd, archive_entry_perm(e)) < 0)
		return hull_error(err, errno, "rootfs owner and mode");
	return defer_dir_time(c, ".", e, err);
}

int layer_apply_entry(struct layer_ctx *c, struct archive *a, struct archive_entry *e,
		      struct hull_err *err)
{
	_cleanup_free_ char *path = image_clean_path(archive_entry_pathname(e), err);
	const char *hidden = NULL, *base;
	if (path == NULL)
		return -1;
	enum image_whiteout wh = image_whiteout_kind(path, &hidden);
	if (wh == IMAGE_WH_FILE)
		return whiteout(c, path, hidden, err);
	_cleanup_free_ char *dir = split(path, &base, err);
	if (dir == NULL)
		return -1;
	if (wh == IMAGE_WH_OPAQUE)
		return c->ovl ? ovl_opaque(c, dir, err) : opaque(c, dir, err);
	if (mark_seen(c, path, err) < 0)
		return -1;
	if (strcmp(path, ".") == 0)
		return apply_root(c, e, err);
	_cleanup_close_ int pfd = parent_dir(c, dir, err);
	if (pfd < 0)
		return hull_error_wrap(err, "%s", path);
	struct stat st;
	bool is_dir = archive_entry_filetype(e) == AE_IFDIR && archive_entry_hardlink(e) == NULL;
	bool exists = fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
	bool keep_dir = is_dir && exists && S_ISDIR(st.st_mode);
	/* ".wh.NAME" then a directory NAME: the lower NAME is gone, this one is new. */
	bool was_whiteout = c->ovl != NULL && exists && lower_is_whiteout(&st);
	if (!keep_dir && image_remove_tree(pfd, base, err) < 0)
		return -1;
	if (make_node(c, a, e, pfd, base, path, err) < 0)
		return -1;
	if (!(was_whiteout && is_dir))
		return 0;
	_cleanup_close_ int fd = openat(pfd, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "open %s", path);
	return lower_set_opaque(fd, path, err);
}

int layer_finish(struct layer_ctx *c, struct hull_err *err)
{
	/* Deepest last-made first: a directory's time is set after everything in it. */
	for (size_t i = c->n_dirs; i-- > 0;) {
		_cleanup_close_ int fd = safe_open_in_root(
		    c->root_fd, c->dirs[i].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, err);
		if (fd < 0 && err->code == ENOENT) {
			hull_err_clear(err); /* whited out later in the same layer */
			continue;
		}
		if (fd < 0)
			return -1;
		if (futimens(fd, c->dirs[i].times) < 0)
			return hull_error(err, errno, "set times of %s", c->dirs[i].path);
	}
	return 0;
}

void layer_ctx_free(struct layer_ctx *c)
{
	tdestroy(c->seen, free);
	c->seen = NULL;
	for (size_t i = 0; i < c->n_dirs; i++)
		free(c->dirs[i].path);
	free(c->dirs);
	c->dirs = NULL;
	c->n_dirs = c->cap_dirs = 0;
}
