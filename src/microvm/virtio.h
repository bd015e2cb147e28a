/* virtio for the VMM: the split virtqueue core (virtqueue.c, virtio 1.x section 2.7), the
 * virtio-mmio transport version 2 (virtio_mmio.c, section 4.2.2), virtio-console
 * (virtio_console.c, device id 3, one port) and the control channel on top of it
 * (control.c). Every guest address goes through vm_mem_ptr(); a malformed ring fails the
 * VM through the bus. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm_internal.h"

#define VQ_MAX_SIZE 256 /* the largest queue size offered (QueueNumMax) */

#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One split virtqueue as the driver configured it. */
struct vq {
	uint32_t num; /* queue size, as the driver wrote it (checked on enable) */
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail; /* the next avail ring entry the device takes */
	uint16_t used_idx;
};

struct vq_buf {
	uint8_t *ptr; /* in guest RAM, checked for len bytes */
	uint32_t len;
	bool write; /* device-writable (guest reads it) */
};

/* A descriptor chain taken from the avail ring: readable buffers first, then writable. */
struct vq_chain {
	uint16_t head;
	unsigned n;
	struct vq_buf buf[VQ_MAX_SIZE];
};

/* Check the queue before it is enabled: size a power of two <= VQ_MAX_SIZE, the three
 * areas aligned and inside RAM. */
int vq_check(const struct vq *q, const struct vm_mem *m, struct hull_err *err);
/* 1 with a chain, 0 when the avail ring is empty, -1 with a message on a malformed ring
 * (an index jump, an out-of-range or zero-length descriptor, a loop, indirect). */
int vq_pop(struct vq *q, const struct vm_mem *m, struct vq_chain *c, struct hull_err *err);
/* Put a chain on the used ring with the number of bytes written into it. Returns whether
 * the driver wants an interrupt for it. */
bool vq_push(struct vq *q, const struct vm_mem *m, uint16_t head, uint32_t written);
/* Any available chain not yet taken (a malformed index counts as "yes": vq_pop fails). */
bool vq_has_avail(const struct vq *q, const struct vm_mem *m);
/* Give back the chain vq_pop took last, unused (nothing to put in it yet). */
void vq_unpop(struct vq *q);

/* The virtio-mmio transport of one device. */
#define VM_VIRTIO_MAX_QUEUES 2
#define VIRTIO_F_VERSION_1   32

struct vm_virtio;
struct vm_virtio_ops {
	const char *name; /* for messages: "virtio-console" */
	uint32_t device_id;
	uint64_t features;
	unsigned nqueues;
	/* The driver notified queue q (the transport lock is held). */
	void (*notify)(void *dev, unsigned q);
	/* The driver reset the device (status 0): drop any device state. */
	void (*reset)(void *dev);
};

struct vm_virtio {
	const struct vm_bus *bus;
	const struct vm_virtio_ops *ops;
	void *dev;
	unsigned irq;
	pthread_mutex_t lock; /* registers, queues and the device's state */
	uint32_t status, dev_feat_sel, drv_feat_sel, queue_sel, int_status;
	uint64_t driver_features;
	struct vq q[VM_VIRTIO_MAX_QUEUES];
};

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER	  2
#define VIRTIO_STATUS_DRIVER_OK	  4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_FAILED	  128

void vm_virtio_init(struct vm_virtio *t, const struct vm_bus *bus, unsigned irq,
		    const struct vm_virtio_ops *ops, void *dev);
void vm_virtio_destroy(struct vm_virtio *t);
extern const struct vm_io_ops vm_virtio_mmio_ops; /* dev: the struct vm_virtio */
/* A queue the device may use now: the driver is ready and the queue enabled. */
struct vq *vm_virtio_queue(struct vm_virtio *t, unsigned q);
/* After vq_push: raise the used-buffer interrupt (lock held). */
void vm_virtio_interrupt(struct vm_virtio *t);

/* virtio-console with one port: bytes from in_fd (or queued with vm_console_send) go to
 * the guest; the guest's bytes go to out_fd (or to ops->tx). */
struct vm_console;
struct vm_console_ops {
	void (*tx)(void *ctx, const uint8_t *buf, size_t len); /* NULL: write to out_fd */
	/* in_fd reached its end, after `bytes` went into the guest's receive buffers */
	void (*in_eof)(void *ctx, uint64_t bytes);
	bool hold_input; /* send nothing (in_fd, queued bytes) before vm_console_start_input() */
};
struct vm_console *vm_console_new(const struct vm_bus *bus, unsigned irq, int in_fd, int out_fd,
				  const struct vm_console_ops *ops, void *ctx,
				  struct hull_err *err);
void vm_console_free(struct vm_console *c);
/* Start sending to the guest (held with ops->hold_input). Takes the console's lock. */
void vm_console_start_input(struct vm_console *c);
struct vm_virtio *vm_console_transport(struct vm_console *c);
/* Queue bytes for the guest (the control channel); sent as the guest posts buffers.
 * Fails when less than keep_free of the VM_CONSOLE_PENDING_MAX bytes would stay free. */
#define VM_CONSOLE_PENDING_MAX 4096
int vm_console_send(struct vm_console *c, const void *buf, size_t len, size_t keep_free);

/* The control channel (hvc2): host->guest `signal N`, `winsize R C`, `eof N`; guest->host
 * `exit N`, `signaled N`, `ready` (hvc0 and hvc2 are set up: the host may send). Nothing
 * goes to the guest before vm_control_start(). on_ready runs on the vCPU thread with the
 * control console's lock held: it must only hand the work on (vm.c wakes its event loop,
 * which calls vm_control_start and starts hvc0's input), never take a console's lock. */
struct vm_control;
struct vm_control *vm_control_new(const struct vm_bus *bus, unsigned irq,
				  void (*on_ready)(void *ctx), void *ctx, struct hull_err *err);
void vm_control_free(struct vm_control *c);
void vm_control_start(struct vm_control *c);
struct vm_virtio *vm_control_transport(struct vm_control *c);
void vm_control_send_signal(struct vm_control *c, int signo);
void vm_control_send_winsize(struct vm_control *c, unsigned rows, unsigned cols);
/* `eof N`: the container's stdin ended after N bytes went into hvc0's receive buffers.
 * Signal and winsize lines are dropped rather than fill the queue past the room this line
 * needs, so it is never lost to a full queue. */
void vm_control_send_eof(struct vm_control *c, uint64_t bytes);
/* The last status line the guest sent; false when none. */
bool vm_control_result(struct vm_control *c, bool *exited, int *code, int *signo);
/* Parse one guest line into the status (exposed for the unit tests). */
struct vm_control_status {
	bool have, exited, ready;
	int code, signo;
};
void vm_control_parse_line(const char *line, struct vm_control_status *st);
