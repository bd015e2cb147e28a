/* virtio-console with a single port (virtio 1.x section 5.3, no MULTIPORT, no SIZE):
 * receiveq 0 carries host bytes to the guest, transmitq 1 the guest's bytes to the host.
 *
 * Host->guest bytes can be held back until the guest says it is ready for them (its tty
 * open and in raw mode): bytes that reach a tty before that are echoed and edited by its
 * line discipline, or flushed when it changes mode.
 *
 * Back-pressure: the host fd is read only while the guest has posted receive buffers;
 * otherwise it is taken off the event loop until the guest notifies the receive queue.
 * Transmit runs on the vCPU thread that notified: a slow reader of out_fd slows the guest
 * down instead of growing a buffer. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtio.h"

enum { RXQ = 0, TXQ = 1 };

struct vm_console {
	struct vm_virtio t;
	const struct vm_bus *bus;
	int in_fd, out_fd;
	bool in_polled; /* epoll cannot watch in_fd: read it when the guest posts buffers */
	bool in_paused; /* off the event loop for lack of receive buffers */
	bool in_eof;
	bool in_held;	   /* nothing goes to the guest before vm_console_start_input() */
	uint64_t in_bytes; /* read from in_fd into the guest's receive buffers */
	const struct vm_console_ops *ops;
	void *ctx;
	size_t npending;
	uint8_t pending[VM_CONSOLE_PENDING_MAX];
};

static void fail(struct vm_console *c, const struct hull_err *err)
{
	vm_bus_fail(c->bus, "virtio-console: %s", err->msg);
}

static void write_all(struct vm_console *c, const uint8_t *p, size_t len)
{
	while (len > 0 && c->out_fd >= 0) {
		ssize_t n = write(c->out_fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = c->out_fd, .events = POLLOUT};
			poll(&pfd, 1, 100);
		} else if (n < 0 && errno == EINTR) {
			if (c->bus->stopping(c->bus->ctx))
				return;
		} else {
			c->out_fd = -1; /* the reader is gone: drop the rest, as /dev/null would */
		}
		if (c->bus->stopping(c->bus->ctx))
			return;
	}
}

static void transmit(struct vm_console *c, struct vq *q)
{
	struct vq_chain ch;
	struct hull_err err = {0};
	bool irq = false;
	int r = 0;
	/* A guest that keeps refilling the ring from another vCPU must not keep this thread
	 * here once the VM is ending. */
	while (!c->bus->stopping(c->bus->ctx) && (r = vq_pop(q, c->bus->mem, &ch, &err)) > 0) {
		for (unsigned i = 0; i < ch.n; i++) {
			if (ch.buf[i].write)
				continue;
			if (c->ops && c->ops->tx)
				c->ops->tx(c->ctx, ch.buf[i].ptr, ch.buf[i].len);
			else
				write_all(c, ch.buf[i].ptr, ch.buf[i].len);
		}
		irq |= vq_push(q, c->bus->mem, ch.head, 0);
	}
	if (r < 0)
		fail(c, &err);
	hull_err_clear(&err);
	if (irq)
		vm_virtio_interrupt(&c->t);
}

/* Copy queued bytes into the guest's receive buffers. */
static bool flush_pending(struct vm_console *c, struct vq *q)
{
	struct vq_chain ch;
	struct hull_err err = {0};
	bool irq = false;
	while (c->npending > 0) {
		int r = vq_pop(q, c->bus->mem, &ch, &err);
		if (r < 0)
			fail(c, &err);
		if (r <= 0)
			break;
		size_t done = 0;
		for (unsigned i = 0; i < ch.n && done < c->npending; i++) {
			size_t k =
			    ch.buf[i].len < c->npending - done ? ch.buf[i].len : c->npending - done;
			if (ch.buf[i].write) {
				memcpy(ch.buf[i].ptr, c->pending + done, k);
				done += k;
			}
		}
		memmove(c->pending, c->pending + done, c->npending - done);
		c->npending -= done;
		irq |= vq_push(q, c->bus->mem, ch.head, (uint32_t)done);
	}
	hull_err_clear(&err);
	return irq;
}

static void in_ended(struct vm_console *c)
{
	c->in_eof = true;
	if (!c->in_polled && !c->in_paused)
		c->bus->rewatch(c->bus->ctx, c->in_fd, 0);
	c->in_paused = true;
	if (c->ops && c->ops->in_eof)
		c->ops->in_eof(c->ctx, c->in_bytes);
}

/* One read into one receive chain; -1 when the fd has nothing now or ended. */
static int read_once(struct vm_console *c, struct vq *q, bool *irq)
{
	struct vq_chain ch;
	struct hull_err err = {0};
	int r = vq_pop(q, c->bus->mem, &ch, &err);
	if (r < 0)
		fail(c, &err);
	hull_err_clear(&err);
	if (r <= 0)
		return -1;
	struct iovec iov[VQ_MAX_SIZE];
	int n = 0;
	for (unsigned i = 0; i < ch.n; i++)
		if (ch.buf[i].write)
			iov[n++] = (struct iovec){ch.buf[i].ptr, ch.buf[i].len};
	ssize_t got = n > 0 ? readv(c->in_fd, iov, n) : -1;
	if (got <= 0) {
		vq_unpop(q);
		if (got == 0 || (errno != EAGAIN && errno != EINTR))
			in_ended(c);
		return -1;
	}
	c->in_bytes += (uint64_t)got;
	*irq |= vq_push(q, c->bus->mem, ch.head, (uint32_t)got);
	return 0;
}

/* Read in_fd into the receive queue: once per readiness event for a watched fd (it may
 * block), until the buffers run out for a polled one (a regular file never blocks). */
static bool pump_in(struct vm_console *c, struct vq *q)
{
	bool irq = false;
	if (c->in_fd < 0 || c->in_eof || c->in_held)
		return false;
	do {
		if (!vq_has_avail(q, c->bus->mem)) {
			if (!c->in_polled && !c->in_paused) {
				c->bus->rewatch(c->bus->ctx, c->in_fd, 0);
				c->in_paused = true;
			}
			return irq;
		}
		if (c->in_paused) {
			c->in_paused = false;
			c->bus->rewatch(c->bus->ctx, c->in_fd, EPOLLIN);
			return irq; /* the event loop reads when there is something */
		}
	} while (read_once(c, q, &irq) == 0 && c->in_polled && !c->bus->stopping(c->bus->ctx));
	return irq;
}

static void receive(struct vm_console *c)
{
	struct vq *q = vm_virtio_queue(&c->t, RXQ);
	if (q && !c->in_held && (flush_pending(c, q) | pump_in(c, q)))
		vm_virtio_interrupt(&c->t);
}

static void notify(void *dev, unsigned qi)
{
	struct vm_console *c = dev;
	if (qi == TXQ)
		transmit(c, &c->t.q[TXQ]);
	else
		receive(c);
}

static void on_readable(void *dev, int fd, uint32_t events)
{
	(void)fd, (void)events;
	struct vm_console *c = dev;
	pthread_mutex_lock(&c->t.lock);
	receive(c);
	pthread_mutex_unlock(&c->t.lock);
}

static const struct vm_virtio_ops console_ops = {
    .name = "virtio-console",
    .device_id = 3,
    .features = 1ULL << VIRTIO_F_VERSION_1,
    .nqueues = 2,
    .notify = notify,
};

static int watch_in(struct vm_console *c, struct hull_err *err)
{
	if (c->in_fd < 0)
		return 0;
	struct hull_err werr = {0};
	if (c->bus->watch(c->bus->ctx, c->in_fd, EPOLLIN, on_readable, c, &werr) < 0) {
		if (werr.code != EPERM) {
			*err = werr;
			return hull_error_wrap(err, "virtio-console input");
		}
		hull_err_clear(&werr);
		c->in_polled = true; /* a regular file or /dev/null */
		return 0;
	}
	c->bus->rewatch(c->bus->ctx, c->in_fd, 0); /* until the guest posts buffers */
	c->in_paused = true;
	return 0;
}

struct vm_console *vm_console_new(const struct vm_bus *bus, unsigned irq, int in_fd, int out_fd,
				  const struct vm_console_ops *ops, void *ctx, struct hull_err *err)
{
	struct vm_console *c = calloc(1, sizeof *c);
	if (!c) {
		hull_error(err, errno, "virtio-console");
		return NULL;
	}
	c->bus = bus;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->ops = ops;
	c->ctx = ctx;
	c->in_held = ops && ops->hold_input;
	vm_virtio_init(&c->t, bus, irq, &console_ops, c);
	if (watch_in(c, err) < 0) {
		vm_console_free(c);
		return NULL;
	}
	return c;
}

void vm_console_free(struct vm_console *c)
{
	if (!c)
		return;
	vm_virtio_destroy(&c->t);
	free(c);
}

void vm_console_start_input(struct vm_console *c)
{
	pthread_mutex_lock(&c->t.lock);
	c->in_held = false;
	receive(c);
	pthread_mutex_unlock(&c->t.lock);
}

struct vm_virtio *vm_console_transport(struct vm_console *c)
{
	return &c->t;
}

int vm_console_send(struct vm_console *c, const void *buf, size_t len, size_t keep_free)
{
	int r = -1;
	pthread_mutex_lock(&c->t.lock);
	if (len <= sizeof c->pending - c->npending &&
	    keep_free <= sizeof c->pending - c->npending - len) {
		memcpy(c->pending + c->npending, buf, len);
		c->npending += len;
		receive(c);
		r = 0;
	}
	pthread_mutex_unlock(&c->t.lock);
	return r;
}
