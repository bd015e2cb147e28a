/* The split virtqueue (virtio 1.x section 2.7) seen from the device, with a hostile driver:
 * every index is taken modulo nothing the guest controls without a check, every buffer is
 * checked with vm_mem_ptr(), and a chain can never be longer than the queue, so a loop in
 * the descriptors ends in an error after at most `num` steps. Each descriptor is read once
 * into a local copy, so the guest cannot change it between the check and the use. */
#include <errno.h>
#include <string.h>

#include "virtio.h"

struct avail_hdr {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};
struct used_elem {
	uint32_t id;
	uint32_t len;
};
struct used_hdr {
	uint16_t flags;
	uint16_t idx;
	struct used_elem ring[];
};

int vq_check(const struct vq *q, const struct vm_mem *m, struct hull_err *err)
{
	uint64_t n = q->num;
	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)))
		return hull_error(err, 0, "queue size %u is not a power of two up to %u", q->num,
				  VQ_MAX_SIZE);
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return hull_error(err, 0, "misaligned ring (desc 0x%llx avail 0x%llx used 0x%llx)",
				  (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
				  (unsigned long long)q->used_gpa);
	if (!vm_mem_ptr(m, q->desc_gpa, 16 * n) || !vm_mem_ptr(m, q->avail_gpa, 6 + 2 * n) ||
	    !vm_mem_ptr(m, q->used_gpa, 6 + 8 * n))
		return hull_error(err, 0,
				  "ring outside guest memory (desc 0x%llx avail 0x%llx "
				  "used 0x%llx, size %u)",
				  (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
				  (unsigned long long)q->used_gpa, q->num);
	return 0;
}

/* The rings were checked by vq_check when the queue was enabled and cannot move while it
 * is, so these pointers are inside RAM. */
static struct avail_hdr *avail(const struct vq *q, const struct vm_mem *m)
{
	return vm_mem_ptr(m, q->avail_gpa, 6 + 2 * (uint64_t)q->num);
}
static struct used_hdr *used(const struct vq *q, const struct vm_mem *m)
{
	return vm_mem_ptr(m, q->used_gpa, 6 + 8 * (uint64_t)q->num);
}

bool vq_has_avail(const struct vq *q, const struct vm_mem *m)
{
	struct avail_hdr *a = avail(q, m);
	if (!q->ready || !a)
		return false;
	return __atomic_load_n(&a->idx, __ATOMIC_ACQUIRE) != q->last_avail;
}

static int add_desc(struct vq_chain *c, const struct vm_mem *m, const struct virtq_desc *d,
		    struct hull_err *err)
{
	if (d->flags & VIRTQ_DESC_F_INDIRECT)
		return hull_error(err, 0, "indirect descriptor (not offered)");
	if (d->len == 0)
		return hull_error(err, 0, "zero-length descriptor");
	uint8_t *p = vm_mem_ptr(m, d->addr, d->len);
	if (!p)
		return hull_error(err, 0, "descriptor outside guest memory (0x%llx+%u)",
				  (unsigned long long)d->addr, d->len);
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	if (!write && c->n > 0 && c->buf[c->n - 1].write)
		return hull_error(err, 0, "readable descriptor after a writable one");
	c->buf[c->n++] = (struct vq_buf){.ptr = p, .len = d->len, .write = write};
	return 0;
}

static int walk_chain(const struct vq *q, const struct vm_mem *m, struct vq_chain *c,
		      struct hull_err *err)
{
	const struct virtq_desc *table = vm_mem_ptr(m, q->desc_gpa, 16 * (uint64_t)q->num);
	uint16_t i = c->head;
	for (;;) {
		if (c->n >= q->num)
			return hull_error(
			    err, 0, "descriptor chain longer than the queue (%u): a loop?", q->num);
		struct virtq_desc d;
		memcpy(&d, &table[i], sizeof d);
		if (add_desc(c, m, &d, err) < 0)
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= q->num)
			return hull_error(err, 0, "descriptor %u chains to %u, past the queue (%u)",
					  i, d.next, q->num);
		i = d.next;
	}
}

int vq_pop(struct vq *q, const struct vm_mem *m, struct vq_chain *c, struct hull_err *err)
{
	struct avail_hdr *a = avail(q, m);
	if (!q->ready || !a)
		return 0;
	uint16_t idx = __atomic_load_n(&a->idx, __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->num)
		return hull_error(err, 0, "avail index jumped by %u (queue size %u)", pending,
				  q->num);
	uint16_t head = __atomic_load_n(&a->ring[q->last_avail & (q->num - 1)], __ATOMIC_RELAXED);
	if (head >= q->num)
		return hull_error(err, 0, "avail ring names descriptor %u (queue size %u)", head,
				  q->num);
	c->head = head;
	c->n = 0;
	if (walk_chain(q, m, c, err) < 0)
		return -1;
	q->last_avail++;
	return 1;
}

bool vq_push(struct vq *q, const struct vm_mem *m, uint16_t head, uint32_t written)
{
	struct used_hdr *u = used(q, m);
	struct avail_hdr *a = avail(q, m);
	if (!q->ready || !u || !a)
		return false;
	struct used_elem e = {.id = head, .len = written};
	memcpy(&u->ring[q->used_idx & (q->num - 1)], &e, sizeof e);
	q->used_idx++;
	/* The entry must be visible before the index that publishes it. */
	__atomic_store_n(&u->idx, q->used_idx, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(&a->flags, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void vq_unpop(struct vq *q)
{
	q->last_avail--;
}
