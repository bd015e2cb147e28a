/* Reading a layer blob: libarchive decompresses (gzip, zstd) and walks the tar, while
 * the read callback hashes every byte of the blob as stored; the digest is checked at
 * the end, and a mismatch fails the unpack (the caller removes what was written). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/safepath.h"
#include "internal.h"
#include "layer.h"

#define READ_CHUNK (1 << 20)

struct blob_reader {
	int fd;
	struct image_hash hash;
	char *buf;
};

static la_ssize_t blob_read(struct archive *a, void *data, const void **out)
{
	struct blob_reader *r = data;
	ssize_t n;
	do
		n = read(r->fd, r->buf, READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read");
		return -1;
	}
	image_hash_update(&r->hash, r->buf, (size_t)n);
	*out = r->buf;
	return n;
}

static int drain(struct blob_reader *r, const char *what, struct hull_err *err)
{
	ssize_t n;
	while ((n = read(r->fd, r->buf, READ_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hull_error(err, errno, "read %s", what);
		image_hash_update(&r->hash, r->buf, (size_t)n);
	}
	return 0;
}

static void add_filter(struct archive *a, enum image_compression c)
{
	if (c == IMAGE_GZIP)
		archive_read_support_filter_gzip(a);
	else if (c == IMAGE_ZSTD)
		archive_read_support_filter_zstd(a);
	else if (c == IMAGE_ANY)
		archive_read_support_filter_all(a);
}

/* A docker-archive layer is checked against its diff_id, the digest of the
 * uncompressed tar: when the file is compressed, that takes a pass of its own.
 * Returns 1 when it did that check, 0 when the stored bytes are the tar itself. */
static int check_uncompressed(int fd, const struct image_layer *l, struct hull_err *err)
{
	unsigned char magic[4] = {0};
	if (pread(fd, magic, sizeof magic, 0) < 0)
		return hull_error(err, errno, "read %s", l->path);
	bool gz = magic[0] == 0x1f && magic[1] == 0x8b;
	bool zst = magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd;
	if (!gz && !zst)
		return 0;
	struct image_hash h;
	if (image_hash_init(&h, err) < 0)
		return -1;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	const void *buf;
	size_t len;
	la_int64_t off;
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	int r = archive_read_open_fd(a, fd, READ_CHUNK);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(a, &e);
	while (r == ARCHIVE_OK && (r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
		image_hash_update(&h, buf, len);
	int ret = r == ARCHIVE_EOF
		      ? image_hash_check(&h, l->diff_id, l->path, err)
		      : hull_error(err, 0, "layer %s: %s", l->path, archive_error_string(a));
	archive_read_free(a);
	image_hash_free(&h);
	if (ret == 0 && lseek(fd, 0, SEEK_SET) < 0)
		return hull_error(err, errno, "seek %s", l->path);
	return ret < 0 ? -1 : 1;
}

static int walk(struct archive *a, struct layer_ctx *c, const char *what, struct hull_err *err)
{
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
		if (layer_apply_entry(c, a, e, err) < 0)
			return hull_error_wrap(err, "layer %s", what);
	if (r != ARCHIVE_EOF)
		return hull_error(err, 0, "layer %s: %s", what, archive_error_string(a));
	return layer_finish(c, err);
}

static int verify(struct blob_reader *r, const struct image_layer *l, const char *what, bool raw,
		  struct hull_err *err)
{
	if (drain(r, what, err) < 0)
		return -1;
	if (l->size >= 0 && r->hash.bytes != l->size)
		return hull_error(err, 0, "blob %s: %lld bytes, descriptor says %lld", what,
				  (long long)r->hash.bytes, (long long)l->size);
	if (l->digest != NULL)
		return image_hash_check(&r->hash, l->digest, what, err);
	return raw ? image_hash_check(&r->hash, l->diff_id, what, err) : 0;
}

/* Errors of the filesystem (ENOSPC, EPERM...) are not the blob's fault. */
static bool hull_err_is_fs(const struct hull_err *err)
{
	return err->code != 0 && err->code != EINVAL && err->code != EILSEQ;
}

static int apply_layer(const struct image *img, const struct image_layer *l, int root_fd,
		       const struct image_ids *ids, struct hull_err *err)
{
	const char *what = l->digest ? l->digest : l->path;
	_cleanup_free_ char *buf = malloc(READ_CHUNK);
	struct blob_reader r = {.fd = -1};
	struct layer_ctx c = {.root_fd = root_fd, .ids = ids};
	if (buf == NULL)
		return hull_error(err, ENOMEM, "layer");
	r.buf = buf;
	r.fd = safe_open_in_root(img->dir_fd, l->path, O_RDONLY | O_CLOEXEC, err);
	if (r.fd < 0)
		return hull_error_wrap(err, "missing blob %s", what);
	int ret = l->digest == NULL ? check_uncompressed(r.fd, l, err) : 0;
	bool raw = l->digest == NULL && ret == 0;
	ret = ret < 0 ? -1 : 0;
	struct archive *a = archive_read_new();
	if (ret == 0 && (a == NULL || image_hash_init(&r.hash, err) < 0))
		ret = hull_error(err, ENOMEM, "archive");
	if (ret == 0) {
		add_filter(a, l->compression);
		archive_read_support_format_tar(a);
		if (archive_read_open(a, &r, NULL, blob_read, NULL) != ARCHIVE_OK)
			ret = hull_error(err, 0, "layer %s: %s", what, archive_error_string(a));
	}
	if (ret == 0)
		ret = walk(a, &c, what, err);
	/* A damaged blob is named as such, whatever the decompressor or tar said of it. */
	if (r.hash.ctx != NULL && (ret == 0 || !hull_err_is_fs(err)))
		ret = verify(&r, l, what, raw, err) < 0 ? -1 : ret;
	archive_read_free(a);
	image_hash_free(&r.hash);
	layer_ctx_free(&c);
	close(r.fd);
	return ret;
}

int image_unpack(const struct image *img, int root_fd, const struct image_ids *ids,
		 struct hull_err *err)
{
	for (size_t i = 0; i < img->n_layers; i++)
		if (apply_layer(img, &img->layers[i], root_fd, ids, err) < 0)
			return -1;
	return 0;
}
