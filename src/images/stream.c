/* The reader thread of a layer blob. Unpacking a layer is three kinds of work: reading
 * and hashing the blob, inflating it, and making the files (the tar walk and its
 * syscalls, on the caller's thread). This thread does the first two while the caller
 * does the third, and they meet in a ring of NSLOTS buffers: the thread fills a free
 * slot, the caller hands it to libarchive and gives it back when libarchive asks for
 * the next one (libarchive keeps a block until its next read callback). Memory stays at
 * a few MiB whatever the layer's size.
 *
 * Error order matters to the caller: after a decode error the thread still reads and
 * hashes the rest of the blob, so that a damaged blob is named by its digest mismatch,
 * and the error comes out of image_stream_read only after the pieces decoded before it. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gunzip.h"
#include "stream.h"

#define NSLOTS	  4
#define SLOT_SIZE (1 << 20)
#define IN_SIZE	  (1 << 20) /* gzip input read at once */

struct image_stream {
	int fd;
	enum image_codec codec;
	bool hash_out;
	struct image_hash hash, out_hash;
	struct gunzip gz;
	uint8_t *in;
	uint8_t *slot[NSLOTS];
	size_t slot_len[NSLOTS];
	pthread_t thread;
	bool started;
	/* mu guards the counters and flags below; slot i is the thread's from when
	 * produced - released < NSLOTS lets it claim it until it is published. */
	pthread_mutex_t mu;
	pthread_cond_t cv_data, cv_room;
	uint64_t produced, taken, released;
	bool holding; /* the caller still has slot (taken - 1) */
	bool done;    /* the thread has published its last slot; rerr is final */
	bool cancel;
	bool read_failed;
	struct hull_err rerr;
};

static bool cancelled(struct image_stream *s)
{
	return __atomic_load_n(&s->cancel, __ATOMIC_ACQUIRE);
}

/* Read and hash up to cap bytes; 0 at the end (or when cancelled), -1 with s->rerr. */
static ssize_t read_some(struct image_stream *s, uint8_t *buf, size_t cap)
{
	ssize_t n;
	if (cancelled(s))
		return 0;
	do
		n = read(s->fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->read_failed = true;
		return hull_error(&s->rerr, errno, "read");
	}
	image_hash_update(&s->hash, buf, (size_t)n);
	return n;
}

/* A free slot to fill, or NULL when the caller gave up. */
static uint8_t *claim(struct image_stream *s)
{
	pthread_mutex_lock(&s->mu);
	while (s->produced - s->released >= NSLOTS && !s->cancel)
		pthread_cond_wait(&s->cv_room, &s->mu);
	uint8_t *buf = s->cancel ? NULL : s->slot[s->produced % NSLOTS];
	pthread_mutex_unlock(&s->mu);
	return buf;
}

static void publish(struct image_stream *s, size_t len)
{
	size_t i = s->produced % NSLOTS; /* only this thread changes produced */
	if (s->hash_out)
		image_hash_update(&s->out_hash, s->slot[i], len);
	pthread_mutex_lock(&s->mu);
	s->slot_len[i] = len;
	s->produced++;
	pthread_cond_signal(&s->cv_data);
	pthread_mutex_unlock(&s->mu);
}

static int pump_copy(struct image_stream *s)
{
	for (;;) {
		uint8_t *buf = claim(s);
		if (buf == NULL)
			return 0;
		ssize_t n = read_some(s, buf, SLOT_SIZE);
		if (n <= 0)
			return (int)n;
		publish(s, (size_t)n);
	}
}

/* After a decode error: hash the rest of the blob for the digest check. */
static int hash_rest(struct image_stream *s)
{
	ssize_t n;
	struct hull_err keep = s->rerr;
	s->rerr = (struct hull_err){0};
	while ((n = read_some(s, s->in, IN_SIZE)) > 0)
		;
	if (n < 0) {
		hull_err_clear(&keep);
		return -1;
	}
	s->rerr = keep;
	return -1;
}

static int pump_gzip(struct image_stream *s)
{
	const uint8_t *in = NULL;
	size_t len = 0, fill = 0;
	bool eof = false;
	uint8_t *out = claim(s);
	while (out != NULL) {
		if (len == 0 && !eof) {
			ssize_t r = read_some(s, s->in, IN_SIZE);
			if (r < 0)
				return -1;
			eof = r == 0;
			in = s->in;
			len = (size_t)r;
		}
		ssize_t n = gunzip_step(&s->gz, &in, &len, out + fill, SLOT_SIZE - fill, &s->rerr);
		if (n < 0)
			return hash_rest(s);
		fill += (size_t)n;
		if (fill == SLOT_SIZE) {
			publish(s, fill);
			fill = 0;
			out = claim(s);
		} else if (n == 0 && len == 0 && eof) {
			break;
		}
	}
	if (out == NULL || cancelled(s))
		return 0;
	if (fill > 0)
		publish(s, fill);
	return gunzip_end(&s->gz, &s->rerr);
}

static void *reader_main(void *arg)
{
	struct image_stream *s = arg;
	if (s->codec == IMAGE_CODEC_GZIP)
		pump_gzip(s);
	else
		pump_copy(s);
	pthread_mutex_lock(&s->mu);
	s->done = true;
	pthread_cond_signal(&s->cv_data);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int alloc_buffers(struct image_stream *s, struct hull_err *err)
{
	for (size_t i = 0; i < NSLOTS; i++)
		if ((s->slot[i] = malloc(SLOT_SIZE)) == NULL)
			return hull_error(err, ENOMEM, "layer buffers");
	if (s->codec == IMAGE_CODEC_GZIP &&
	    ((s->in = malloc(IN_SIZE)) == NULL || gunzip_init(&s->gz, err) < 0))
		return hull_error(err, ENOMEM, "layer buffers");
	if (image_hash_init(&s->hash, err) < 0)
		return -1;
	return s->hash_out ? image_hash_init(&s->out_hash, err) : 0;
}

/* The thread takes no signals: they stay the caller's to handle. */
static int spawn(struct image_stream *s, struct hull_err *err)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&s->thread, NULL, reader_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return hull_error(err, r, "layer reader thread");
	s->started = true;
	return 0;
}

struct image_stream *image_stream_start(int fd, enum image_codec codec, bool hash_out,
					struct hull_err *err)
{
	struct image_stream *s = calloc(1, sizeof *s);
	if (s == NULL)
		return hull_error(err, ENOMEM, "layer"), NULL;
	s->fd = fd;
	s->codec = codec;
	s->hash_out = hash_out;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv_data, NULL);
	pthread_cond_init(&s->cv_room, NULL);
	if (alloc_buffers(s, err) < 0 || spawn(s, err) < 0) {
		image_stream_free(s);
		return NULL;
	}
	return s;
}

ssize_t image_stream_read(struct image_stream *s, const void **buf, struct hull_err *err)
{
	pthread_mutex_lock(&s->mu);
	if (s->holding) {
		s->released++;
		s->holding = false;
		pthread_cond_signal(&s->cv_room);
	}
	while (s->taken == s->produced && !s->done)
		pthread_cond_wait(&s->cv_data, &s->mu);
	if (s->taken < s->produced) {
		size_t i = s->taken++ % NSLOTS;
		s->holding = true;
		*buf = s->slot[i];
		pthread_mutex_unlock(&s->mu);
		return (ssize_t)s->slot_len[i];
	}
	pthread_mutex_unlock(&s->mu);
	if (s->rerr.msg != NULL)
		return hull_error(err, s->rerr.code, "%s", s->rerr.msg);
	return 0;
}

int image_stream_finish(struct image_stream *s, bool *read_failed, struct hull_err *err)
{
	const void *buf;
	ssize_t n;
	while ((n = image_stream_read(s, &buf, err)) > 0)
		;
	if (s->started) {
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	*read_failed = s->read_failed;
	return n < 0 ? -1 : 0;
}

struct image_hash *image_stream_hash(struct image_stream *s)
{
	return &s->hash;
}

struct image_hash *image_stream_out_hash(struct image_stream *s)
{
	return &s->out_hash;
}

void image_stream_free(struct image_stream *s)
{
	if (s == NULL)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		__atomic_store_n(&s->cancel, true, __ATOMIC_RELEASE);
		pthread_cond_signal(&s->cv_room);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	pthread_cond_destroy(&s->cv_room);
	pthread_cond_destroy(&s->cv_data);
	pthread_mutex_destroy(&s->mu);
	for (size_t i = 0; i < NSLOTS; i++)
		free(s->slot[i]);
	free(s->in);
	gunzip_free(&s->gz);
	image_hash_free(&s->hash);
	image_hash_free(&s->out_hash);
	hull_err_clear(&s->rerr);
	free(s);
}
