/* The container's stdin when it has no terminal: hvc0 is a tty, and a tty in raw mode never
 * reads as end-of-file, so the process reads a pipe that PID 1 fills from hvc0 and closes
 * once the host says `eof` (guest.h). Only nonblocking reads and writes, called from PID 1's
 * event loop; testable with two pipes (tests/unit/test_guest.c). */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "guest.h"

/* Reads per step: a host that writes as fast as the process reads must not keep PID 1 away
 * from reaping and from the control channel. */
#define RELAY_READS_PER_STEP 16

void guest_relay_init(struct guest_relay *r, int in_fd, int out_fd)
{
	*r = (struct guest_relay){.in_fd = in_fd, .out_fd = out_fd};
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void guest_relay_close(struct guest_relay *r)
{
	close_fd(&r->in_fd);
	close_fd(&r->out_fd);
	r->len = 0;
}

void guest_relay_eof(struct guest_relay *r, int64_t now_ms)
{
	if (r->eof)
		return;
	r->eof = true;
	r->quiet_since_ms = now_ms;
}

/* Closing the write end is what the process sees as end-of-file: only once every byte read
 * is in the pipe, and once hvc0 has stayed quiet for GUEST_EOF_GRACE_MS of reading it after
 * the host's `eof`. The VMM puts the last stdin bytes in hvc0's queue before it sends `eof`
 * on hvc2, but the guest kernel may hand hvc2's line to us first: hvc_poll() takes at most
 * 128 bytes in the interrupt and leaves the rest to the khvcd thread (drivers/tty/hvc/
 * hvc_console.c), which under QEMU's TCG brought the next bytes 13-35 ms after we had read
 * the `eof`. A hung-up hvc0 has nothing more to give: no grace. */
static bool may_close(const struct guest_relay *r, int64_t now_ms)
{
	return r->out_fd >= 0 && r->eof && r->len == 0 &&
	       (r->in_fd < 0 || now_ms - r->quiet_since_ms >= GUEST_EOF_GRACE_MS);
}

short guest_relay_in_events(const struct guest_relay *r)
{
	return r->in_fd >= 0 && r->out_fd >= 0 && r->len == 0 ? POLLIN : 0;
}

short guest_relay_out_events(const struct guest_relay *r)
{
	return r->out_fd >= 0 && r->len > 0 ? POLLOUT : 0;
}

int guest_relay_timeout(const struct guest_relay *r, int64_t now_ms)
{
	if (r->out_fd < 0 || !r->eof || r->len > 0)
		return -1;
	int64_t left = r->quiet_since_ms + GUEST_EOF_GRACE_MS - now_ms;
	return r->in_fd < 0 || left < 0 ? 0 : (int)left;
}

/* Returns false when nothing more can be written now (the pipe is full, or gone). */
static bool write_some(struct guest_relay *r, int64_t now_ms)
{
	ssize_t n = write(r->out_fd, r->buf + r->off, r->len);
	if (n > 0) {
		r->off += (size_t)n;
		r->len -= (size_t)n;
		/* hvc0 was not read while the pipe was full (its tty may have throttled the
		 * driver): the quiet time starts again now that it is read again. */
		if (r->len == 0)
			r->quiet_since_ms = now_ms;
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	/* EPIPE: no process holds stdin open any more. Stop reading hvc0 too, so that the
	 * host's writer is held back as by a full pipe instead of fed into nothing. */
	guest_relay_close(r);
	return false;
}

/* Returns false when hvc0 has nothing now, or has ended. */
static bool read_some(struct guest_relay *r, int64_t now_ms)
{
	ssize_t n = read(r->in_fd, r->buf, sizeof r->buf);
	if (n > 0) {
		r->off = 0;
		r->len = (size_t)n;
		r->quiet_since_ms = now_ms;
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	/* 0 or EIO: hvc0 was hung up (the host side is gone); what was read still goes. */
	close_fd(&r->in_fd);
	r->eof = true;
	return false;
}

void guest_relay_step(struct guest_relay *r, int64_t now_ms)
{
	for (int reads = 0; r->out_fd >= 0;) {
		if (r->len > 0) {
			if (!write_some(r, now_ms))
				break;
		} else if (r->in_fd < 0 || reads++ == RELAY_READS_PER_STEP ||
			   !read_some(r, now_ms)) {
			break;
		}
	}
	if (may_close(r, now_ms))
		guest_relay_close(r);
}
