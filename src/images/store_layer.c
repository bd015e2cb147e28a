/* Layers in the store: each unpacked once, alone, in overlayfs's format, into
 * layers/KEY.tmp-XXXXXX and renamed to layers/KEY when complete, so a crash or an error
 * never leaves a half layer under a name that a later run would trust.
 *
 * KEY is the hex of the digest that was checked while the layer was read: the diff_id
 * for a docker-archive (its layers are checked against the config's diff_ids), the
 * blob digest for an OCI image (the diff_ids of an OCI config are never checked, so
 * keying by them would let one image plant content under another image's key). A
 * layer whose unpacked form needed the layers below (lower.c) is keyed by its chain
 * instead. A layer found under either key is used as it is: nothing of the source's
 * blob is read again. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/json.h"
#include "internal.h"
#include "layer.h"

int image_chain_key(const char *parent, const char *key, char *out, struct hull_err *err)
{
	char text[2 * IMAGE_DIGEST_HEX + 16];
	int n = snprintf(text, sizeof text, "%s sha256:%s", parent, key);
	if (n < 0 || (size_t)n >= sizeof text)
		return hull_error(err, EINVAL, "chain key");
	return image_sha256_hex(text, (size_t)n, out, err);
}

static int digest_key(const struct image_layer *l, char *out, struct hull_err *err)
{
	const char *hex = image_digest_hex(l->diff_id ? l->diff_id : l->digest, err);
	if (hex == NULL)
		return hull_error_wrap(err, "layer %s", l->path);
	memcpy(out, hex, IMAGE_DIGEST_HEX + 1);
	return 0;
}

static bool find_cached(int layers_fd, const char *dkey, const char *chain, char *key)
{
	if (faccessat(layers_fd, dkey, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		memcpy(key, dkey, IMAGE_DIGEST_HEX + 1);
		return true;
	}
	if (chain != NULL && faccessat(layers_fd, chain, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		memcpy(key, chain, IMAGE_DIGEST_HEX + 1);
		return true;
	}
	return false;
}

static int lock_layer(struct image_store *s, const char *dkey, struct hull_err *err)
{
	char name[IMAGE_DIGEST_HEX + 8];
	snprintf(name, sizeof name, "locks/%s", dkey);
	_cleanup_close_ int fd =
	    openat(s->dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return hull_error(err, errno, "image store: open %s", name);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return hull_error(err, errno, "image store: lock %s", name);
	return steal_fd(&fd);
}

static long long tree_bytes;

static int add_size(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)path, (void)f;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		tree_bytes += st->st_size;
	return 0;
}

static int write_meta(int dir_fd, const struct image_layer *l, const char *root_path,
		      struct hull_err *err)
{
	tree_bytes = 0;
	if (nftw(root_path, add_size, 32, FTW_PHYS | FTW_MOUNT) < 0)
		return hull_error(err, errno, "size of %s", root_path);
	char created[64];
	clock_rfc3339_now(created, sizeof created);
	yajl_gen g = json_gen_new(0);
	yajl_gen_map_open(g);
	json_key_str(g, "digest", l->digest);
	json_key_str(g, "diffID", l->diff_id);
	json_key_int(g, "size", tree_bytes);
	json_key_str(g, "created", created);
	yajl_gen_map_close(g);
	_cleanup_free_ char *text = json_gen_finish(g);
	return image_write_json_at(dir_fd, "layer.json", text, err);
}

/* The directories of the layers below layer i, nearest first. */
static int open_lowers(int layers_fd, const struct image_stored_layer *done, size_t i, int *fds,
		       struct hull_err *err)
{
	for (size_t j = 0; j < i; j++) {
		char name[IMAGE_DIGEST_HEX + 8];
		snprintf(name, sizeof name, "%s/root", done[i - 1 - j].key);
		fds[j] = openat(layers_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fds[j] < 0)
			return hull_error(err, errno, "image store: open layer %s", name);
	}
	return 0;
}

static int unpack_into(const struct image *img, size_t i, const char *tmp,
		       struct layer_overlay *ovl, struct hull_err *err)
{
	_cleanup_close_ int dir = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0 || fchmod(dir, 0700) < 0 || mkdirat(dir, "root", 0755) < 0)
		return hull_error(err, errno, "image store: create %s", tmp);
	_cleanup_close_ int root =
	    openat(dir, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		return hull_error(err, errno, "image store: open %s/root", tmp);
	if (image_unpack_layer(img, i, root, NULL, ovl, err) < 0)
		return -1;
	_cleanup_free_ char *root_path = NULL;
	if (asprintf(&root_path, "%s/root", tmp) < 0)
		return hull_error(err, ENOMEM, "image store");
	return write_meta(dir, &img->layers[i], root_path, err);
}

static int extract(struct image_store *s, int layers_fd, const struct image *img, size_t i,
		   const char *dkey, const char *chain, struct image_stored_layer *out,
		   struct hull_err *err)
{
	_cleanup_free_ int *fds = calloc(i + 1, sizeof *fds);
	_cleanup_free_ char *tmp = NULL;
	if (fds == NULL || asprintf(&tmp, "%s/layers/%s.tmp-XXXXXX", s->path, dkey) < 0)
		return hull_error(err, ENOMEM, "image store");
	for (size_t j = 0; j <= i; j++)
		fds[j] = -1;
	struct layer_overlay ovl = {.lower = fds, .n_lower = i};
	int r = mkdtemp(tmp) ? 0 : hull_error(err, errno, "image store: create %s", tmp);
	if (r == 0)
		r = open_lowers(layers_fd, out, i, fds, err);
	if (r == 0)
		r = unpack_into(img, i, tmp, &ovl, err);
	const char *key = ovl.used_lower && chain != NULL ? chain : dkey;
	const char *base = strrchr(tmp, '/') + 1;
	if (r == 0 && renameat2(layers_fd, base, layers_fd, key, RENAME_NOREPLACE) < 0 &&
	    errno != EEXIST)
		r = hull_error(err, errno, "image store: rename %s", tmp);
	struct hull_err ignored = {0};
	image_remove_tree(layers_fd, base, &ignored); /* gone after a rename */
	hull_err_clear(&ignored);
	for (size_t j = 0; j < i; j++)
		if (fds[j] >= 0)
			close(fds[j]);
	if (r == 0)
		memcpy(out[i].key, key, IMAGE_DIGEST_HEX + 1);
	return r;
}

static int store_one(struct image_store *s, int layers_fd, const struct image *img, size_t i,
		     const char *chain, struct image_stored_layer *out, struct hull_err *err)
{
	char dkey[IMAGE_DIGEST_HEX + 1];
	if (digest_key(&img->layers[i], dkey, err) < 0)
		return -1;
	const char *ch = i > 0 ? chain : NULL;
	out[i].cached = find_cached(layers_fd, dkey, ch, out[i].key);
	if (out[i].cached)
		return 0;
	_cleanup_close_ int lock = lock_layer(s, dkey, err);
	if (lock < 0)
		return -1;
	/* Someone else may have unpacked it while we waited. */
	out[i].cached = find_cached(layers_fd, dkey, ch, out[i].key);
	if (out[i].cached)
		return 0;
	if (image_fetch_layer(img, i, err) < 0)
		return -1;
	return extract(s, layers_fd, img, i, dkey, ch, out, err);
}

int image_store_layers(struct image_store *s, const struct image *img,
		       struct image_stored_layer *out, struct hull_err *err)
{
	_cleanup_close_ int layers_fd =
	    openat(s->dir_fd, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (layers_fd < 0)
		return hull_error(err, errno, "image store: open %s/layers", s->path);
	char chain[IMAGE_DIGEST_HEX + 1] = "";
	for (size_t i = 0; i < img->n_layers; i++) {
		char dkey[IMAGE_DIGEST_HEX + 1];
		if (digest_key(&img->layers[i], dkey, err) < 0)
			return -1;
		if (i == 0)
			memcpy(chain, dkey, sizeof chain);
		else if (image_chain_key(chain, dkey, chain, err) < 0)
			return -1;
		if (store_one(s, layers_fd, img, i, chain, out, err) < 0)
			return -1;
	}
	return 0;
}
