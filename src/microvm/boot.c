/* The Linux x86 boot protocol from the loader's side (Documentation/arch/x86/boot.rst and
 * zero-page.rst): the command line, the e820 map, the zero page for the 64-bit entry, the
 * PVH start info for the 32-bit one, and where the initrd goes. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vm_boot.h"

/* `reboot=k`: the guest's reboot is the i8042 reset, our "done". `panic=-1`: a panic
 * reboots at once, so a panicking guest ends the VM instead of hanging. The console is the
 * 8250, for debugging only: kernel messages never mix into the container's stdout. */
#define VMM_ARGS "console=ttyS0 reboot=k panic=-1 quiet"

int vm_boot_cmdline(char *buf, size_t size, unsigned ndevices, const char *extra,
		    struct hull_err *err)
{
	size_t cap = size < BOOT_CMDLINE_MAX ? size : BOOT_CMDLINE_MAX;
	size_t n = (size_t)snprintf(buf, cap, "%s", VMM_ARGS);
	for (unsigned i = 0; i < ndevices && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, " virtio_mmio.device=4K@0x%llx:%u",
				      (unsigned long long)(VM_MMIO_BASE + i * VM_MMIO_SIZE),
				      VM_IRQ_FIRST_MMIO + i);
	if (extra && *extra && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, " %s", extra);
	if (n >= cap)
		return hull_error(err, 0, "kernel command line longer than %zu bytes", cap - 1);
	return 0;
}

unsigned vm_boot_e820(uint64_t mem_size, struct vm_e820 *out, unsigned max)
{
	const struct vm_e820 map[] = {
	    {0, BOOT_MPTABLE, E820_RAM},
	    {BOOT_MPTABLE, BOOT_HIGH_RAM - BOOT_MPTABLE, E820_RESERVED},
	    {BOOT_HIGH_RAM, mem_size - BOOT_HIGH_RAM, E820_RAM},
	};
	unsigned n = 0;
	for (unsigned i = 0; i < 3 && n < max; i++)
		out[n++] = map[i];
	return n;
}

int vm_boot_initrd_addr(uint64_t mem_size, uint64_t kernel_end, uint64_t initrd_size,
			uint64_t *addr, struct hull_err *err)
{
	uint64_t top = mem_size < BOOT_PAGING_LIMIT ? mem_size : BOOT_PAGING_LIMIT;
	uint64_t floor = (kernel_end + 0xfff) & ~0xfffULL;
	if (initrd_size > top || ((top - initrd_size) & ~0xfffULL) < floor)
		return hull_error(err, 0,
				  "the initramfs (%" PRIu64 " KiB) does not fit in guest memory "
				  "above the kernel (%" PRIu64 " MiB of RAM)",
				  initrd_size >> 10, mem_size >> 20);
	*addr = (top - initrd_size) & ~0xfffULL;
	return 0;
}

static void put8(uint8_t *p, size_t off, uint8_t v)
{
	p[off] = v;
}
static void put16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, 2);
}
static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}
static void put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

/* Offsets in struct boot_params (zero-page.rst) and its setup header (boot.rst). */
enum {
	ZP_EXT_RAMDISK_IMAGE = 0x0c0,
	ZP_EXT_RAMDISK_SIZE = 0x0c4,
	ZP_EXT_CMD_LINE_PTR = 0x0c8,
	ZP_E820_ENTRIES = 0x1e8,
	ZP_BOOT_FLAG = 0x1fe,
	ZP_HEADER = 0x202,
	ZP_VERSION = 0x206,
	ZP_TYPE_OF_LOADER = 0x210,
	ZP_LOADFLAGS = 0x211,
	ZP_RAMDISK_IMAGE = 0x218,
	ZP_RAMDISK_SIZE = 0x21c,
	ZP_HEAP_END_PTR = 0x224,
	ZP_CMD_LINE_PTR = 0x228,
	ZP_INITRD_ADDR_MAX = 0x22c,
	ZP_KERNEL_ALIGNMENT = 0x230,
	ZP_CMDLINE_SIZE = 0x238,
	ZP_E820_TABLE = 0x2d0,
	ZP_SIZE = 0x1000,
};
#define LOADED_HIGH  0x01
#define CAN_USE_HEAP 0x80

int vm_boot_zero_page(const struct vm_mem *m, const struct vm_boot_info *b, struct hull_err *err)
{
	uint8_t *zp = vm_mem_ptr(m, BOOT_ZERO_PAGE, ZP_SIZE);
	if (!zp)
		return hull_error(err, 0, "no room for the zero page");
	memset(zp, 0, ZP_SIZE);
	put16(zp, ZP_BOOT_FLAG, 0xaa55);
	put32(zp, ZP_HEADER, 0x53726448); /* "HdrS" */
	put16(zp, ZP_VERSION, 0x020f);
	put8(zp, ZP_TYPE_OF_LOADER, 0xff); /* a loader without an assigned id */
	put8(zp, ZP_LOADFLAGS, LOADED_HIGH | CAN_USE_HEAP);
	put16(zp, ZP_HEAP_END_PTR, 0xfe00);
	put32(zp, ZP_CMD_LINE_PTR, (uint32_t)b->cmdline_addr);
	put32(zp, ZP_EXT_CMD_LINE_PTR, (uint32_t)(b->cmdline_addr >> 32));
	put32(zp, ZP_CMDLINE_SIZE, b->cmdline_size);
	put32(zp, ZP_RAMDISK_IMAGE, (uint32_t)b->initrd_addr);
	put32(zp, ZP_EXT_RAMDISK_IMAGE, (uint32_t)(b->initrd_addr >> 32));
	put32(zp, ZP_RAMDISK_SIZE, (uint32_t)b->initrd_size);
	put32(zp, ZP_EXT_RAMDISK_SIZE, (uint32_t)(b->initrd_size >> 32));
	put32(zp, ZP_INITRD_ADDR_MAX, 0xffffffff);
	put32(zp, ZP_KERNEL_ALIGNMENT, 0x1000000);
	struct vm_e820 map[8];
	unsigned n = vm_boot_e820(m->size, map, 8);
	put8(zp, ZP_E820_ENTRIES, (uint8_t)n);
	for (unsigned i = 0; i < n; i++) {
		put64(zp, ZP_E820_TABLE + 20 * i, map[i].addr);
		put64(zp, ZP_E820_TABLE + 20 * i + 8, map[i].size);
		put32(zp, ZP_E820_TABLE + 20 * i + 16, map[i].type);
	}
	return 0;
}

/* struct hvm_start_info (Xen's public arch-x86/hvm/start_info.h, version 1), then its
 * memory map (24-byte entries) and module list (32-byte entries: the initrd). */
#define PVH_MAGIC	0x336ec578
#define PVH_MEMMAP_OFF	0x40
#define PVH_MODLIST_OFF 0x400
#define PVH_INFO_SIZE	0x1000

int vm_boot_pvh_info(const struct vm_mem *m, const struct vm_boot_info *b, struct hull_err *err)
{
	uint8_t *si = vm_mem_ptr(m, BOOT_PVH_INFO, PVH_INFO_SIZE);
	if (!si)
		return hull_error(err, 0, "no room for the PVH start info");
	memset(si, 0, PVH_INFO_SIZE);
	put32(si, 0, PVH_MAGIC);
	put32(si, 4, 1);
	if (b->initrd_size) {
		put32(si, 12, 1);
		put64(si, 16, BOOT_PVH_INFO + PVH_MODLIST_OFF);
		put64(si, PVH_MODLIST_OFF, b->initrd_addr);
		put64(si, PVH_MODLIST_OFF + 8, b->initrd_size);
	}
	put64(si, 24, b->cmdline_addr);
	struct vm_e820 map[8];
	unsigned n = vm_boot_e820(m->size, map, 8);
	put64(si, 40, BOOT_PVH_INFO + PVH_MEMMAP_OFF);
	put32(si, 48, n);
	for (unsigned i = 0; i < n; i++) {
		put64(si, PVH_MEMMAP_OFF + 24 * i, map[i].addr);
		put64(si, PVH_MEMMAP_OFF + 24 * i + 8, map[i].size);
		put32(si, PVH_MEMMAP_OFF + 24 * i + 16, map[i].type);
	}
	return 0;
}
