/* Private to src/images: a layer blob read, hashed and decoded by a thread of its own,
 * handed to the tar reader in large pieces through a small ring of buffers, so that
 * reading, SHA-256, inflating and writing the files overlap. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "internal.h"

enum image_codec {
	IMAGE_CODEC_COPY, /* the blob's bytes as they are (plain tar; zstd for libarchive) */
	IMAGE_CODEC_GZIP, /* gzip, decoded with igzip (gunzip.c) */
};

struct image_stream;

/* Start reading fd (which stays the caller's, open until image_stream_free) from its
 * current offset. hash_out: also hash the decoded bytes (a docker-archive's diff_id). */
struct image_stream *image_stream_start(int fd, enum image_codec codec, bool hash_out,
					struct hull_err *err);

/* The next piece of the decoded bytes, valid until the next call: its length, 0 at the
 * end, -1 with err when reading or decoding failed (the same error on every later call). */
ssize_t image_stream_read(struct image_stream *s, const void **buf, struct hull_err *err);

/* Read what the consumer left to the end (decoding it, so a damaged end is found) and
 * wait for the reader. Then the hashes are whole: of the blob as stored, and of the
 * decoded bytes when hash_out was asked. -1 with err when reading or decoding failed;
 * the hashes still cover every byte of the blob unless reading itself failed
 * (*read_failed set). */
int image_stream_finish(struct image_stream *s, bool *read_failed, struct hull_err *err);
struct image_hash *image_stream_hash(struct image_stream *s);
struct image_hash *image_stream_out_hash(struct image_stream *s);

/* Stop the reader (at once, when the consumer gave up) and free everything. */
void image_stream_free(struct image_stream *s);
