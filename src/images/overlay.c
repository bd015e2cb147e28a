/* A container's root from stored layers: containers/ID/ holds l/0..l/N-1 (links to the
 * layers, bottom first), upper/ and work/ (the container's own writes), rootfs/ where
 * overlayfs merges them, config.json, and image.json naming the record and layers so
 * that `image rm` and the store's clean-up know what is in use.
 *
 * The overlay is mounted from inside containers/ID with relative names (l/7:l/6:...):
 * the options of one mount(2) must fit in a page, and absolute layer paths would stop
 * at a few dozen layers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "internal.h"

/* overlayfs's OVL_MAX_STACK */
#define MAX_LOWER      500
#define MOUNT_OPTS_MAX 4096

int image_overlay_options(size_t n_layers, bool ephemeral, char *buf, size_t size,
			  struct hull_err *err)
{
	if (n_layers == 0)
		return hull_error(err, EINVAL, "an image without layers has no root to mount");
	if (n_layers > MAX_LOWER)
		return hull_error(err, E2BIG, "%zu layers: overlayfs stacks at most %d", n_layers,
				  MAX_LOWER);
	int w = snprintf(buf, size, "lowerdir=");
	size_t pos = w > 0 ? (size_t)w : size;
	for (size_t i = n_layers; i-- > 0 && pos < size;) {
		w = snprintf(buf + pos, size - pos, "%sl/%zu", i + 1 == n_layers ? "" : ":", i);
		pos = w > 0 ? pos + (size_t)w : size;
	}
	if (pos < size) {
		w = snprintf(buf + pos, size - pos, ",upperdir=upper,workdir=work%s",
			     ephemeral ? ",volatile" : "");
		pos = w > 0 ? pos + (size_t)w : size;
	}
	if (pos >= size)
		return hull_error(err, E2BIG,
				  "%zu layers: the overlay's options do not fit in one page",
				  n_layers);
	return 0;
}

char *image_container_dir(const struct image_store *s, const char *id)
{
	char *p;
	return asprintf(&p, "%s/containers/%s", s->path, id) < 0 ? NULL : p;
}

static int open_containers(struct image_store *s, struct hull_err *err)
{
	int fd = openat(s->dir_fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : hull_error(err, errno, "image store: open %s/containers", s->path);
}

static int write_image_json(int dir, const char *image_id, const struct image_stored_layer *l,
			    size_t n, struct hull_err *err)
{
	yajl_gen g = json_gen_new(0);
	yajl_gen_map_open(g);
	json_key_str(g, "image", image_id);
	json_key(g, "layers");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++)
		json_str(g, l[i].key);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	_cleanup_free_ char *text = json_gen_finish(g);
	return image_write_json_at(dir, "image.json", text, err);
}

static int make_links(int dir, const struct image_stored_layer *l, size_t n, struct hull_err *err)
{
	if (mkdirat(dir, "l", 0700) < 0)
		return hull_error(err, errno, "create l");
	_cleanup_close_ int lfd = openat(dir, "l", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0)
		return hull_error(err, errno, "open l");
	for (size_t i = 0; i < n; i++) {
		char name[32], target[IMAGE_DIGEST_HEX + 32];
		snprintf(name, sizeof name, "%zu", i);
		snprintf(target, sizeof target, "../../../layers/%s/root", l[i].key);
		if (symlinkat(target, lfd, name) < 0)
			return hull_error(err, errno, "link l/%s", name);
	}
	return 0;
}

/* An ephemeral root (`run --rm`) is mounted "volatile" (overlayfs.rst, "Volatile
 * mount"): its upper directory is removed when the run ends, so nothing in it needs to
 * reach the disk, and overlayfs then skips its syncs of the upper file system: the
 * container's own fsync()s and, above all, the one at unmount, which writes back and
 * flushes that whole file system (2 ms on an idle ext4, tens while the host writes).
 * A kept container keeps the usual semantics. Kernels before 5.10 refuse the option
 * (EINVAL) and get the usual mount. */
static int mount_overlay(size_t n, bool ephemeral, const char *path, struct hull_err *err)
{
	char opts[MOUNT_OPTS_MAX];
	if (image_overlay_options(n, ephemeral, opts, sizeof opts, err) < 0)
		return -1;
	if (mount("overlay", "rootfs", "overlay", 0, opts) == 0)
		return 0;
	if (errno != EINVAL || !ephemeral)
		return hull_error(err, errno, "mount overlay on %s/rootfs", path);
	return mount_overlay(n, false, path, err);
}

static int mount_root(int dir, size_t n, bool ephemeral, const char *path, struct hull_err *err)
{
	if (mkdirat(dir, "upper", 0755) < 0 || mkdirat(dir, "work", 0700) < 0 ||
	    mkdirat(dir, "rootfs", 0755) < 0)
		return hull_error(err, errno, "create %s/{upper,work,rootfs}", path);
	/* Relative names resolve from the working directory: ours, for this call only. */
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || fchdir(dir) < 0)
		return hull_error(err, errno, "enter %s", path);
	int r = mount_overlay(n, ephemeral, path, err);
	if (fchdir(cwd) < 0)
		return hull_error(err, errno, "return to the working directory");
	return r;
}

static int fill_dir(struct image_store *s, int dir, const char *id, const char *image_id,
		    const struct image_stored_layer *layers, size_t n, bool ephemeral,
		    struct hull_err *err)
{
	_cleanup_free_ char *path = image_container_dir(s, id);
	if (path == NULL)
		return hull_error(err, ENOMEM, "image store");
	struct stat st;
	if (flock(dir, LOCK_EX) < 0 || fstat(dir, &st) < 0)
		return hull_error(err, errno, "lock %s", path);
	if (st.st_nlink == 0) /* a `delete` of a dead run's leftovers took it meanwhile */
		return hull_error(err, ENOENT, "%s was removed", path);
	if (write_image_json(dir, image_id, layers, n, err) < 0 ||
	    make_links(dir, layers, n, err) < 0 || mount_root(dir, n, ephemeral, path, err) < 0)
		return hull_error_wrap(err, "image container %s", id);
	return 0;
}

int image_container_make(struct image_store *s, const char *id, const char *image_id,
			 const struct image_stored_layer *layers, size_t n, bool ephemeral,
			 int *lock_fd, struct hull_err *err)
{
	_cleanup_close_ int containers = open_containers(s, err);
	if (containers < 0)
		return -1;
	if (mkdirat(containers, id, 0700) < 0)
		return errno == EEXIST
			   ? hull_error(err, 0, "container %s already exists", id)
			   : hull_error(err, errno, "image store: create container %s", id);
	_cleanup_close_ int dir =
	    openat(containers, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0 || fill_dir(s, dir, id, image_id, layers, n, ephemeral, err) < 0) {
		if (dir < 0)
			hull_error(err, errno, "image store: open container %s", id);
		close(steal_fd(&dir)); /* our lock would stop our own clean-up */
		struct hull_err ignored = {0};
		image_container_remove(s, id, true, &ignored);
		hull_err_clear(&ignored);
		return -1;
	}
	*lock_fd = steal_fd(&dir);
	return 0;
}

/* Unmount rootfs (every mount stacked there) and check that it is a plain directory
 * again before anything below it is removed. */
static int unmount_root(int dir, const char *path, struct hull_err *err)
{
	char *root;
	if (asprintf(&root, "%s/rootfs", path) < 0)
		return hull_error(err, ENOMEM, "unmount");
	for (int i = 0; i < 16 && umount2(root, MNT_DETACH | UMOUNT_NOFOLLOW) == 0; i++)
		;
	free(root);
	struct stat d, r;
	if (fstat(dir, &d) < 0)
		return hull_error(err, errno, "stat %s", path);
	if (fstatat(dir, "rootfs", &r, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : hull_error(err, errno, "stat %s/rootfs", path);
	if (r.st_dev != d.st_dev)
		return hull_error(err, EBUSY, "unmount %s/rootfs", path);
	return 0;
}

static int lock_for_removal(int dir, const char *id, bool wait, struct hull_err *err)
{
	while (flock(dir, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return hull_error(err, EBUSY, "container %s is being created", id);
		return hull_error(err, errno, "lock container %s", id);
	}
	struct stat st;
	if (fstat(dir, &st) < 0)
		return hull_error(err, errno, "container %s", id);
	return st.st_nlink == 0 ? 1 : 0; /* removed while we waited */
}

int image_container_remove(struct image_store *s, const char *id, bool wait, struct hull_err *err)
{
	_cleanup_close_ int containers = open_containers(s, err);
	if (containers < 0)
		return -1;
	_cleanup_close_ int dir =
	    openat(containers, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return errno == ENOENT ? 1 : hull_error(err, errno, "open container %s", id);
	int r = lock_for_removal(dir, id, wait, err);
	if (r != 0)
		return r;
	_cleanup_free_ char *path = image_container_dir(s, id);
	if (path == NULL)
		return hull_error(err, ENOMEM, "image store");
	if (unmount_root(dir, path, err) < 0 || image_remove_tree(containers, id, err) < 0)
		return hull_error_wrap(err, "image container %s", id);
	return 0;
}

/* Each container's image.json, parsed, for fn. */
static int each_container(struct image_store *s,
			  int (*fn)(const char *cid, yajl_val v, void *arg, struct hull_err *err),
			  void *arg, struct hull_err *err)
{
	int fd = open_containers(s, err);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char name[4096];
		snprintf(name, sizeof name, "%s/image.json", de->d_name);
		_cleanup_free_ char *text = NULL;
		struct hull_err ignored = {0};
		yajl_val v = json_read_fileat(dirfd(d), name, &text, NULL, &ignored) == 0
				 ? json_parse(text, &ignored)
				 : NULL;
		hull_err_clear(&ignored);
		int r = v ? fn(de->d_name, v, arg, err) : 0;
		yajl_tree_free(v);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int add_layers(const char *cid, yajl_val v, void *arg, struct hull_err *err)
{
	(void)cid;
	yajl_val layers = json_get(v, "layers");
	for (size_t i = 0; layers && YAJL_IS_ARRAY(layers) && i < layers->u.array.len; i++) {
		const char *k = YAJL_GET_STRING(layers->u.array.values[i]);
		if (k != NULL && image_keyset_add(arg, k, err) < 0)
			return -1;
	}
	return 0;
}

int image_container_layers(struct image_store *s, struct image_keyset *used, struct hull_err *err)
{
	return each_container(s, add_layers, used, err);
}

struct users {
	const char *image_id;
	struct image_keyset ids;
};

static int add_user(const char *cid, yajl_val v, void *arg, struct hull_err *err)
{
	struct users *u = arg;
	const char *image = image_json_str(v, "image");
	if (image == NULL || strcmp(image, u->image_id) != 0)
		return 0;
	return image_keyset_add(&u->ids, cid, err);
}

int image_container_users(struct image_store *s, const char *image_id, char ***ids, size_t *n,
			  struct hull_err *err)
{
	struct users u = {.image_id = image_id};
	int r = each_container(s, add_user, &u, err);
	*ids = u.ids.keys;
	*n = u.ids.n;
	return r;
}
