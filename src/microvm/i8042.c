/* Just enough of the i8042 keyboard controller for `reboot=k`: the guest's reboot writes
 * the "pulse reset line" command 0xFE to port 0x64, which ends the VM (its normal end;
 * the exit status came earlier on the control channel). The status register reads 0:
 * input buffer empty, so the kernel's kb_wait() never spins. */
#include <string.h>

#include "vm_internal.h"

#define I8042_CMD_PORT 0x64
#define I8042_RESET    0xfe

static void i8042_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev, (void)off;
	memset(data, 0, len);
}

/* Registered at 0x60 and at 0x64 (one port each); the offset is 0 for both, so the
 * device is told which port by its dev pointer: the bus for 0x64, NULL for 0x60. */
static void i8042_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	(void)off, (void)len;
	const struct vm_bus *bus = dev;
	if (bus && *(const uint8_t *)data == I8042_RESET)
		bus->reset(bus->ctx);
}

const struct vm_io_ops vm_i8042_ops = {.read = i8042_read, .write = i8042_write};
