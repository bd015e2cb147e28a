/* The virtio-mmio transport, version 2 (virtio 1.x section 4.2.2): the register file, the
 * status state machine, feature negotiation and queue setup. A queue's rings are checked
 * once, when the driver enables it; until the driver resets the queue they cannot move. */
#include <string.h>

#include "virtio.h"

enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_CONFIG_GENERATION = 0x0fc,
};

#define VIRTIO_MMIO_MAGIC  0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x6c6c7568 /* "hull" */

void vm_virtio_init(struct vm_virtio *t, const struct vm_bus *bus, unsigned irq,
		    const struct vm_virtio_ops *ops, void *dev)
{
	memset(t, 0, sizeof *t);
	t->bus = bus;
	t->irq = irq;
	t->ops = ops;
	t->dev = dev;
	pthread_mutex_init(&t->lock, NULL);
}

void vm_virtio_destroy(struct vm_virtio *t)
{
	pthread_mutex_destroy(&t->lock);
}

struct vq *vm_virtio_queue(struct vm_virtio *t, unsigned q)
{
	if (q >= t->ops->nqueues || !(t->status & VIRTIO_STATUS_DRIVER_OK) || !t->q[q].ready)
		return NULL;
	return &t->q[q];
}

void vm_virtio_interrupt(struct vm_virtio *t)
{
	t->int_status |= 1;
	vm_bus_pulse(t->bus, t->irq);
}

static struct vq *selected(struct vm_virtio *t)
{
	return t->queue_sel < t->ops->nqueues ? &t->q[t->queue_sel] : NULL;
}

static uint32_t reg_read(struct vm_virtio *t, uint64_t off)
{
	struct vq *q = selected(t);
	switch (off) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return 2;
	case REG_DEVICE_ID:
		return t->ops->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		return t->dev_feat_sel < 2 ? (uint32_t)(t->ops->features >> (32 * t->dev_feat_sel))
					   : 0;
	case REG_QUEUE_NUM_MAX:
		return q ? VQ_MAX_SIZE : 0;
	case REG_QUEUE_READY:
		return q ? q->ready : 0;
	case REG_INTERRUPT_STATUS:
		return t->int_status;
	case REG_STATUS:
		return t->status;
	default:
		return 0; /* the console's config space (no F_SIZE, no MULTIPORT) reads as 0 */
	}
}

static void reset(struct vm_virtio *t)
{
	t->status = 0;
	t->dev_feat_sel = t->drv_feat_sel = t->queue_sel = t->int_status = 0;
	t->driver_features = 0;
	memset(t->q, 0, sizeof t->q);
	if (t->ops->reset)
		t->ops->reset(t->dev);
}

/* FEATURES_OK stays clear when the driver took a feature we did not offer or refused
 * VERSION_1 (no legacy interface here); the driver reads the status back (3.1.1). */
static void write_status(struct vm_virtio *t, uint32_t v)
{
	if (v == 0) {
		reset(t);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(t->status & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t f = t->driver_features;
		if ((f & ~t->ops->features) || !(f & (1ULL << VIRTIO_F_VERSION_1)))
			v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
	}
	t->status = v;
}

static void set_half(uint64_t *field, bool high, uint32_t v)
{
	if (high)
		*field = (*field & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*field = (*field & ~0xffffffffULL) | v;
}

static void queue_ready(struct vm_virtio *t, struct vq *q, uint32_t v)
{
	if (!v) {
		memset(q, 0, sizeof *q);
		return;
	}
	if (q->ready)
		return;
	struct hull_err err = {0};
	if (vq_check(q, t->bus->mem, &err) < 0) {
		vm_bus_fail(t->bus, "%s: queue %u: %s", t->ops->name, t->queue_sel, err.msg);
		hull_err_clear(&err);
		return;
	}
	q->ready = true;
	q->last_avail = q->used_idx = 0;
}

/* Queue registers; writes to a live queue's layout are ignored (4.2.2.3). */
static void queue_write(struct vm_virtio *t, uint64_t off, uint32_t v)
{
	struct vq *q = selected(t);
	if (!q)
		return;
	if (off == REG_QUEUE_READY) {
		queue_ready(t, q, v);
		return;
	}
	if (q->ready)
		return;
	switch (off) {
	case REG_QUEUE_NUM:
		q->num = v;
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		set_half(&q->desc_gpa, off == REG_QUEUE_DESC_HIGH, v);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		set_half(&q->avail_gpa, off == REG_QUEUE_DRIVER_HIGH, v);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		set_half(&q->used_gpa, off == REG_QUEUE_DEVICE_HIGH, v);
		break;
	}
}

static void reg_write(struct vm_virtio *t, uint64_t off, uint32_t v)
{
	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		t->dev_feat_sel = v;
		break;
	case REG_DRIVER_FEATURES_SEL:
		t->drv_feat_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		if (t->drv_feat_sel < 2 && !(t->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&t->driver_features, t->drv_feat_sel == 1, v);
		break;
	case REG_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case REG_QUEUE_NOTIFY:
		if (vm_virtio_queue(t, v) && t->ops->notify)
			t->ops->notify(t->dev, v);
		break;
	case REG_INTERRUPT_ACK:
		t->int_status &= ~v;
		break;
	case REG_STATUS:
		write_status(t, v);
		break;
	default:
		queue_write(t, off, v);
	}
}

/* Registers are 32 bits wide and aligned (4.2.2.2); other accesses read as 0 and are
 * dropped. */
static void mmio_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct vm_virtio *t = dev;
	uint32_t v = 0;
	if (len == 4 && !(off & 3)) {
		pthread_mutex_lock(&t->lock);
		v = reg_read(t, off);
		pthread_mutex_unlock(&t->lock);
	}
	vm_le_put(data, len, v);
}

static void mmio_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct vm_virtio *t = dev;
	if (len != 4 || (off & 3))
		return;
	pthread_mutex_lock(&t->lock);
	reg_write(t, off, (uint32_t)vm_le_get(data, 4));
	pthread_mutex_unlock(&t->lock);
}

const struct vm_io_ops vm_virtio_mmio_ops = {.read = mmio_read, .write = mmio_write};
