/* Lookups scoped to a root directory: openat2(RESOLVE_IN_ROOT), or a user-space walk
 * that does the same when the kernel predates openat2 (Linux < 5.6). Creation sits on
 * top of either and never creates anything through a path the kernel resolves by
 * itself: each missing component is made with mkdirat/mknodat in its parent's fd. */
#include "safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* The kernel's own limit on symlinks in one lookup (MAXSYMLINKS). */
#define MAX_SYMLINKS 40
/* openat2 RESOLVE_IN_ROOT answers EAGAIN when a rename or mount raced with the lookup. */
#define MAX_RETRIES 16

static bool walk_forced, openat2_missing;

void safepath_force_fallback(bool on)
{
	walk_forced = on;
	openat2_missing = false;
}

/* The component after *pos: [*start, *end). False at the end of the path. */
static bool next_component(const char *path, size_t *pos, size_t *start, size_t *end)
{
	size_t i = *pos;
	while (path[i] == '/')
		i++;
	if (path[i] == '\0')
		return false;
	*start = i;
	while (path[i] != '\0' && path[i] != '/')
		i++;
	*end = *pos = i;
	return true;
}

static bool is_last(const char *path, size_t end)
{
	while (path[end] == '/')
		end++;
	return path[end] == '\0';
}

static int kernel_open(int root_fd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (unsigned)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
	return fd < 0 ? -errno : (int)fd;
}

/* --- the user-space walk --- */

struct walk {
	int root_fd;
	int *dirs; /* directories entered below the root, innermost last; owned */
	size_t n, cap;
	char *rest; /* the path still to resolve starts at rest + pos */
	size_t pos;
	int links;
};

static void walk_free(struct walk *w)
{
	while (w->n > 0)
		close(w->dirs[--w->n]);
	free(w->dirs);
	free(w->rest);
}

static int walk_top(const struct walk *w)
{
	return w->n > 0 ? w->dirs[w->n - 1] : w->root_fd;
}

/* ".." at the root stays at the root, as under chroot. Every directory on the stack was
 * reached through real entries (symlinks are expanded as text), so the lexical parent
 * is the real one. */
static void walk_pop(struct walk *w)
{
	if (w->n > 0)
		close(w->dirs[--w->n]);
}

static int walk_push(struct walk *w, int fd)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		int *dirs = realloc(w->dirs, cap * sizeof *dirs);
		if (dirs == NULL) {
			close(fd);
			return -ENOMEM;
		}
		w->dirs = dirs;
		w->cap = cap;
	}
	w->dirs[w->n++] = fd;
	return 0;
}

/* Replace the symlink just met by its target, read as text: an absolute target restarts
 * from the root, never from the host's "/". */
static int walk_follow(struct walk *w, int link_fd)
{
	char target[PATH_MAX];
	ssize_t len = readlinkat(link_fd, "", target, sizeof target - 1);
	if (len < 0)
		return -errno;
	if ((size_t)len == sizeof target - 1)
		return -ENAMETOOLONG;
	target[len] = '\0';
	if (++w->links > MAX_SYMLINKS)
		return -ELOOP;
	if (target[0] == '/')
		while (w->n > 0)
			walk_pop(w);
	char *rest = NULL;
	if (asprintf(&rest, "%s%s", target, w->rest + w->pos) < 0)
		return -ENOMEM;
	free(w->rest);
	w->rest = rest;
	w->pos = 0;
	return 0;
}

/* The last component, opened O_PATH|O_NOFOLLOW as fd (taken), as the caller asked. */
static int walk_final(struct walk *w, int fd, const char *name, const struct stat *st, int flags)
{
	_cleanup_close_ int path_fd = fd;
	if ((flags & O_DIRECTORY) && !S_ISDIR(st->st_mode))
		return -ENOTDIR;
	if (flags & O_PATH)
		return steal_fd(&path_fd);
	if (S_ISLNK(st->st_mode))
		return -ELOOP; /* O_NOFOLLOW on a symlink, as open(2) answers */
	int real = openat(walk_top(w), name, flags | O_NOFOLLOW | O_CLOEXEC);
	if (real < 0)
		return -errno;
	/* name was looked up twice: both lookups must have found the same file. */
	struct stat again;
	if (fstat(real, &again) < 0 || again.st_dev != st->st_dev || again.st_ino != st->st_ino) {
		close(real);
		return -EAGAIN;
	}
	return real;
}

/* One component: 0 to go on, 1 with *out set when it was the last one, or -errno. */
static int walk_step(struct walk *w, const char *name, bool last, int flags, int *out)
{
	int fd = openat(walk_top(w), name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (S_ISLNK(st.st_mode) && (!last || !(flags & O_NOFOLLOW))) {
		int r = walk_follow(w, fd);
		close(fd);
		return r;
	}
	if (last) {
		*out = walk_final(w, fd, name, &st, flags);
		return *out < 0 ? *out : 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		close(fd);
		return -ENOTDIR;
	}
	return walk_push(w, fd);
}

static int walk_open(int root_fd, const char *path, int flags)
{
	__attribute__((cleanup(walk_free))) struct walk w = {.root_fd = root_fd};
	w.rest = strdup(path);
	if (w.rest == NULL)
		return -ENOMEM;
	char name[NAME_MAX + 1];
	size_t start, end;
	while (next_component(w.rest, &w.pos, &start, &end)) {
		if (end - start > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(name, w.rest + start, end - start);
		name[end - start] = '\0';
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			walk_pop(&w);
			continue;
		}
		bool last = is_last(w.rest, end);
		int f = flags;
		if (last && w.rest[end] == '/') /* "name/" must be a directory, followed */
			f = (f | O_DIRECTORY) & ~O_NOFOLLOW;
		int out = -1;
		int r = walk_step(&w, name, last, f, &out);
		if (r != 0)
			return r < 0 ? r : out;
	}
	/* The path ended on a directory already entered: "/", ".", "..", "a/..". */
	int fd = openat(walk_top(&w), ".", flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* fd or -errno; the seam between the kernel's resolution and the walk. */
static int resolve(int root_fd, const char *path, int flags)
{
	if (*path == '\0')
		path = ".";
	int fd = -EAGAIN;
	for (int i = 0; i < MAX_RETRIES && fd == -EAGAIN; i++) {
		if (walk_forced || openat2_missing) {
			fd = walk_open(root_fd, path, flags);
			continue;
		}
		fd = kernel_open(root_fd, path, flags);
		if (fd == -ENOSYS) { /* only a kernel without openat2 picks the walk */
			openat2_missing = true;
			fd = -EAGAIN;
		}
	}
	return fd;
}

int safe_open_in_root(int root_fd, const char *path, int flags, struct hull_err *err)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return hull_error(err, EINVAL, "open %s: create it with safe_create_in_root", path);
	int fd = resolve(root_fd, path, flags);
	if (fd < 0)
		return hull_error(err, -fd, "open %s", path);
	return fd;
}

/* --- creation --- */

/* The pass over the path must run again: a symlink was spliced in, or a race. */
#define AGAIN 1

static int make_node(int dir_fd, const char *name, mode_t mode, dev_t dev)
{
	int r;
	if (S_ISDIR(mode)) {
		r = mkdirat(dir_fd, name, mode & 07777);
	} else if (S_ISREG(mode)) {
		/* O_EXCL: never opens, let alone truncates, what a symlink points to. */
		r = openat(dir_fd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
			   mode & 07777);
		if (r >= 0)
			r = close(r);
	} else {
		r = mknodat(dir_fd, name, mode, dev);
	}
	return r < 0 ? -errno : 0;
}

/* name exists in dir_fd but the lookup through it found nothing: a dangling symlink.
 * Splice its target into the path (in place of [start, end)) so the next pass creates
 * the target, inside the root like every lookup. */
static int splice_dangling(int dir_fd, const char *name, char **path, size_t start, size_t end)
{
	char target[PATH_MAX];
	ssize_t len = readlinkat(dir_fd, name, target, sizeof target - 1);
	if (len < 0)
		return errno == EINVAL ? AGAIN : -errno; /* not a symlink: it appeared meanwhile */
	if ((size_t)len == sizeof target - 1)
		return -ENAMETOOLONG;
	target[len] = '\0';
	char *spliced = NULL;
	int n = target[0] == '/'
		    ? asprintf(&spliced, "%s%s", target, *path + end)
		    : asprintf(&spliced, "%.*s%s%s", (int)start, *path, target, *path + end);
	if (n < 0)
		return -ENOMEM;
	free(*path);
	*path = spliced;
	return AGAIN;
}

/* One pass, prefix by prefix, each resolved from the root: an fd of the whole path,
 * AGAIN, or -errno. */
static int create_pass(int root_fd, char **path, mode_t mode, dev_t dev)
{
	_cleanup_close_ int parent = resolve(root_fd, "/", O_PATH | O_DIRECTORY);
	size_t pos = 0, start, end;
	while (parent >= 0 && next_component(*path, &pos, &start, &end)) {
		bool last = is_last(*path, end);
		int flags = last ? O_PATH : O_PATH | O_DIRECTORY;
		_cleanup_free_ char *prefix = strndup(*path, end);
		_cleanup_free_ char *name = strndup(*path + start, end - start);
		if (prefix == NULL || name == NULL)
			return -ENOMEM;
		int fd = resolve(root_fd, prefix, flags);
		if (fd == -ENOENT && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
			int r = make_node(parent, name, last ? mode : S_IFDIR | 0755, dev);
			if (r == -EEXIST)
				return splice_dangling(parent, name, path, start, end);
			if (r < 0)
				return r;
			fd = resolve(root_fd, prefix, flags);
		}
		if (fd < 0)
			return fd;
		close(parent);
		parent = fd;
	}
	return parent < 0 ? parent : steal_fd(&parent);
}

int safe_create_in_root(int root_fd, const char *path, mode_t mode, dev_t dev, struct hull_err *err)
{
	_cleanup_free_ char *cur = strdup(path);
	if (cur == NULL)
		return hull_error(err, ENOMEM, "create %s", path);
	int r = AGAIN;
	for (int pass = 0; pass <= MAX_SYMLINKS && r == AGAIN; pass++)
		r = create_pass(root_fd, &cur, mode, dev);
	if (r == AGAIN)
		r = -ELOOP;
	if (r < 0)
		return hull_error(err, -r, "create %s", path);
	return r;
}

int safe_mkdir_p_in_root(int root_fd, const char *path, mode_t mode, struct hull_err *err)
{
	/* Mostly the directory is there already (every entry of an image layer asks for its
	 * parent): one lookup then, where the creating pass takes one per component. */
	int found = resolve(root_fd, path, O_PATH | O_DIRECTORY);
	if (found >= 0)
		return found;
	_cleanup_close_ int fd = safe_create_in_root(root_fd, path, S_IFDIR | mode, 0, err);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error(err, errno, "create %s", path);
	if (!S_ISDIR(st.st_mode))
		return hull_error(err, ENOTDIR, "create %s", path);
	return steal_fd(&fd);
}
