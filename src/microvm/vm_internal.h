/* The VMM's private contract between its pieces: guest memory, the device bus and
 * interrupts. Device models (virtio-mmio, the 8250, the i8042) see only this header.
 *
 * The guest is hostile. Every access to guest memory goes through vm_mem_ptr(), which
 * checks address plus length (with overflow) against RAM; a device that meets a bad
 * address or a malformed ring calls vm_bus_fail() and the VM ends with that message.
 *
 * Devices reach the VM only through struct vm_bus (function pointers), so the unit tests
 * can run every device against a simulated guest memory and a fake bus, without KVM. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Guest RAM is one region at guest physical 0 (at most VM_MEM_MAX, below the MMIO hole). */
#define VM_MEM_MAX	  (3072ULL << 20)
#define VM_MEM_MIN	  (16ULL << 20)
#define VM_MMIO_BASE	  0xd0000000ULL /* virtio-mmio devices, VM_MMIO_SIZE apart */
#define VM_MMIO_SIZE	  0x1000ULL
#define VM_IRQ_FIRST_MMIO 5 /* IOAPIC pins for virtio-mmio devices: 5, 6, 7, ... */
#define VM_IRQ_SERIAL	  4
#define VM_MAX_CPUS	  64

struct vm_mem {
	uint8_t *base;
	uint64_t size;
};

/* A host pointer to [gpa, gpa+len) or NULL when any byte is outside RAM (len 0 is ok
 * for any gpa <= size). */
static inline void *vm_mem_ptr(const struct vm_mem *m, uint64_t gpa, uint64_t len)
{
	if (gpa > m->size || len > m->size - gpa)
		return NULL;
	return m->base + gpa;
}

/* The event loop calls this on its thread when a watched host fd is ready. */
typedef void (*vm_fd_cb)(void *dev, int fd, uint32_t epoll_events);

/* What a device needs from the VM. ctx is the struct vm (or a unit test's fake). Every
 * function is safe from any thread and never blocks on a device's lock. */
struct vm_bus {
	const struct vm_mem *mem;
	void *ctx;
	/* Raise (level 1) or lower (0) an interrupt line of the in-kernel IOAPIC; an
	 * edge-triggered device raises then lowers. */
	void (*irq_set)(void *ctx, unsigned irq, int level);
	/* End the VM with a message (a guest fault, a device failure); the first call wins
	 * and vm_run() returns it as its error. */
	void (*fail)(void *ctx, const char *msg);
	/* The guest asked for a reset: the VM is done (its normal end). */
	void (*reset)(void *ctx);
	/* True once the VM is ending: a device stops waiting on host fds. */
	bool (*stopping)(void *ctx);
	/* Watch a host fd on the event loop (level-triggered); rewatch changes the events
	 * (0: pause, for back-pressure). watch fails with EPERM for fds epoll cannot watch
	 * (regular files, /dev/null): the device then reads them when the guest asks. */
	int (*watch)(void *ctx, int fd, uint32_t events, vm_fd_cb cb, void *dev,
		     struct hull_err *err);
	void (*rewatch)(void *ctx, int fd, uint32_t events);
};

void vm_bus_fail(const struct vm_bus *bus, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void vm_bus_pulse(const struct vm_bus *bus, unsigned irq)
{
	bus->irq_set(bus->ctx, irq, 1);
	bus->irq_set(bus->ctx, irq, 0);
}

/* Port I/O and MMIO devices. Handlers run on the vCPU thread that exited; data is
 * little-endian, len is 1, 2, 4 or 8. A read of an unknown register returns zeroes. */
struct vm_io_ops {
	void (*read)(void *dev, uint64_t offset, void *data, unsigned len);
	void (*write)(void *dev, uint64_t offset, const void *data, unsigned len);
};

/* The device list: address ranges and their handlers (bus.c). */
#define VM_IO_MAX 16
struct vm_io_range {
	uint64_t base, size;
	const struct vm_io_ops *ops;
	void *dev;
};
struct vm_io_bus {
	struct vm_io_range r[VM_IO_MAX];
	unsigned n;
};
int vm_io_add(struct vm_io_bus *b, uint64_t base, uint64_t size, const struct vm_io_ops *ops,
	      void *dev, struct hull_err *err);
/* Dispatch one access; false when no device covers it (a read then gives zeroes). */
bool vm_io_access(const struct vm_io_bus *b, uint64_t addr, void *data, unsigned len,
		  bool is_write);

/* Little-endian helpers for register files. */
static inline uint64_t vm_le_get(const void *data, unsigned len)
{
	const uint8_t *p = data;
	uint64_t v = 0;
	for (unsigned i = 0; i < len && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}
static inline void vm_le_put(void *data, unsigned len, uint64_t v)
{
	uint8_t *p = data;
	for (unsigned i = 0; i < len && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Legacy devices (serial.c, i8042.c). */
struct vm_serial;
struct vm_serial *vm_serial_new(const struct vm_bus *bus, int out_fd, struct hull_err *err);
void vm_serial_free(struct vm_serial *s);
extern const struct vm_io_ops vm_serial_ops;
#define VM_SERIAL_PORT 0x3f8

extern const struct vm_io_ops vm_i8042_ops; /* dev: the struct vm_bus */
