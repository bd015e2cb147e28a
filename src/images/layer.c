/* Reading a layer blob: a reader thread (stream.c) reads it, hashes every byte as
 * stored and inflates gzip with igzip, while this thread walks the tar with libarchive
 * (tar only; zstd still through libarchive's filter) and applies the entries. The
 * digest is checked at the end, and a mismatch fails the unpack (the caller removes
 * what was written). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/safepath.h"
#include "internal.h"
#include "layer.h"
#include "stream.h"

#define READ_CHUNK (1 << 20)

/* How a blob is read: what the reader thread decodes, what libarchive still must, and
 * what a docker-archive layer's diff_id (the digest of the tar) is checked against. */
struct blob_plan {
	enum image_codec codec;
	enum image_compression filter; /* for libarchive */
	bool raw;		       /* the stored bytes are the tar: diff_id is their hash */
	bool hash_out;		       /* diff_id is the hash of what the thread decodes */
};

struct tar_feed {
	struct image_stream *s;
	struct hull_err err;
};

static la_ssize_t feed_read(struct archive *a, void *data, const void **out)
{
	struct tar_feed *f = data;
	ssize_t n = image_stream_read(f->s, out, &f->err);
	if (n < 0) {
		/* -1 is libarchive's ARCHIVE_ERRNO_MISC, which it keeps private */
		archive_set_error(a, f->err.code ? f->err.code : -1, "%s", f->err.msg);
		return -1;
	}
	return n;
}

void image_archive_filters(struct archive *a)
{
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
}

static void add_filter(struct archive *a, enum image_compression c)
{
	if (c == IMAGE_GZIP)
		archive_read_support_filter_gzip(a);
	else if (c == IMAGE_ZSTD)
		archive_read_support_filter_zstd(a);
	else if (c == IMAGE_ANY)
		image_archive_filters(a);
}

/* A zstd docker-archive layer is checked against its diff_id in a pass of its own,
 * before it is applied: libarchive decodes zstd, on this thread. */
static int check_zstd_diff_id(int fd, const struct image_layer *l, struct hull_err *err)
{
	struct image_hash h;
	if (image_hash_init(&h, err) < 0)
		return -1;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	const void *buf;
	size_t len;
	la_int64_t off;
	image_archive_filters(a);
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
	return ret;
}

static int plan_blob(int fd, const struct image_layer *l, struct blob_plan *p, struct hull_err *err)
{
	enum image_compression c = l->compression;
	if (c == IMAGE_ANY) { /* docker-archive: the media type is not known */
		unsigned char m[4] = {0};
		if (pread(fd, m, sizeof m, 0) < 0)
			return hull_error(err, errno, "read %s", l->path);
		if (m[0] == 0x1f && m[1] == 0x8b)
			c = IMAGE_GZIP;
		else if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
			c = IMAGE_ZSTD;
	}
	*p = (struct blob_plan){.codec = c == IMAGE_GZIP ? IMAGE_CODEC_GZIP : IMAGE_CODEC_COPY,
				.filter = c == IMAGE_GZIP ? IMAGE_TAR : c};
	if (l->digest != NULL)
		return 0;
	if (c == IMAGE_ZSTD)
		return check_zstd_diff_id(fd, l, err);
	p->hash_out = c == IMAGE_GZIP;
	p->raw = c != IMAGE_GZIP;
	return 0;
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

static int verify(struct image_stream *s, const struct image_layer *l, const char *what,
		  const struct blob_plan *p, struct hull_err *err)
{
	struct image_hash *h = image_stream_hash(s);
	if (l->size >= 0 && h->bytes != l->size)
		return hull_error(err, 0, "blob %s: %lld bytes, descriptor says %lld", what,
				  (long long)h->bytes, (long long)l->size);
	if (l->digest != NULL)
		return image_hash_check(h, l->digest, what, err);
	if (p->hash_out)
		return image_hash_check(image_stream_out_hash(s), l->diff_id, what, err);
	return p->raw ? image_hash_check(h, l->diff_id, what, err) : 0;
}

/* After the walk (walked: its result, its error in err): read the blob to its end and
 * check it. A damaged blob is named as such (size, digest), whatever the decoder or
 * the tar reader said of it; then a decode error found after the tar's end counts. */
static int check_blob(struct image_stream *s, const struct image_layer *l, const char *what,
		      const struct blob_plan *p, int walked, struct hull_err *err)
{
	struct hull_err serr = {0};
	bool read_failed = false;
	int sret = image_stream_finish(s, &read_failed, &serr);
	int ret;
	if (sret < 0 && read_failed)
		ret = hull_error(err, serr.code, "read blob %s", what);
	else if (verify(s, l, what, p, err) < 0)
		ret = -1;
	else if (sret < 0)
		ret = hull_error(err, 0, "layer %s: %s", what, serr.msg);
	else
		ret = walked;
	hull_err_clear(&serr);
	return ret;
}

/* Errors of the filesystem (ENOSPC, EPERM...) are not the blob's fault. */
static bool hull_err_is_fs(const struct hull_err *err)
{
	return err->code != 0 && err->code != EINVAL && err->code != EILSEQ;
}

static int apply_layer(const struct image *img, const struct image_layer *l, int root_fd,
		       const struct image_ids *ids, struct layer_overlay *ovl, struct hull_err *err)
{
	const char *what = l->digest ? l->digest : l->path;
	struct layer_ctx c = {.root_fd = root_fd, .ids = ids, .ovl = ovl};
	struct blob_plan p = {0};
	_cleanup_close_ int fd = safe_open_in_root(img->dir_fd, l->path, O_RDONLY | O_CLOEXEC, err);
	if (fd < 0)
		return hull_error_wrap(err, "missing blob %s", what);
	if (plan_blob(fd, l, &p, err) < 0)
		return -1;
	struct tar_feed f = {.s = image_stream_start(fd, p.codec, p.hash_out, err)};
	if (f.s == NULL)
		return -1;
	struct archive *a = archive_read_new();
	int ret = a == NULL ? hull_error(err, ENOMEM, "archive") : 0;
	if (ret == 0) {
		add_filter(a, p.filter);
		archive_read_support_format_tar(a);
		if (archive_read_open(a, &f, NULL, feed_read, NULL) != ARCHIVE_OK)
			ret = hull_error(err, 0, "layer %s: %s", what, archive_error_string(a));
	}
	if (ret == 0)
		ret = walk(a, &c, what, err);
	if (ret == 0 || !hull_err_is_fs(err))
		ret = check_blob(f.s, l, what, &p, ret, err);
	archive_read_free(a);
	image_stream_free(f.s);
	hull_err_clear(&f.err);
	layer_ctx_free(&c);
	return ret;
}

int image_unpack(const struct image *img, int root_fd, const struct image_ids *ids,
		 struct hull_err *err)
{
	for (size_t i = 0; i < img->n_layers; i++)
		if (apply_layer(img, &img->layers[i], root_fd, ids, NULL, err) < 0)
			return -1;
	return 0;
}

int image_unpack_layer(const struct image *img, size_t i, int root_fd, const struct image_ids *ids,
		       struct layer_overlay *ovl, struct hull_err *err)
{
	return apply_layer(img, &img->layers[i], root_fd, ids, ovl, err);
}
