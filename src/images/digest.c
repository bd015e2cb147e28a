/* SHA-256 of blobs (OpenSSL's libcrypto): every blob is checked against the digest its
 * descriptor gives before anything built from it is used (image-spec descriptor.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/safepath.h"
#include "internal.h"

const char *image_digest_hex(const char *digest, struct hull_err *err)
{
	if (digest == NULL)
		return hull_error(err, 0, "missing digest"), NULL;
	if (strncmp(digest, "sha256:", 7) != 0) {
		hull_error(err, 0, "unsupported digest algorithm: %s", digest);
		return NULL;
	}
	const char *hex = digest + 7;
	size_t n = strspn(hex, "0123456789abcdef");
	if (n != IMAGE_DIGEST_HEX || hex[n] != '\0') {
		hull_error(err, 0, "malformed digest: %s", digest);
		return NULL;
	}
	return hex;
}

char *image_blob_path(const char *digest, struct hull_err *err)
{
	const char *hex = image_digest_hex(digest, err);
	char *path;
	if (hex == NULL)
		return NULL;
	if (asprintf(&path, "blobs/sha256/%s", hex) < 0) {
		hull_error(err, ENOMEM, "blob path");
		return NULL;
	}
	return path;
}

/* SHA-256 from nettle, linked statically: hull's other commands never pay for loading a
 * crypto library (OpenSSL's libcrypto cost ~1 ms of relocations in every exec of hull). */
int image_hash_init(struct image_hash *h, struct hull_err *err)
{
	(void)err;
	sha256_init(&h->ctx);
	h->bytes = 0;
	return 0;
}

void image_hash_update(struct image_hash *h, const void *buf, size_t len)
{
	sha256_update(&h->ctx, len, buf);
	h->bytes += (int64_t)len;
}

void image_hash_free(struct image_hash *h)
{
	(void)h;
}

static void to_hex(const uint8_t md[SHA256_DIGEST_SIZE], char out[2 * SHA256_DIGEST_SIZE + 1])
{
	for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int image_hash_check(struct image_hash *h, const char *digest, const char *what,
		     struct hull_err *err)
{
	uint8_t md[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	const char *want = image_digest_hex(digest, err);
	if (want == NULL)
		return hull_error_wrap(err, "%s", what);
	sha256_digest(&h->ctx, SHA256_DIGEST_SIZE, md);
	to_hex(md, hex);
	if (strcmp(hex, want) != 0)
		return hull_error(err, 0, "%s: digest mismatch: want sha256:%s, got sha256:%s",
				  what, want, hex);
	return 0;
}

int image_sha256_hex(const void *buf, size_t len, char *out, struct hull_err *err)
{
	struct sha256_ctx ctx;
	uint8_t md[SHA256_DIGEST_SIZE];
	(void)err;
	sha256_init(&ctx);
	sha256_update(&ctx, len, buf);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, md);
	to_hex(md, out);
	return 0;
}

int image_check_digest(const void *buf, size_t len, const char *digest, const char *what,
		       struct hull_err *err)
{
	struct image_hash h;
	if (image_hash_init(&h, err) < 0)
		return -1;
	image_hash_update(&h, buf, len);
	int r = image_hash_check(&h, digest, what, err);
	image_hash_free(&h);
	return r;
}

static int read_whole(int fd, const char *path, int64_t size, char **text, struct hull_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error(err, errno, "blob %s", path);
	if (!S_ISREG(st.st_mode))
		return hull_error(err, 0, "blob %s: not a regular file", path);
	if (st.st_size > IMAGE_MAX_JSON)
		return hull_error(err, EFBIG, "blob %s", path);
	if (size >= 0 && st.st_size != size)
		return hull_error(err, 0, "blob %s: size %lld, descriptor says %lld", path,
				  (long long)st.st_size, (long long)size);
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		return hull_error(err, ENOMEM, "blob %s", path);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return hull_error(err, r < 0 ? errno : EIO, "read blob %s", path);
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (strlen(buf) != got)
		return hull_error(err, 0, "blob %s: not JSON text", path);
	*text = steal_ptr(&buf);
	return 0;
}

int image_read_blob(int dir_fd, const char *path, const char *digest, int64_t size, char **text,
		    struct hull_err *err)
{
	_cleanup_close_ int fd = safe_open_in_root(dir_fd, path, O_RDONLY | O_CLOEXEC, err);
	if (fd < 0)
		return hull_error_wrap(err, "missing blob %s", digest ? digest : path);
	_cleanup_free_ char *buf = NULL;
	if (read_whole(fd, path, size, &buf, err) < 0)
		return -1;
	if (digest != NULL && image_check_digest(buf, strlen(buf), digest, digest, err) < 0)
		return -1;
	*text = steal_ptr(&buf);
	return 0;
}
