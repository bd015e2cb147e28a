/* Overlay mode: the tree as the layer being unpacked over the layers below would show
 * it once mounted. A layer may write below a directory it does not list, or through a
 * symlink it or a lower layer holds ("bin/x" with bin -> usr/bin below): plain mode
 * resolves such paths in the rootfs, so here they are resolved in the merged view the
 * same way, and the directories the entry needs are made in this layer with what the
 * lower layers give them, as overlayfs's copy-up would. Without that, this layer's
 * new "bin" directory would hide the lower symlink in the mounted tree. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/safepath.h"
#include "layer.h"

#define OVL_OPAQUE "trusted.overlay.opaque"
/* The kernel's own limit on symlinks in one lookup (MAXSYMLINKS). */
#define MAX_LINKS 40

enum kind { ABSENT, DIR_, LINK, OTHER };

int lower_set_opaque(int dir_fd, const char *path, struct hull_err *err)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", dir_fd);
	if (setxattr(proc, OVL_OPAQUE, "y", 1, 0) < 0)
		return hull_error(err, errno, "mark %s opaque", path);
	return 0;
}

static int read_link(int fd, const char *path, char **target, struct hull_err *err)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(fd, "", buf, sizeof buf - 1);
	if (n < 0)
		return hull_error(err, errno, "readlink %s", path);
	*target = strndup(buf, (size_t)n);
	return *target ? LINK : hull_error(err, ENOMEM, "path");
}

/* What path (no symlink before its last component) is in the merged view. */
static int merged_kind(struct layer_ctx *c, const char *path, char **target, struct hull_err *err)
{
	struct stat st;
	_cleanup_close_ int fd = merged_find(c, path, &st, err);
	if (fd < 0) {
		if (err->code != ENOENT)
			return -1;
		hull_err_clear(err);
		return ABSENT;
	}
	if (!S_ISLNK(st.st_mode))
		return S_ISDIR(st.st_mode) ? DIR_ : OTHER;
	return read_link(fd, path, target, err);
}

/* out/comp, or comp at the root. */
static char *join(const char *out, const char *comp, size_t len)
{
	char *p;
	if (out[0] == '\0')
		return strndup(comp, len);
	return asprintf(&p, "%s/%.*s", out, (int)len, comp) < 0 ? NULL : p;
}

/* Take one component off the front of *rest into *out, following a symlink there. */
static int step(struct layer_ctx *c, char **out, char **rest, int *links, struct hull_err *err)
{
	char *r = *rest + strspn(*rest, "/");
	size_t n = strcspn(r, "/");
	if (n == 0 || (n == 1 && r[0] == '.')) {
		memmove(*rest, r + n, strlen(r + n) + 1);
		return 0;
	}
	if (n == 2 && r[0] == '.' && r[1] == '.') { /* never above the root */
		char *slash = strrchr(*out, '/');
		*(slash ? slash : *out) = '\0';
		memmove(*rest, r + n, strlen(r + n) + 1);
		return 0;
	}
	char *cand = join(*out, r, n), *target = NULL;
	if (cand == NULL)
		return hull_error(err, ENOMEM, "path");
	int k = merged_kind(c, cand, &target, err);
	if (k != LINK) {
		memmove(*rest, r + n, strlen(r + n) + 1);
		if (k < 0) {
			free(cand);
			return -1;
		}
		free(*out);
		*out = cand;
		return 0;
	}
	free(cand);
	if (++*links > MAX_LINKS) {
		free(target);
		return hull_error(err, ELOOP, "%s", *rest);
	}
	char *next;
	int w = asprintf(&next, "%s/%s", target, r + n);
	if (target[0] == '/')
		(*out)[0] = '\0';
	free(target);
	if (w < 0)
		return hull_error(err, ENOMEM, "path");
	free(*rest);
	*rest = next;
	return 0;
}

char *merged_resolve(struct layer_ctx *c, const char *path, struct hull_err *err)
{
	char *out = strdup(""), *rest = strdup(path);
	int links = 0, r = out && rest ? 0 : hull_error(err, ENOMEM, "path");
	while (r == 0 && rest[strspn(rest, "/")] != '\0')
		r = step(c, &out, &rest, &links, err);
	free(rest);
	if (r < 0) {
		free(out);
		return NULL;
	}
	if (out[0] == '\0') {
		free(out);
		return strdup(".");
	}
	return out;
}

/* Owner, mode and xattrs of the lower directory low onto the new one at fd; its times
 * are set once the layer is in place. */
static int copy_dir_meta(struct layer_ctx *c, int low, const struct stat *st, int fd,
			 const char *path, struct hull_err *err)
{
	char from[64], to[64];
	snprintf(from, sizeof from, "/proc/self/fd/%d", low);
	snprintf(to, sizeof to, "/proc/self/fd/%d", fd);
	if (fchownat(fd, "", st->st_uid, st->st_gid, AT_EMPTY_PATH) < 0 ||
	    chmod(to, st->st_mode & 07777) < 0)
		return hull_error(err, errno, "copy owner and mode of %s", path);
	if (lower_copy_xattrs(from, to, err) < 0)
		return hull_error_wrap(err, "%s", path);
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	return layer_defer_time(c, path, t, err);
}

/* Make one missing directory (its parent is there, path holds no symlink) like the
 * merged view below shows it, or plain when it shows none. A whiteout of this layer
 * there gives way to a new, opaque directory: what was below is gone. */
static int make_one(struct layer_ctx *c, int pfd, const char *path, const char *base,
		    struct hull_err *err)
{
	struct stat st, low_st;
	bool was_whiteout = fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
	/* Anything else than a whiteout or a directory in the way: as plain mode says. */
	if (was_whiteout && (!lower_is_whiteout(&st) || unlinkat(pfd, base, 0) < 0))
		return hull_error(err, ENOTDIR, "%s", path);
	_cleanup_close_ int low = was_whiteout ? -1 : merged_find(c, path, &low_st, err);
	if (low < 0 && !was_whiteout && err->code != ENOENT)
		return -1;
	hull_err_clear(err);
	if (mkdirat(pfd, base, 0755) < 0)
		return hull_error(err, errno, "mkdir %s", path);
	_cleanup_close_ int fd = openat(pfd, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "open %s", path);
	if (was_whiteout)
		return lower_set_opaque(fd, path, err);
	if (low >= 0 && S_ISDIR(low_st.st_mode))
		return copy_dir_meta(c, low, &low_st, fd, path, err);
	return 0;
}

static int make_dirs(struct layer_ctx *c, char *real, struct hull_err *err)
{
	_cleanup_close_ int cur = fcntl(c->root_fd, F_DUPFD_CLOEXEC, 0);
	for (char *s = real; cur >= 0 && *s != '\0';) {
		size_t n = strcspn(s, "/");
		char saved = s[n];
		s[n] = '\0';
		struct stat st;
		bool here = fstatat(cur, s, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		/* real names the whole path so far: the error and the times name it so */
		int r = here ? 0 : make_one(c, cur, real, s, err);
		int next =
		    r < 0 ? -1 : openat(cur, s, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		s[n] = saved;
		if (r < 0)
			return -1;
		if (next < 0)
			return hull_error(err, errno, "open %s", real);
		close(cur);
		cur = next;
		s += n + (saved != '\0');
	}
	return cur >= 0 ? steal_fd(&cur) : hull_error(err, errno, "open the layer");
}

int lower_mkdir(struct layer_ctx *c, const char *path, struct hull_err *err)
{
	int fd = safe_open_in_root(c->root_fd, path, O_PATH | O_DIRECTORY, err);
	/* ENOTDIR: maybe a whiteout of this layer in the way, which a directory replaces */
	if (fd >= 0 || (err->code != ENOENT && err->code != ENOTDIR))
		return fd;
	bool missing = err->code == ENOENT;
	hull_err_clear(err);
	if (missing && c->ovl->n_lower == 0)
		return safe_mkdir_p_in_root(c->root_fd, path, 0755, err);
	_cleanup_free_ char *real = merged_resolve(c, path, err);
	if (real == NULL)
		return -1;
	if (strcmp(real, ".") == 0)
		return fcntl(c->root_fd, F_DUPFD_CLOEXEC, 0);
	return make_dirs(c, real, err);
}
