/* Overlay mode's view of the layers below the one being unpacked, looked up the way
 * overlayfs merges them (Documentation/filesystems/overlayfs.rst): the nearest layer
 * first; a whiteout (a 0/0 character device) or a non-directory on the way hides
 * what lies below it, and an opaque directory on the way ends the search below it.
 *
 * Reading the lower layers makes the layer's unpacked form depend on them, which
 * ovl->used_lower reports: the store then keys the layer by its chain, not its digest.
 * Only directories a layer writes into without listing them, paths through a lower
 * symlink and hard links to files of lower layers need this (merged.c); layers written
 * by docker, buildah or umoci have none of them. */
#include <errno.h>
#include <fcntl.h>
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

#define OVL_XATTR_PREFIX "trusted.overlay."
#define OVL_OPAQUE	 "trusted.overlay.opaque"
#define XATTR_LIST_MAX	 65536
#define XATTR_VALUE_MAX	 65536

bool lower_is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dir_fd)
{
	char v[2];
	return fgetxattr(dir_fd, OVL_OPAQUE, v, sizeof v) == 1 && v[0] == 'y';
}

/* path in one layer: 1 and *out when found; 0 when not, with *stop set when that
 * layer hides the path from the layers below it. */
static int find_in(int layer_fd, const char *path, struct stat *st, int *out, bool *stop)
{
	_cleanup_close_ int cur = fcntl(layer_fd, F_DUPFD_CLOEXEC, 0);
	char comp[256];
	for (const char *p = path; cur >= 0;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || n >= sizeof comp)
			return 0;
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (fstatat(cur, comp, st, AT_SYMLINK_NOFOLLOW) < 0)
			return 0;
		if (lower_is_whiteout(st)) {
			*stop = true;
			return 0;
		}
		if (p[n] == '\0') {
			*out = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			return *out >= 0;
		}
		if (!S_ISDIR(st->st_mode)) {
			*stop = true;
			return 0;
		}
		int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next >= 0 && is_opaque(next))
			*stop = true;
		close(cur);
		cur = next;
		p += n + 1;
	}
	return 0;
}

int lower_find(struct layer_overlay *o, const char *path, struct stat *st, struct hull_err *err)
{
	o->used_lower = true;
	bool stop = false;
	for (size_t i = 0; i < o->n_lower && !stop; i++) {
		int fd = -1;
		if (find_in(o->lower[i], path, st, &fd, &stop) == 1)
			return fd;
	}
	return hull_error(err, ENOENT, "%s: not in the lower layers", path);
}

int merged_find(struct layer_ctx *c, const char *path, struct stat *st, struct hull_err *err)
{
	bool stop = false;
	int fd = -1;
	if (find_in(c->root_fd, path, st, &fd, &stop) == 1)
		return fd;
	if (stop || c->ovl->n_lower == 0)
		return hull_error(err, ENOENT, "%s: not in the layers", path);
	return lower_find(c->ovl, path, st, err);
}

int lower_copy_xattrs(const char *from, const char *to, struct hull_err *err)
{
	_cleanup_free_ char *names = malloc(XATTR_LIST_MAX + XATTR_VALUE_MAX);
	if (names == NULL)
		return hull_error(err, ENOMEM, "xattrs");
	char *value = names + XATTR_LIST_MAX;
	ssize_t len = listxattr(from, names, XATTR_LIST_MAX);
	if (len < 0)
		return errno == ENOTSUP ? 0 : hull_error(err, errno, "list xattrs");
	for (const char *n = names; n < names + len; n += strlen(n) + 1) {
		if (strncmp(n, OVL_XATTR_PREFIX, strlen(OVL_XATTR_PREFIX)) == 0)
			continue;
		ssize_t vlen = getxattr(from, n, value, XATTR_VALUE_MAX);
		if (vlen < 0 || setxattr(to, n, value, (size_t)vlen, 0) < 0)
			return hull_error(err, errno, "copy xattr %s", n);
	}
	return 0;
}

static int copy_data(int from, int to, const char *path, struct hull_err *err)
{
	for (;;) {
		ssize_t n = copy_file_range(from, NULL, to, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return hull_error(err, errno, "copy up %s", path);
		break;
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(from, buf, sizeof buf)) > 0)
		if (write(to, buf, (size_t)n) != n)
			return hull_error(err, errno ? errno : EIO, "copy up %s", path);
	return n < 0 ? hull_error(err, errno, "copy up %s", path) : 0;
}

int lower_copy_up(struct layer_ctx *c, const char *path, struct hull_err *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	_cleanup_free_ char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	_cleanup_free_ char *real_dir = dir ? merged_resolve(c, dir, err) : NULL;
	_cleanup_free_ char *real = NULL;
	if (real_dir == NULL)
		return dir ? -1 : hull_error(err, ENOMEM, "path");
	if (asprintf(&real, "%s/%s", real_dir, base) < 0)
		return hull_error(err, ENOMEM, "path");
	struct stat st;
	_cleanup_close_ int low = lower_find(c->ovl, real, &st, err);
	if (low < 0)
		return -1;
	if (!S_ISREG(st.st_mode))
		return hull_error(err, EPERM, "%s in a lower layer is not a regular file", path);
	_cleanup_close_ int pfd = lower_mkdir(c, real_dir, err);
	if (pfd < 0)
		return -1;
	char from[64], to[64];
	/* from is a magic link to the file found: followed, not a path of the image. */
	snprintf(from, sizeof from, "/proc/self/fd/%d", low);
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out =
	    openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (in < 0 || out < 0)
		return hull_error(err, errno, "copy up %s", path);
	snprintf(to, sizeof to, "/proc/self/fd/%d", out);
	/* chown before chmod and xattrs: it clears setuid and security.capability. */
	if (copy_data(in, out, path, err) < 0)
		return -1;
	if (fchown(out, st.st_uid, st.st_gid) < 0 || fchmod(out, st.st_mode & 07777) < 0)
		return hull_error(err, errno, "copy up %s", path);
	if (lower_copy_xattrs(from, to, err) < 0)
		return hull_error_wrap(err, "copy up %s", path);
	struct timespec t[2] = {st.st_atim, st.st_mtim};
	if (futimens(out, t) < 0)
		return hull_error(err, errno, "copy up %s", path);
	int fd = openat(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd >= 0 ? fd : hull_error(err, errno, "copy up %s", path);
}
