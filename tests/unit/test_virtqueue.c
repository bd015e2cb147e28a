/* The split virtqueue core, the virtio-mmio register file and virtio-console, against a
 * simulated guest memory and a fake bus. Each hostile ring must end in the failure path
 * with a message (no crash: the sanitizer build runs this too). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "microvm/virtio.h"
#include "unit.h"

#define MEM_SIZE (1ULL << 20)
#define DESC	 0x1000
#define AVAIL	 0x2000
#define USED	 0x3000
#define BUF	 0x10000

/* The fake VM behind the bus. */
static struct {
	struct vm_mem mem;
	char fail[512];
	unsigned irqs, resets;
	int watch_errno; /* what watch() fails with, 0 for success */
	vm_fd_cb cb;
	void *cb_dev;
	int cb_fd;
	uint32_t events;
	bool eof;
	uint64_t eof_bytes;
} fake;

static void f_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx, (void)irq;
	fake.irqs += level;
}
static void f_fail(void *ctx, const char *msg)
{
	(void)ctx;
	if (!fake.fail[0])
		snprintf(fake.fail, sizeof fake.fail, "%s", msg);
}
static void f_reset(void *ctx)
{
	(void)ctx;
	fake.resets++;
}
static bool f_stopping(void *ctx)
{
	(void)ctx;
	return fake.fail[0] != 0;
}
static int f_watch(void *ctx, int fd, uint32_t events, vm_fd_cb cb, void *dev, struct hull_err *err)
{
	(void)ctx;
	if (fake.watch_errno)
		return hull_error(err, fake.watch_errno, "watch");
	fake.cb = cb;
	fake.cb_dev = dev;
	fake.cb_fd = fd;
	fake.events = events;
	return 0;
}
static void f_rewatch(void *ctx, int fd, uint32_t events)
{
	(void)ctx, (void)fd;
	fake.events = events;
}

static struct vm_bus bus = {.mem = &fake.mem,
			    .irq_set = f_irq,
			    .fail = f_fail,
			    .reset = f_reset,
			    .stopping = f_stopping,
			    .watch = f_watch,
			    .rewatch = f_rewatch};

static void reset_fake(void)
{
	if (!fake.mem.base)
		fake.mem.base = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(fake.mem.base, 0, MEM_SIZE);
	uint8_t *base = fake.mem.base;
	memset(&fake, 0, sizeof fake);
	fake.mem = (struct vm_mem){.base = base, .size = MEM_SIZE};
}

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};
	memcpy(fake.mem.base + DESC + 16 * i, &d, sizeof d);
}
static void put16(uint64_t a, uint16_t v)
{
	memcpy(fake.mem.base + a, &v, 2);
}
static uint16_t get16(uint64_t a)
{
	uint16_t v;
	memcpy(&v, fake.mem.base + a, 2);
	return v;
}
static uint32_t get32(uint64_t a)
{
	uint32_t v;
	memcpy(&v, fake.mem.base + a, 4);
	return v;
}

/* Make chain `head` available as the n-th avail entry. */
static void offer(uint16_t n, uint16_t head, uint32_t num)
{
	put16(AVAIL + 4 + 2 * (n % num), head);
	put16(AVAIL + 2, (uint16_t)(n + 1));
}

static struct vq queue(uint32_t num)
{
	struct vq q = {.num = num, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED};
	struct hull_err err = {0};
	if (vq_check(&q, &fake.mem, &err) == 0)
		q.ready = true;
	hull_err_clear(&err);
	return q;
}

static void test_normal_chain(void)
{
	reset_fake();
	struct vq q = queue(8);
	struct vq_chain c;
	struct hull_err err = {0};
	CHECK(q.ready);
	CHECK(!vq_has_avail(&q, &fake.mem));
	put_desc(3, BUF, 5, VIRTQ_DESC_F_NEXT, 6);
	put_desc(6, BUF + 0x1000, 100, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 3, 8);
	CHECK(vq_has_avail(&q, &fake.mem));
	CHECK(vq_pop(&q, &fake.mem, &c, &err) == 1);
	CHECK(c.head == 3 && c.n == 2);
	CHECK(c.buf[0].ptr == fake.mem.base + BUF && c.buf[0].len == 5 && !c.buf[0].write);
	CHECK(c.buf[1].ptr == fake.mem.base + BUF + 0x1000 && c.buf[1].write);
	CHECK(vq_pop(&q, &fake.mem, &c, &err) == 0);
	CHECK(vq_push(&q, &fake.mem, 3, 42));
	CHECK(get16(USED + 2) == 1 && get32(USED + 4) == 3 && get32(USED + 8) == 42);
	put16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK(!vq_push(&q, &fake.mem, 3, 1));
	/* a chain that ends exactly at the end of RAM is fine */
	put_desc(0, MEM_SIZE - 16, 16, 0, 0);
	offer(1, 0, 8);
	CHECK(vq_pop(&q, &fake.mem, &c, &err) == 1 && c.buf[0].len == 16);
	/* wrap-around of the 16-bit indexes */
	q.last_avail = 0xffff;
	put16(AVAIL + 4 + 2 * 7, 0);
	put16(AVAIL + 2, 0);
	CHECK(vq_pop(&q, &fake.mem, &c, &err) == 1 && q.last_avail == 0);
	CHECK(err.msg == NULL);
}

/* One hostile chain at head 0 must fail with `want`, and leave the queue where it was. */
static void check_hostile(struct vq *q, const char *want)
{
	struct vq_chain c;
	struct hull_err err = {0};
	uint16_t before = q->last_avail;
	CHECK(vq_pop(q, &fake.mem, &c, &err) == -1);
	CHECK_CONTAINS(err.msg, want);
	CHECK(q->last_avail == before);
	hull_err_clear(&err);
}

static void test_hostile_chains(void)
{
	reset_fake();
	struct vq q = queue(8);
	offer(0, 0, 8);
	put_desc(0, MEM_SIZE - 8, 16, 0, 0); /* crosses the end of RAM */
	check_hostile(&q, "outside guest memory");
	put_desc(0, UINT64_MAX - 4, 64, 0, 0); /* address + length overflows */
	check_hostile(&q, "outside guest memory");
	put_desc(0, MEM_SIZE, 1, 0, 0);
	check_hostile(&q, "outside guest memory");
	put_desc(0, BUF, 0, 0, 0);
	check_hostile(&q, "zero-length");
	put_desc(0, BUF, 8, VIRTQ_DESC_F_NEXT, 1); /* 0 -> 1 -> 0 ... */
	put_desc(1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
	check_hostile(&q, "longer than the queue");
	put_desc(0, BUF, 8, VIRTQ_DESC_F_NEXT, 0); /* a descriptor naming itself */
	check_hostile(&q, "longer than the queue");
	for (unsigned i = 0; i < 8; i++) /* 8 distinct links, then back to the start */
		put_desc(i, BUF, 8, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % 8));
	check_hostile(&q, "longer than the queue");
	put_desc(0, BUF, 8, VIRTQ_DESC_F_NEXT, 8);
	check_hostile(&q, "past the queue");
	put_desc(0, BUF, 8, VIRTQ_DESC_F_INDIRECT, 0);
	check_hostile(&q, "indirect");
	put_desc(0, BUF, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, BUF, 8, 0, 0);
	check_hostile(&q, "readable descriptor after a writable");
	put_desc(0, BUF, 8, 0, 0);
	put16(AVAIL + 4, 9); /* the avail ring names descriptor 9 of 8 */
	check_hostile(&q, "names descriptor 9");
	put16(AVAIL + 4, 0);
	put16(AVAIL + 2, 9); /* the avail index jumps by more than the queue size */
	check_hostile(&q, "jumped by 9");
	put16(AVAIL + 2, 0xffff);
	check_hostile(&q, "jumped by 65535");
}

static void check_bad_queue(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used,
			    const char *want)
{
	struct vq q = {.num = num, .desc_gpa = desc, .avail_gpa = avail, .used_gpa = used};
	struct hull_err err = {0};
	CHECK(vq_check(&q, &fake.mem, &err) < 0);
	CHECK_CONTAINS(err.msg, want);
	hull_err_clear(&err);
}

static void test_bad_queues(void)
{
	reset_fake();
	check_bad_queue(0, DESC, AVAIL, USED, "queue size 0");
	check_bad_queue(3, DESC, AVAIL, USED, "queue size 3");
	check_bad_queue(512, DESC, AVAIL, USED, "queue size 512");
	check_bad_queue(0x10100, DESC, AVAIL, USED, "queue size 65792");
	check_bad_queue(8, DESC + 8, AVAIL, USED, "misaligned");
	check_bad_queue(8, DESC, AVAIL + 1, USED, "misaligned");
	check_bad_queue(8, DESC, AVAIL, USED + 2, "misaligned");
	check_bad_queue(256, MEM_SIZE - 16 * 255, AVAIL, USED, "outside guest memory");
	check_bad_queue(8, DESC, MEM_SIZE - 4, USED, "outside guest memory");
	check_bad_queue(8, DESC, AVAIL, UINT64_MAX - 3, "outside guest memory");
	struct vq q = queue(256);
	CHECK(q.ready);
}

/* The virtio-mmio register file. */
static unsigned notified[4];
static unsigned dev_resets;
static void t_notify(void *dev, unsigned q)
{
	(void)dev;
	notified[q]++;
}
static void t_reset(void *dev)
{
	(void)dev;
	dev_resets++;
}
static const struct vm_virtio_ops test_ops = {.name = "virtio-test",
					      .device_id = 3,
					      .features = 1ULL << VIRTIO_F_VERSION_1 | 1,
					      .nqueues = 2,
					      .notify = t_notify,
					      .reset = t_reset};

static uint32_t rd(struct vm_virtio *t, uint64_t off)
{
	uint8_t d[4];
	vm_virtio_mmio_ops.read(t, off, d, 4);
	return (uint32_t)vm_le_get(d, 4);
}
static void wr(struct vm_virtio *t, uint64_t off, uint32_t v)
{
	uint8_t d[4];
	vm_le_put(d, 4, v);
	vm_virtio_mmio_ops.write(t, off, d, 4);
}

static void setup_queue(struct vm_virtio *t, unsigned sel, uint32_t num)
{
	wr(t, 0x030, sel);
	wr(t, 0x038, num);
	wr(t, 0x080, DESC);
	wr(t, 0x084, 0);
	wr(t, 0x090, AVAIL);
	wr(t, 0x094, 0);
	wr(t, 0x0a0, USED);
	wr(t, 0x0a4, 0);
	wr(t, 0x044, 1);
}

static void negotiate(struct vm_virtio *t, uint32_t lo, uint32_t hi)
{
	wr(t, 0x070, 0);
	wr(t, 0x070, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(t, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(t, 0x024, 0);
	wr(t, 0x020, lo);
	wr(t, 0x024, 1);
	wr(t, 0x020, hi);
	wr(t, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void test_mmio_registers(void)
{
	reset_fake();
	struct vm_virtio t;
	vm_virtio_init(&t, &bus, 5, &test_ops, NULL);
	CHECK(rd(&t, 0x000) == 0x74726976 && rd(&t, 0x004) == 2 && rd(&t, 0x008) == 3);
	wr(&t, 0x014, 0);
	CHECK(rd(&t, 0x010) == 1);
	wr(&t, 0x014, 1);
	CHECK(rd(&t, 0x010) == 1); /* VERSION_1 is bit 32 */
	wr(&t, 0x014, 2);
	CHECK(rd(&t, 0x010) == 0);
	negotiate(&t, 0, 0); /* no VERSION_1: no FEATURES_OK */
	CHECK(!(rd(&t, 0x070) & VIRTIO_STATUS_FEATURES_OK));
	negotiate(&t, 2, 1); /* a feature not offered */
	CHECK(!(rd(&t, 0x070) & VIRTIO_STATUS_FEATURES_OK));
	negotiate(&t, 1, 1);
	CHECK(rd(&t, 0x070) & VIRTIO_STATUS_FEATURES_OK);
	wr(&t, 0x030, 0);
	CHECK(rd(&t, 0x034) == VQ_MAX_SIZE);
	wr(&t, 0x030, 2);
	CHECK(rd(&t, 0x034) == 0);
	setup_queue(&t, 0, 8);
	CHECK(rd(&t, 0x044) == 1 && t.q[0].ready && t.q[0].desc_gpa == DESC);
	wr(&t, 0x080, 0x5000); /* a live queue's layout cannot change */
	CHECK(t.q[0].desc_gpa == DESC);
	wr(&t, 0x050, 0);
	CHECK(notified[0] == 0); /* not before DRIVER_OK */
	wr(&t, 0x070, 0xf);
	wr(&t, 0x050, 0);
	wr(&t, 0x050, 1); /* queue 1 not ready */
	wr(&t, 0x050, 7); /* no such queue */
	CHECK(notified[0] == 1 && notified[1] == 0);
	uint8_t b[2] = {0};
	vm_virtio_mmio_ops.write(&t, 0x050, b, 2); /* not a 32-bit access: dropped */
	CHECK(notified[0] == 1);
	vm_virtio_interrupt(&t);
	CHECK(rd(&t, 0x060) == 1 && fake.irqs == 1);
	wr(&t, 0x064, 1);
	CHECK(rd(&t, 0x060) == 0);
	wr(&t, 0x070, 0);
	CHECK(rd(&t, 0x070) == 0 && !t.q[0].ready && dev_resets > 0);
	CHECK(!fake.fail[0]);
	setup_queue(&t, 1, 3);
	CHECK(rd(&t, 0x044) == 0);
	CHECK_CONTAINS(fake.fail, "virtio-test: queue 1: queue size 3");
	vm_virtio_destroy(&t);
}

static void driver_ok(struct vm_virtio *t)
{
	negotiate(t, 0, 1);
	setup_queue(t, 0, 8);
	wr(t, 0x030, 1);
	wr(t, 0x080, DESC + 0x800);
	wr(t, 0x090, AVAIL + 0x800);
	wr(t, 0x0a0, USED + 0x800);
	wr(t, 0x038, 8);
	wr(t, 0x044, 1);
	wr(t, 0x070, 0xf);
}

/* Queue 1 of driver_ok() lives 0x800 above queue 0. */
static void put_desc_q(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct virtq_desc d = {.addr = addr, .len = len, .flags = flags};
	memcpy(fake.mem.base + DESC + 0x800 * q + 16 * i, &d, sizeof d);
}
static void offer_q(unsigned q, uint16_t n, uint16_t head)
{
	put16(AVAIL + 0x800 * q + 4 + 2 * (n % 8), head);
	put16(AVAIL + 0x800 * q + 2, (uint16_t)(n + 1));
}
static uint32_t used_len(unsigned q, unsigned n)
{
	return get32(USED + 0x800 * q + 4 + 8 * n + 4);
}

static void on_eof(void *ctx, uint64_t bytes)
{
	(void)ctx;
	fake.eof = true;
	fake.eof_bytes = bytes;
}
static const struct vm_console_ops eof_ops = {.in_eof = on_eof};
static const struct vm_console_ops held_ops = {.in_eof = on_eof, .hold_input = true};

static void test_console_tx(void)
{
	reset_fake();
	int p[2];
	CHECK(pipe2(p, O_NONBLOCK) == 0);
	struct hull_err err = {0};
	struct vm_console *c = vm_console_new(&bus, 5, -1, p[1], NULL, NULL, &err);
	struct vm_virtio *t = vm_console_transport(c);
	driver_ok(t);
	memcpy(fake.mem.base + BUF, "hello world", 11);
	put_desc_q(1, 0, BUF, 5, 0);
	offer_q(1, 0, 0);
	wr(t, 0x050, 1);
	char out[32] = {0};
	CHECK(read(p[0], out, sizeof out) == 5 && !strcmp(out, "hello"));
	CHECK(get16(USED + 0x800 + 2) == 1 && fake.irqs == 1 && !fake.fail[0]);
	put_desc_q(1, 1, BUF, 0, 0);
	offer_q(1, 1, 1);
	wr(t, 0x050, 1);
	CHECK_CONTAINS(fake.fail, "virtio-console: zero-length descriptor");
	vm_console_free(c);
	close(p[0]);
	close(p[1]);
}

static void test_console_rx_watched(void)
{
	reset_fake();
	int p[2];
	CHECK(pipe2(p, O_NONBLOCK) == 0);
	struct hull_err err = {0};
	struct vm_console *c = vm_console_new(&bus, 5, p[0], -1, &eof_ops, NULL, &err);
	struct vm_virtio *t = vm_console_transport(c);
	CHECK(fake.cb && fake.cb_fd == p[0] && fake.events == 0); /* paused: no buffers yet */
	driver_ok(t);
	CHECK(write(p[1], "hi", 2) == 2);
	put_desc_q(0, 0, BUF, 64, VIRTQ_DESC_F_WRITE);
	offer_q(0, 0, 0);
	wr(t, 0x050, 0);
	CHECK(fake.events == EPOLLIN); /* buffers: watch the fd again */
	fake.cb(fake.cb_dev, p[0], EPOLLIN);
	CHECK(used_len(0, 0) == 2 && !memcmp(fake.mem.base + BUF, "hi", 2));
	CHECK(write(p[1], "x", 1) == 1);
	fake.cb(fake.cb_dev, p[0], EPOLLIN);
	CHECK(fake.events == 0); /* no buffer left: back-pressure */
	CHECK(get16(USED + 2) == 1);
	close(p[1]);
	put_desc_q(0, 1, BUF + 100, 64, VIRTQ_DESC_F_WRITE);
	offer_q(0, 1, 1);
	wr(t, 0x050, 0);
	fake.cb(fake.cb_dev, p[0], EPOLLIN);
	CHECK(used_len(0, 1) == 1 && fake.mem.base[BUF + 100] == 'x');
	CHECK(!fake.eof);
	put_desc_q(0, 2, BUF + 200, 64, VIRTQ_DESC_F_WRITE);
	offer_q(0, 2, 2);
	wr(t, 0x050, 0);
	fake.cb(fake.cb_dev, p[0], EPOLLIN | EPOLLHUP);
	CHECK(fake.eof && fake.events == 0 && fake.eof_bytes == 3);
	CHECK(get16(USED + 2) == 2); /* the buffer stays with the device, unused */
	CHECK(!fake.fail[0]);
	vm_console_free(c);
	close(p[0]);
}

/* Held input is not read, whatever buffers the guest posts, until started. */
static void test_console_rx_held(void)
{
	reset_fake();
	fake.watch_errno = EPERM;
	char path[] = "/tmp/hull-test-vq-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	CHECK(write(fd, "abc", 3) == 3 && lseek(fd, 0, SEEK_SET) == 0);
	struct hull_err err = {0};
	struct vm_console *c = vm_console_new(&bus, 5, fd, -1, &held_ops, NULL, &err);
	struct vm_virtio *t = vm_console_transport(c);
	driver_ok(t);
	put_desc_q(0, 0, BUF, 8, VIRTQ_DESC_F_WRITE);
	offer_q(0, 0, 0);
	wr(t, 0x050, 0);
	CHECK(get16(USED + 2) == 0 && !fake.eof);
	vm_console_start_input(c);
	CHECK(get16(USED + 2) == 1 && used_len(0, 0) == 3);
	CHECK(!memcmp(fake.mem.base + BUF, "abc", 3));
	CHECK(!fake.eof); /* the end shows when there is a buffer to read it into */
	put_desc_q(0, 1, BUF + 8, 8, VIRTQ_DESC_F_WRITE);
	offer_q(0, 1, 1);
	wr(t, 0x050, 0);
	CHECK(fake.eof && get16(USED + 2) == 1 && fake.eof_bytes == 3);
	vm_console_free(c);
	close(fd);
}

static void test_console_rx_polled(void)
{
	reset_fake();
	fake.watch_errno = EPERM; /* a regular file: epoll refuses it */
	char path[] = "/tmp/hull-test-vq-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	CHECK(write(fd, "abc", 3) == 3 && lseek(fd, 0, SEEK_SET) == 0);
	struct hull_err err = {0};
	struct vm_console *c = vm_console_new(&bus, 5, fd, -1, &eof_ops, NULL, &err);
	CHECK(c != NULL);
	struct vm_virtio *t = vm_console_transport(c);
	driver_ok(t);
	put_desc_q(0, 0, BUF, 2, VIRTQ_DESC_F_WRITE);
	put_desc_q(0, 1, BUF + 16, 2, VIRTQ_DESC_F_WRITE);
	put_desc_q(0, 2, BUF + 32, 2, VIRTQ_DESC_F_WRITE);
	offer_q(0, 0, 0);
	offer_q(0, 1, 1);
	offer_q(0, 2, 2);
	wr(t, 0x050, 0);
	CHECK(get16(USED + 2) == 2 && used_len(0, 0) == 2 && used_len(0, 1) == 1);
	CHECK(!memcmp(fake.mem.base + BUF, "ab", 2) && fake.mem.base[BUF + 16] == 'c');
	CHECK(fake.eof && fake.eof_bytes == 3 && !fake.fail[0]);
	/* a receive buffer outside RAM ends the VM */
	vm_console_free(c);
	reset_fake();
	fake.watch_errno = EPERM;
	lseek(fd, 0, SEEK_SET);
	c = vm_console_new(&bus, 5, fd, -1, &eof_ops, NULL, &err);
	t = vm_console_transport(c);
	driver_ok(t);
	put_desc_q(0, 0, MEM_SIZE - 1, 2, VIRTQ_DESC_F_WRITE);
	offer_q(0, 0, 0);
	wr(t, 0x050, 0);
	CHECK_CONTAINS(fake.fail, "virtio-console: descriptor outside guest memory");
	vm_console_free(c);
	close(fd);
	reset_fake();
	fake.watch_errno = EBADF;
	CHECK(vm_console_new(&bus, 5, 12345, -1, NULL, NULL, &err) == NULL);
	CHECK_CONTAINS(err.msg, "virtio-console input");
	hull_err_clear(&err);
}

static void test_control_lines(void)
{
	struct vm_control_status st = {.code = -1, .signo = -1};
	vm_control_parse_line("exit 3", &st);
	CHECK(st.have && st.exited && st.code == 3 && st.signo == 0 && !st.ready);
	vm_control_parse_line("signaled 9", &st);
	CHECK(st.have && !st.exited && st.code == 0 && st.signo == 9);
	vm_control_parse_line("exit 256", &st);
	vm_control_parse_line("exit -1", &st);
	vm_control_parse_line("exit 3x", &st);
	vm_control_parse_line("exit ", &st);
	vm_control_parse_line("signaled 0", &st);
	vm_control_parse_line("hello", &st);
	vm_control_parse_line("ready now", &st);
	CHECK(!st.exited && st.signo == 9 && !st.ready);
	vm_control_parse_line("ready", &st);
	CHECK(st.ready);
	st = (struct vm_control_status){0};
	vm_control_parse_line("exit 99999999999999999999", &st);
	CHECK(!st.have);
}

static unsigned readies;
static void on_ready(void *ctx)
{
	(void)ctx;
	readies++;
}

static void test_control_channel(void)
{
	reset_fake();
	struct hull_err err = {0};
	struct vm_control *c = vm_control_new(&bus, 7, on_ready, NULL, &err);
	struct vm_virtio *t = vm_control_transport(c);
	bool exited;
	int code, signo;
	CHECK(!vm_control_result(c, &exited, &code, &signo));
	vm_control_send_signal(c, 15);
	vm_control_send_winsize(c, 24, 80);
	driver_ok(t);
	put_desc_q(0, 0, BUF, 64, VIRTQ_DESC_F_WRITE);
	offer_q(0, 0, 0);
	wr(t, 0x050, 0);
	CHECK(get16(USED + 2) == 0); /* held until the guest is ready */
	memcpy(fake.mem.base + BUF + 0x3000, "ready\n", 6);
	put_desc_q(1, 4, BUF + 0x3000, 6, 0);
	offer_q(1, 0, 4);
	wr(t, 0x050, 1);
	CHECK(readies == 1 && get16(USED + 2) == 0);
	vm_control_start(c); /* what vm.c's event loop does on `ready` */
	CHECK(used_len(0, 0) == 24 &&
	      !memcmp(fake.mem.base + BUF, "signal 15\nwinsize 24 80\n", 24));
	vm_control_send_eof(c, 123); /* with no buffer: waits */
	put_desc_q(0, 1, BUF + 64, 4, VIRTQ_DESC_F_WRITE);
	put_desc_q(0, 2, BUF + 80, 4, VIRTQ_DESC_F_WRITE);
	offer_q(0, 1, 1);
	offer_q(0, 2, 2);
	wr(t, 0x050, 0);
	CHECK(used_len(0, 1) == 4 && !memcmp(fake.mem.base + BUF + 64, "eof ", 4) &&
	      used_len(0, 2) == 4 && !memcmp(fake.mem.base + BUF + 80, "123\n", 4));
	const char *lines = "noise\nexit 3\nready\nsig";
	memcpy(fake.mem.base + BUF + 0x1000, lines, strlen(lines));
	memcpy(fake.mem.base + BUF + 0x1100, "naled 9\n", 8);
	put_desc_q(1, 0, BUF + 0x1000, (uint32_t)strlen(lines), VIRTQ_DESC_F_NEXT);
	put_desc_q(1, 1, BUF + 0x1100, 8, 0);
	memcpy(fake.mem.base + DESC + 0x800 + 14, &(uint16_t){1}, 2); /* d0.next = 1 */
	offer_q(1, 1, 0);
	wr(t, 0x050, 1);
	CHECK(vm_control_result(c, &exited, &code, &signo) && !exited && signo == 9);
	CHECK(readies == 1); /* once, however often the guest says it */
	char big[300];
	memset(big, 'x', sizeof big);
	memcpy(big, "exit 4", 6); /* an overlong line is ignored whole */
	big[sizeof big - 1] = '\n';
	memcpy(fake.mem.base + BUF + 0x2000, big, sizeof big);
	memcpy(fake.mem.base + BUF + 0x2200, "exit 5\n", 7);
	put_desc_q(1, 2, BUF + 0x2000, sizeof big, 0);
	put_desc_q(1, 3, BUF + 0x2200, 7, 0);
	offer_q(1, 2, 2);
	offer_q(1, 3, 3);
	wr(t, 0x050, 1);
	CHECK(vm_control_result(c, &exited, &code, &signo) && exited && code == 5);
	CHECK(!fake.fail[0]);
	vm_control_free(c);
}

/* What vm.c wires up: the end of hvc0's held input sends `eof N` on the control channel with
 * the bytes that went into the guest's buffers, and no flood of other lines crowds it out. */
static void send_eof(void *ctx, uint64_t bytes)
{
	vm_control_send_eof(ctx, bytes);
}
static const struct vm_console_ops stdio_ops = {.in_eof = send_eof, .hold_input = true};

static void test_control_eof_count(void)
{
	reset_fake();
	fake.watch_errno = EPERM;
	char path[] = "/tmp/hull-test-vq-XXXXXX", data[300];
	int fd = mkstemp(path);
	unlink(path);
	memset(data, 'd', sizeof data);
	CHECK(write(fd, data, sizeof data) == sizeof data && lseek(fd, 0, SEEK_SET) == 0);
	struct hull_err err = {0};
	struct vm_control *ctl = vm_control_new(&bus, 7, NULL, NULL, &err);
	struct vm_console *con = vm_console_new(&bus, 5, fd, -1, &stdio_ops, ctl, &err);
	CHECK(ctl && con);
	for (int i = 0; i < 1000; i++)
		vm_control_send_signal(ctl, 15);
	driver_ok(vm_console_transport(con));
	put_desc_q(0, 0, BUF, 256, VIRTQ_DESC_F_WRITE);
	put_desc_q(0, 1, BUF + 0x400, 256, VIRTQ_DESC_F_WRITE);
	offer_q(0, 0, 0);
	offer_q(0, 1, 1);
	wr(vm_console_transport(con), 0x050, 0);
	CHECK(get16(USED + 2) == 0); /* held */
	vm_console_start_input(con);
	CHECK(get16(USED + 2) == 2 && used_len(0, 0) == 256 && used_len(0, 1) == 44);
	put_desc_q(0, 2, BUF + 0x800, 256, VIRTQ_DESC_F_WRITE);
	offer_q(0, 2, 2);
	wr(vm_console_transport(con), 0x050, 0); /* the end shows: `eof 300` is queued */
	vm_console_free(con);
	close(fd);
	/* The control channel's turn, on the same rings. */
	memset(fake.mem.base + DESC, 0, USED + 0x1000 - DESC);
	struct vm_virtio *t = vm_control_transport(ctl);
	driver_ok(t);
	put_desc_q(0, 0, BUF + 0x4000, 8192, VIRTQ_DESC_F_WRITE);
	offer_q(0, 0, 0);
	wr(t, 0x050, 0);
	CHECK(get16(USED + 2) == 0); /* held until the guest is ready */
	vm_control_start(ctl);
	uint32_t n = used_len(0, 0);
	const char *tail = "signal 15\neof 300\n";
	CHECK(get16(USED + 2) == 1 && n > 4000 && n <= VM_CONSOLE_PENDING_MAX);
	CHECK(n >= strlen(tail) &&
	      !memcmp(fake.mem.base + BUF + 0x4000 + n - strlen(tail), tail, strlen(tail)));
	CHECK(!fake.fail[0]);
	vm_control_free(ctl);
}

int main(void)
{
	RUN(test_normal_chain);
	RUN(test_hostile_chains);
	RUN(test_bad_queues);
	RUN(test_mmio_registers);
	RUN(test_console_tx);
	RUN(test_console_rx_watched);
	RUN(test_console_rx_held);
	RUN(test_console_rx_polled);
	RUN(test_control_lines);
	RUN(test_control_channel);
	RUN(test_control_eof_count);
	munmap(fake.mem.base, MEM_SIZE);
	return unit_done();
}
