/* The container's stdin when it has no terminal: hvc0 is a tty, and a tty in raw mode never
 * reads as end-of-file, so the process reads a pipe that PID 1 fills from hvc0 and closes
 * once it has relayed the N bytes of the host's `eof N` (guest.h). Only nonblocking reads
 * and writes, called from PID 1's event loop; testable with two pipes
 * (tests/unit/test_guest.c).
 *
 * Why a count and not the order of arrival: the VMM puts the last stdin bytes in hvc0's
 * queue before it sends `eof N` on hvc2, but the guest kernel may hand hvc2's line to us
 * first: hvc_poll() takes at most 128 bytes in the interrupt and leaves the rest to the
 * khvcd thread (drivers/tty/hvc/hvc_console.c), which under QEMU's TCG brought the next
 * bytes 13-35 ms after we had read the `eof`. No timer can tell "late" from "none". */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "guest.h"

/* Reads per step: a host that writes as fast as the process reads must not keep PID 1 away
 * from reaping and from the control channel. */
#define RELAY_READS_PER_STEP 16

void guest_relay_init(struct guest_relay *r, int in_fd, int out_fd, int log_fd)
{
	*r = (struct guest_relay){.in_fd = in_fd, .out_fd = out_fd, .log_fd = log_fd};
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

/* Bytes past the host's count: a VMM bug, not the process's input. One line, the first
 * time, and the bytes are dropped (those already in the pipe cannot be). */
static void excess(struct guest_relay *r, uint64_t n)
{
	if (n == 0)
		return;
	if (r->excess == 0 && r->log_fd >= 0) {
		char line[160];
		int k = snprintf(line, sizeof line,
				 "hull-guest-init: stdin: more bytes than the host's \"eof %" PRIu64
				 "\"; the rest is dropped\n",
				 r->total);
		if (k > 0 && write(r->log_fd, line, (size_t)k) < 0) {
			/* nowhere else to say it */
		}
	}
	r->excess += n;
}

void guest_relay_eof(struct guest_relay *r, uint64_t total)
{
	if (r->eof)
		return; /* a second "eof", or after a hang-up: the first end stands */
	r->eof = true;
	r->total = total;
	if (r->got > total) {
		/* Read before the line came: drop what is not in the pipe yet. */
		uint64_t over = r->got - total;
		r->len -= over < r->len ? (size_t)over : r->len;
		excess(r, over);
	}
}

/* Closing the write end is what the process sees as end-of-file: once the host's N bytes
 * are all in the pipe, or a hung-up hvc0 has nothing more to give. */
static bool may_close(const struct guest_relay *r)
{
	return r->out_fd >= 0 && r->eof && r->len == 0 && (r->got >= r->total || r->in_fd < 0);
}

/* After the pipe closed at the host's count, hvc0 is still read so that what comes past it
 * is dropped and reported instead of sitting unseen in the tty. */
short guest_relay_in_events(const struct guest_relay *r)
{
	return r->in_fd >= 0 && (r->out_fd >= 0 || r->eof) && r->len == 0 ? POLLIN : 0;
}

short guest_relay_out_events(const struct guest_relay *r)
{
	return r->out_fd >= 0 && r->len > 0 ? POLLOUT : 0;
}

/* Returns false when nothing more can be written now (the pipe is full, or gone). */
static bool write_some(struct guest_relay *r)
{
	ssize_t n = write(r->out_fd, r->buf + r->off, r->len);
	if (n > 0) {
		r->off += (size_t)n;
		r->len -= (size_t)n;
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
static bool read_some(struct guest_relay *r)
{
	ssize_t n = read(r->in_fd, r->buf, sizeof r->buf);
	if (n > 0) {
		uint64_t keep = (uint64_t)n;
		if (r->eof) {
			uint64_t left = r->got < r->total ? r->total - r->got : 0;
			keep = keep < left ? keep : left;
		}
		r->got += (uint64_t)n;
		r->off = 0;
		r->len = r->out_fd >= 0 ? (size_t)keep : 0;
		excess(r, (uint64_t)n - keep);
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	/* 0 or EIO: hvc0 was hung up (the host side is gone); what was read still goes, and
	 * nothing more will come, whatever the count said. */
	close_fd(&r->in_fd);
	if (!r->eof) {
		r->eof = true;
		r->total = r->got;
	}
	return false;
}

void guest_relay_step(struct guest_relay *r)
{
	for (int reads = 0;;) {
		if (r->len > 0) {
			if (!write_some(r))
				break;
		} else if (may_close(r)) {
			close_fd(&r->out_fd);
		} else if (!guest_relay_in_events(r) || reads++ == RELAY_READS_PER_STEP ||
			   !read_some(r)) {
			break;
		}
	}
	if (may_close(r))
		close_fd(&r->out_fd);
}
