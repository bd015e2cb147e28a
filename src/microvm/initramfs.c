/* The guest's initramfs from a bundle's rootfs (contents and rules: initramfs.h).
 *
 * The walk never follows a symlink: directories are opened with openat(O_NOFOLLOW |
 * O_DIRECTORY) from their parent's fd, files with openat(O_NOFOLLOW) and checked with fstat
 * to be the regular file lstat saw, symlinks are read with readlinkat. Entries are sorted by
 * name so that the same tree gives the same archive. */
#include "initramfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "cpio.h"

#define MAX_DEPTH 256 /* each level holds a directory fd */

struct walk {
	struct cpio_writer *w;
	char path[PATH_MAX]; /* the archive name being written */
	int depth;
	bool has_dev, dev_is_dir, has_console, has_init;
};

uint64_t vm_initramfs_limit(uint64_t mem_bytes)
{
	return mem_bytes / 2;
}

static struct cpio_meta meta_of(const struct stat *st)
{
	struct cpio_meta m = {
	    .mode = st->st_mode,
	    .uid = st->st_uid,
	    .gid = st->st_gid,
	    .mtime = st->st_mtim.tv_sec,
	    .rmajor = major(st->st_rdev),
	    .rminor = minor(st->st_rdev),
	};
	if (S_ISREG(st->st_mode) && st->st_nlink >= 2) {
		m.nlink = st->st_nlink > UINT32_MAX ? UINT32_MAX : (uint32_t)st->st_nlink;
		m.link_dev = st->st_dev;
		m.link_ino = st->st_ino;
	}
	return m;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The sorted entry names of the directory dirfd (without "." and ".."). */
static int list_dir(int dirfd, const char *path, char ***out, size_t *n_out, struct hull_err *err)
{
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return hull_error(err, e, "initramfs: opendir /%s", path);
	}
	rewinddir(d);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char **nn = realloc(names, (n + 1) * sizeof *nn);
		if (nn == NULL || (nn[n] = strdup(de->d_name)) == NULL) {
			free_names(nn ? nn : names, n);
			closedir(d);
			return hull_error(err, ENOMEM, "initramfs: listing /%s", path);
		}
		names = nn;
		n++;
	}
	int e = errno;
	closedir(d);
	if (e != 0) {
		free_names(names, n);
		return hull_error(err, e, "initramfs: readdir /%s", path);
	}
	if (n > 0)
		qsort(names, n, sizeof *names, cmp_names);
	*out = names;
	*n_out = n;
	return 0;
}

static int walk_dir(struct walk *wk, int dirfd, struct hull_err *err);

static int add_regular(struct walk *wk, int dirfd, const char *name, const struct stat *st,
		       struct hull_err *err)
{
	struct cpio_meta m = meta_of(st);
	if (cpio_over_limit(wk->w) ||
	    (m.nlink >= 2 && cpio_link_seen(wk->w, m.link_dev, m.link_ino)))
		return cpio_add_file_fd(wk->w, wk->path, &m, -1, (uint64_t)st->st_size, err);
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "initramfs: open /%s", wk->path);
	struct stat fst;
	if (fstat(fd, &fst) < 0)
		return hull_error(err, errno, "initramfs: stat /%s", wk->path);
	if (!S_ISREG(fst.st_mode) || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev)
		return hull_error(err, 0, "initramfs: /%s changed while the rootfs was read",
				  wk->path);
	return cpio_add_file_fd(wk->w, wk->path, &m, fd, (uint64_t)fst.st_size, err);
}

static int add_symlink(struct walk *wk, int dirfd, const char *name, const struct stat *st,
		       struct hull_err *err)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, target, sizeof target);
	if (n < 0)
		return hull_error(err, errno, "initramfs: readlink /%s", wk->path);
	if (n == 0 || (size_t)n >= sizeof target)
		return hull_error(err, ENAMETOOLONG, "initramfs: symlink /%s", wk->path);
	target[n] = '\0';
	struct cpio_meta m = meta_of(st);
	return cpio_add_symlink(wk->w, wk->path, &m, target, err);
}

static int add_subdir(struct walk *wk, int dirfd, const char *name, const struct stat *st,
		      struct hull_err *err)
{
	struct cpio_meta m = meta_of(st);
	if (cpio_add_dir(wk->w, wk->path, &m, err) < 0)
		return -1;
	if (wk->depth >= MAX_DEPTH)
		return hull_error(err, 0, "initramfs: /%s is nested deeper than %d directories",
				  wk->path, MAX_DEPTH);
	_cleanup_close_ int fd =
	    openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "initramfs: open /%s", wk->path);
	wk->depth++;
	int r = walk_dir(wk, fd, err);
	wk->depth--;
	return r;
}

/* One entry of dirfd, written under the archive name already in wk->path. */
static int add_entry(struct walk *wk, int dirfd, const char *name, struct hull_err *err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_error(err, errno, "initramfs: stat /%s", wk->path);
	if (S_ISDIR(st.st_mode))
		return add_subdir(wk, dirfd, name, &st, err);
	if (S_ISREG(st.st_mode))
		return add_regular(wk, dirfd, name, &st, err);
	if (S_ISLNK(st.st_mode))
		return add_symlink(wk, dirfd, name, &st, err);
	struct cpio_meta m = meta_of(&st);
	return cpio_add_node(wk->w, wk->path, &m, err);
}

/* Archive name = current path + "/" + name (no leading "/"); restored by the caller. */
static int push_name(struct walk *wk, const char *name, size_t *saved, struct hull_err *err)
{
	*saved = strlen(wk->path);
	size_t need = *saved + (*saved ? 1 : 0) + strlen(name) + 1;
	if (need > sizeof wk->path)
		return hull_error(err, ENAMETOOLONG, "initramfs: a path under /%s is too long",
				  wk->path);
	if (*saved)
		wk->path[*saved] = '/';
	strcpy(wk->path + *saved + (*saved ? 1 : 0), name);
	return 0;
}

/* The rootfs's own /init is archived as .hull/rootfs-init (after .hull exists); its
 * own /.hull is left out. Notes what the top level has for the /dev/console rule. */
static bool skip_top(struct walk *wk, int dirfd, const char *name)
{
	if (strcmp(name, ".hull") == 0)
		return true;
	if (strcmp(name, "init") == 0) {
		wk->has_init = true;
		return true;
	}
	if (strcmp(name, "dev") == 0) {
		struct stat st;
		wk->has_dev = true;
		wk->dev_is_dir =
		    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
	}
	return false;
}

static int walk_dir(struct walk *wk, int dirfd, struct hull_err *err)
{
	char **names = NULL;
	size_t n = 0;
	if (list_dir(dirfd, wk->path, &names, &n, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (wk->depth == 0 && skip_top(wk, dirfd, names[i]))
			continue;
		size_t saved;
		r = push_name(wk, names[i], &saved, err);
		if (r == 0) {
			if (wk->depth == 1 && strcmp(wk->path, "dev/console") == 0)
				wk->has_console = true;
			r = add_entry(wk, dirfd, names[i], err);
		}
		wk->path[saved] = '\0';
	}
	free_names(names, n);
	return r;
}

static int add_hull_files(struct walk *wk, int rootfs_fd, const void *config, size_t config_len,
			  struct hull_err *err)
{
	size_t init_len;
	const unsigned char *init = vm_guest_init(&init_len);
	if (init == NULL || init_len == 0)
		return hull_error(err, 0, "this hull binary holds no guest init (a broken build)");
	struct cpio_meta dir = {.mode = S_IFDIR | 0755}, dir700 = {.mode = S_IFDIR | 0700};
	struct cpio_meta console = {.mode = S_IFCHR | 0600, .rmajor = 5, .rminor = 1};
	if (!wk->has_dev && cpio_add_dir(wk->w, "dev", &dir, err) < 0)
		return -1;
	if ((!wk->has_dev || (wk->dev_is_dir && !wk->has_console)) &&
	    cpio_add_node(wk->w, "dev/console", &console, err) < 0)
		return -1;
	if (cpio_add_dir(wk->w, ".hull", &dir700, err) < 0)
		return -1;
	if (wk->has_init) {
		strcpy(wk->path, ".hull/rootfs-init");
		int r = add_entry(wk, rootfs_fd, "init", err);
		wk->path[0] = '\0';
		if (r < 0)
			return -1;
	}
	struct cpio_meta cfg = {.mode = S_IFREG | 0400}, exe = {.mode = S_IFREG | 0755};
	if (cpio_add_file_mem(wk->w, ".hull/config", &cfg, config, config_len, err) < 0)
		return -1;
	return cpio_add_file_mem(wk->w, "init", &exe, init, init_len, err);
}

int vm_initramfs_build(int rootfs_fd, const void *config, size_t config_len, uint64_t limit,
		       int out_fd, uint64_t *size_out, struct hull_err *err)
{
	struct walk wk = {0};
	wk.w = cpio_new(out_fd, limit, err);
	if (wk.w == NULL)
		return -1;
	int r = walk_dir(&wk, rootfs_fd, err);
	if (r == 0)
		r = add_hull_files(&wk, rootfs_fd, config, config_len, err);
	if (r == 0)
		r = cpio_finish(wk.w, err);
	uint64_t size = cpio_size(wk.w);
	bool over = cpio_over_limit(wk.w);
	cpio_free(wk.w);
	if (r < 0)
		return -1;
	if (over)
		return hull_error(err, EFBIG,
				  "the rootfs makes an initramfs of %.1f MiB, more than the "
				  "limit of %.1f MiB (half of the VM's memory; raise "
				  "org.hull.vm.memory)",
				  (double)size / (1 << 20), (double)limit / (1 << 20));
	*size_out = size;
	return 0;
}

/* Defined by the generated guest_init_blob.S (src/guest/embed.sh): the bytes of the built
 * hull-guest-init and their count (0 in a build that has none). */
extern const unsigned char hull_guest_init_start[];
extern const uint64_t hull_guest_init_size;

const unsigned char *vm_guest_init(size_t *len)
{
	*len = (size_t)hull_guest_init_size;
	return *len ? hull_guest_init_start : NULL;
}
