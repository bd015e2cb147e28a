/* src/images: gzip decoding with igzip (gunzip.c), fed and drained in pieces of every
 * size, and the layer reader thread (stream.c): hashes, errors, the ring of buffers. */
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "images/gunzip.h"
#include "images/stream.h"
#include "unit.h"

#define FHCRC	 0x02
#define FEXTRA	 0x04
#define FNAME	 0x08
#define FCOMMENT 0x10

/* Compressible bytes with some noise, different for each seed. */
static uint8_t *sample(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len ? len : 1);
	static const char words[] = "layer tar gzip hull image unpack ";
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (x >> 24) < 40 ? (uint8_t)(x >> 16) : (uint8_t)words[i % (sizeof words - 1)];
	}
	return p;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* One gzip member of data, with the optional header fields flags asks for. */
static size_t member(uint8_t *out, size_t cap, const uint8_t *data, size_t len, uint8_t flags)
{
	const uint8_t fixed[10] = {0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 255};
	size_t n = sizeof fixed;
	memcpy(out, fixed, n);
	if (flags & FEXTRA) {
		memcpy(out + n,
		       "\x05\x00"
		       "EXTRA",
		       7);
		n += 7;
	}
	if (flags & FNAME) {
		memcpy(out + n, "layer.tar", 10);
		n += 10;
	}
	if (flags & FCOMMENT) {
		memcpy(out + n, "a comment", 10);
		n += 10;
	}
	if (flags & FHCRC) {
		uint32_t c = crc32_gzip_refl(0, out, n);
		out[n++] = (uint8_t)c;
		out[n++] = (uint8_t)(c >> 8);
	}
	struct isal_zstream z;
	isal_deflate_init(&z);
	z.end_of_stream = 1;
	z.next_in = (uint8_t *)data;
	z.avail_in = (uint32_t)len;
	z.next_out = out + n;
	z.avail_out = (uint32_t)(cap - n - 8);
	CHECK(isal_deflate_stateless(&z) == COMP_OK);
	n += z.total_out;
	put32(out + n, crc32_gzip_refl(0, data, len));
	put32(out + n + 4, (uint32_t)len);
	return n + 8;
}

/* Feed one piece, taking output in pieces of at most out_piece bytes. */
static int feed(struct gunzip *g, const uint8_t *p, size_t left, uint8_t *out, size_t *done,
		size_t cap, size_t out_piece, struct hull_err *err)
{
	for (;;) {
		size_t room = cap - *done < out_piece ? cap - *done : out_piece;
		ssize_t n = gunzip_step(g, &p, &left, out + *done, room, err);
		if (n < 0)
			return -1;
		*done += (size_t)n;
		if (left == 0 && (size_t)n < room)
			return 0;
		if (room == 0)
			return hull_error(err, 0, "test: output buffer full");
	}
}

/* Decode in input pieces of chunk bytes; the bytes written, or -1 with err. */
static ssize_t decode(const uint8_t *in, size_t len, size_t chunk, size_t out_piece, uint8_t *out,
		      size_t cap, struct hull_err *err)
{
	struct gunzip g;
	size_t done = 0;
	int r = gunzip_init(&g, err);
	for (size_t fed = 0; r == 0 && fed < len; fed += chunk)
		r = feed(&g, in + fed, len - fed < chunk ? len - fed : chunk, out, &done, cap,
			 out_piece, err);
	if (r == 0)
		r = feed(&g, in + len, 0, out, &done, cap, out_piece, err);
	if (r == 0)
		r = gunzip_end(&g, err);
	gunzip_free(&g);
	return r < 0 ? -1 : (ssize_t)done;
}

static void test_crc_is_gzips(void)
{
	CHECK(crc32_gzip_refl(0, (const unsigned char *)"123456789", 9) == 0xcbf43926u);
}

static void test_one_member(void)
{
	struct hull_err err = {0};
	size_t len = 300000, cap = len + 4096;
	uint8_t *data = sample(len, 1), *gz = malloc(cap), *out = malloc(cap);
	size_t n = member(gz, cap, data, len, 0);
	static const size_t chunks[] = {1, 3, 7, 64, 4096, 1 << 20};
	static const size_t outs[] = {1, 1000, 1 << 20};
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
		for (size_t j = 0; j < sizeof outs / sizeof outs[0]; j++) {
			if (chunks[i] < 64 && outs[j] == 1)
				continue; /* slow, and nothing more to learn */
			ssize_t got = decode(gz, n, chunks[i], outs[j], out, cap, &err);
			CHECK(got == (ssize_t)len);
			CHECK(got == (ssize_t)len && memcmp(out, data, len) == 0);
			if (got < 0)
				printf("# chunk %zu out %zu: %s\n", chunks[i], outs[j], err.msg);
		}
	hull_err_clear(&err);
	free(data);
	free(gz);
	free(out);
}

/* gzip allows members one after another (RFC 1952 2.2), each with its own header; an
 * empty member too. Every split point of the headers is tried: igzip 2.30's own parser
 * gets FHCRC wrong when the header is split. */
static void test_members_and_header_fields(void)
{
	struct hull_err err = {0};
	static const uint8_t flags[] = {
	    0, FEXTRA, FNAME, FCOMMENT, FHCRC, FEXTRA | FNAME | FCOMMENT | FHCRC, 0};
	static const size_t sizes[] = {5000, 0, 70000, 1, 3000, 40000, 123};
	size_t cap = 1 << 20, n = 0, total = 0;
	uint8_t *gz = malloc(cap), *want = malloc(cap), *out = malloc(cap);
	for (size_t i = 0; i < sizeof flags; i++) {
		uint8_t *d = sample(sizes[i], (unsigned)i + 7);
		n += member(gz + n, cap - n, d, sizes[i], flags[i]);
		memcpy(want + total, d, sizes[i]);
		total += sizes[i];
		free(d);
	}
	for (size_t chunk = 1; chunk <= 23; chunk++) {
		ssize_t got = decode(gz, n, chunk, 4096, out, cap, &err);
		CHECK(got == (ssize_t)total && memcmp(out, want, total) == 0);
		if (got < 0)
			printf("# chunk %zu: %s\n", chunk, err.msg);
	}
	CHECK(decode(gz, n, n, cap, out, cap, &err) == (ssize_t)total);
	hull_err_clear(&err);
	free(gz);
	free(want);
	free(out);
}

/* decode's error for gz[0..len) fed in pieces of 1 and of all, which must agree. */
static void check_refused(const uint8_t *gz, size_t len, const char *words)
{
	struct hull_err err = {0};
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	CHECK(decode(gz, len, 1, 4096, out, cap, &err) < 0);
	CHECK_CONTAINS(err.msg, words);
	CHECK(decode(gz, len, len ? len : 1, cap, out, cap, &err) < 0);
	CHECK_CONTAINS(err.msg, words);
	hull_err_clear(&err);
	free(out);
}

static void test_truncated(void)
{
	size_t len = 20000, cap = 65536;
	uint8_t *data = sample(len, 3), *gz = malloc(cap);
	size_t n = member(gz, cap, data, len, FNAME);
	check_refused(gz, 0, "no data");
	const size_t cuts[] = {1, 5, 12, n / 2, n - 8, n - 4, n - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
		check_refused(gz, cuts[i], "truncated");
	/* a whole member, then the start of another */
	size_t m = member(gz + n, cap - n, data, 100, 0);
	check_refused(gz, n + m - 3, "truncated");
	check_refused(gz, n + 1, "truncated");
	free(data);
	free(gz);
}

static void test_corrupt(void)
{
	size_t len = 20000, cap = 65536;
	uint8_t *data = sample(len, 4), *gz = malloc(cap), *bad = malloc(cap);
	size_t n = member(gz, cap, data, len, 0);
	memcpy(bad, gz, n);
	bad[n - 8] ^= 1; /* CRC-32 */
	check_refused(bad, n, "CRC");
	memcpy(bad, gz, n);
	bad[n - 2] ^= 1; /* ISIZE */
	check_refused(bad, n, "length");
	memcpy(bad, gz, n);
	bad[10] = 0xff; /* the first block's header: reserved block type 3 */
	check_refused(bad, n, "gzip");
	memcpy(bad, gz, n);
	bad[2] = 7;
	check_refused(bad, n, "compression method");
	memcpy(bad, gz, n);
	bad[3] = 0x20;
	check_refused(bad, n, "reserved");
	check_refused((const uint8_t *)"plain text, not gzip", 20, "not gzip data");
	size_t h = member(bad, cap, data, 100, FHCRC | FNAME);
	bad[20] ^= 1; /* the header CRC */
	check_refused(bad, h, "header checksum");
	free(data);
	free(gz);
	free(bad);
}

static void test_trailing_garbage(void)
{
	size_t len = 5000, cap = 65536;
	uint8_t *data = sample(len, 5), *gz = malloc(cap);
	size_t n = member(gz, cap, data, len, 0);
	memcpy(gz + n, "junk", 4);
	check_refused(gz, n + 4, "trailing garbage");
	memset(gz + n, 0, 512); /* zero padding is garbage as well */
	check_refused(gz, n + 512, "trailing garbage");
	free(data);
	free(gz);
}

/* A memfd holding len bytes of buf, at offset 0. */
static int memfd_with(const void *buf, size_t len)
{
	int fd = memfd_create("blob", MFD_CLOEXEC);
	CHECK(fd >= 0 && write(fd, buf, len) == (ssize_t)len && lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

/* Read a stream whole into out; the bytes read, or -1. */
static ssize_t slurp(struct image_stream *s, uint8_t *out, size_t cap, struct hull_err *err)
{
	size_t done = 0;
	const void *buf;
	ssize_t n;
	while ((n = image_stream_read(s, &buf, err)) > 0) {
		CHECK(done + (size_t)n <= cap);
		if (done + (size_t)n > cap)
			return -1;
		memcpy(out + done, buf, (size_t)n);
		done += (size_t)n;
	}
	return n < 0 ? -1 : (ssize_t)done;
}

/* More than the ring holds (4 x 1 MiB), so the slots are reused. */
static void test_stream_gzip(void)
{
	struct hull_err err = {0};
	size_t len = 9 << 20, cap = len + (1 << 20);
	uint8_t *data = sample(len, 6), *gz = malloc(cap), *out = malloc(cap);
	size_t half = len / 2;
	size_t n = member(gz, cap, data, half, FNAME);
	n += member(gz + n, cap - n, data + half, len - half, 0);
	int fd = memfd_with(gz, n);
	struct image_stream *s = image_stream_start(fd, IMAGE_CODEC_GZIP, true, &err);
	CHECK(s != NULL);
	if (s != NULL) {
		CHECK(slurp(s, out, cap, &err) == (ssize_t)len);
		CHECK(memcmp(out, data, len) == 0);
		bool read_failed = true;
		CHECK(image_stream_finish(s, &read_failed, &err) == 0);
		CHECK(!read_failed);
		CHECK(image_stream_hash(s)->bytes == (int64_t)n);
		CHECK(image_stream_out_hash(s)->bytes == (int64_t)len);
		image_stream_free(s);
	}
	close(fd);
	hull_err_clear(&err);
	free(data);
	free(gz);
	free(out);
}

/* A decode error reaches the reader after the bytes decoded before it, and the blob is
 * still hashed to its end (the digest check names a damaged blob). */
static void test_stream_corrupt(void)
{
	struct hull_err err = {0};
	size_t len = 3 << 20, cap = len + (1 << 20);
	uint8_t *data = sample(len, 8), *gz = malloc(cap), *out = malloc(cap);
	size_t n = member(gz, cap, data, len, 0);
	memcpy(gz + n, "garbage!", 8);
	int fd = memfd_with(gz, n + 8);
	struct image_stream *s = image_stream_start(fd, IMAGE_CODEC_GZIP, false, &err);
	CHECK(s != NULL);
	if (s != NULL) {
		CHECK(slurp(s, out, cap, &err) == -1);
		CHECK_CONTAINS(err.msg, "trailing garbage");
		bool read_failed = true;
		CHECK(image_stream_finish(s, &read_failed, &err) == -1);
		CHECK(!read_failed);
		CHECK(image_stream_hash(s)->bytes == (int64_t)(n + 8));
		image_stream_free(s);
	}
	close(fd);
	hull_err_clear(&err);
	free(data);
	free(gz);
	free(out);
}

/* The consumer gives up early, with the thread waiting for a free slot. */
static void test_stream_cancel_and_copy(void)
{
	struct hull_err err = {0};
	size_t len = 12 << 20;
	uint8_t *data = sample(len, 9), *out = malloc(len);
	int fd = memfd_with(data, len);
	struct image_stream *s = image_stream_start(fd, IMAGE_CODEC_COPY, false, &err);
	const void *buf;
	CHECK(s != NULL && image_stream_read(s, &buf, &err) > 0);
	image_stream_free(s);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	s = image_stream_start(fd, IMAGE_CODEC_COPY, false, &err);
	CHECK(s != NULL);
	if (s != NULL) {
		CHECK(slurp(s, out, len, &err) == (ssize_t)len && memcmp(out, data, len) == 0);
		bool read_failed;
		CHECK(image_stream_finish(s, &read_failed, &err) == 0);
		CHECK(image_stream_hash(s)->bytes == (int64_t)len);
		image_stream_free(s);
	}
	close(fd);
	hull_err_clear(&err);
	free(data);
	free(out);
}

int main(void)
{
	RUN(test_crc_is_gzips);
	RUN(test_one_member);
	RUN(test_members_and_header_fields);
	RUN(test_truncated);
	RUN(test_corrupt);
	RUN(test_trailing_garbage);
	RUN(test_stream_gzip);
	RUN(test_stream_corrupt);
	RUN(test_stream_cancel_and_copy);
	return unit_done();
}
