/* The device list: which device answers a port or an MMIO address, and the bus helpers
 * devices share. A handful of devices: a linear search is the fastest lookup there is. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vm_internal.h"

int vm_io_add(struct vm_io_bus *b, uint64_t base, uint64_t size, const struct vm_io_ops *ops,
	      void *dev, struct hull_err *err)
{
	if (b->n == VM_IO_MAX)
		return hull_error(err, 0, "too many devices");
	for (unsigned i = 0; i < b->n; i++)
		if (base < b->r[i].base + b->r[i].size && b->r[i].base < base + size)
			return hull_error(err, 0, "device at 0x%llx overlaps another",
					  (unsigned long long)base);
	b->r[b->n++] = (struct vm_io_range){.base = base, .size = size, .ops = ops, .dev = dev};
	return 0;
}

bool vm_io_access(const struct vm_io_bus *b, uint64_t addr, void *data, unsigned len, bool is_write)
{
	for (unsigned i = 0; i < b->n; i++) {
		const struct vm_io_range *r = &b->r[i];
		if (addr < r->base || addr - r->base >= r->size)
			continue;
		if (is_write)
			r->ops->write(r->dev, addr - r->base, data, len);
		else
			r->ops->read(r->dev, addr - r->base, data, len);
		return true;
	}
	if (!is_write)
		memset(data, 0, len);
	return false;
}

void vm_bus_fail(const struct vm_bus *bus, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	bus->fail(bus->ctx, msg);
}
