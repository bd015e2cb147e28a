/* The guest's boot structures, as pure functions writing into guest memory (a struct
 * vm_mem, which the unit tests back with a plain buffer): the kernel ELF, the command
 * line, the zero page with its e820 map, the PVH start info, the MP table, the GDT and
 * the identity page tables. Nothing here touches KVM.
 *
 * Guest physical layout below 1 MiB (the kernel loads at or above 1 MiB):
 *   0x00500 GDT            0x06000 PVH start info, memory map, module list
 *   0x07000 zero page      0x08ff0 boot stack top
 *   0x09000 PML4, 0x0a000 PDPT, 0x0b000-0x0efff four PDs (4 GiB in 2 MiB pages)
 *   0x20000 command line   0x9fc00 MP table (the e820 map reserves 0x9fc00-1 MiB) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm_internal.h"

#define BOOT_GDT	  0x500ULL
#define BOOT_PVH_INFO	  0x6000ULL
#define BOOT_ZERO_PAGE	  0x7000ULL
#define BOOT_STACK	  0x8ff0ULL
#define BOOT_PML4	  0x9000ULL
#define BOOT_PDPT	  0xa000ULL
#define BOOT_PD		  0xb000ULL
#define BOOT_CMDLINE	  0x20000ULL
#define BOOT_CMDLINE_MAX  2048 /* x86 COMMAND_LINE_SIZE, with the NUL */
#define BOOT_MPTABLE	  0x9fc00ULL
#define BOOT_HIGH_RAM	  0x100000ULL
#define BOOT_PAGING_LIMIT (4ULL << 30) /* identity-mapped by the boot page tables */

/* GDT selectors: the Linux 64-bit boot protocol wants __BOOT_CS 0x10 and __BOOT_DS 0x18;
 * PVH wants a flat 32-bit code segment (0x08) and a TSS. */
#define BOOT_SEL_CODE32	 0x08
#define BOOT_SEL_CODE64	 0x10
#define BOOT_SEL_DATA	 0x18
#define BOOT_SEL_TSS	 0x20
#define BOOT_GDT_ENTRIES 5
extern const uint64_t vm_boot_gdt[BOOT_GDT_ENTRIES];

/* The kernel as loaded (elf.c). */
struct vm_kernel {
	uint64_t entry; /* guest physical */
	uint64_t end;	/* the first byte above the loaded image */
	bool pvh;	/* entered at the PVH note's 32-bit entry */
};
/* Load an ELF64 x86-64 image into guest memory (segments at their physical addresses,
 * at or above 1 MiB). Every offset and size is checked against the file and RAM. */
int vm_elf_load(const uint8_t *img, size_t size, const struct vm_mem *m, struct vm_kernel *k,
		struct hull_err *err);
/* The PVH entry from the image's notes: 1 found, 0 none, -1 a malformed note. */
int vm_elf_pvh_entry(const uint8_t *img, size_t size, uint32_t *entry, struct hull_err *err);

/* The kernel command line: the VMM's arguments, one virtio_mmio.device= per device,
 * then extra. Fails when it does not fit BOOT_CMDLINE_MAX. */
int vm_boot_cmdline(char *buf, size_t size, unsigned ndevices, const char *extra,
		    struct hull_err *err);

struct vm_e820 {
	uint64_t addr, size;
	uint32_t type; /* 1 RAM, 2 reserved */
};
#define E820_RAM      1
#define E820_RESERVED 2
unsigned vm_boot_e820(uint64_t mem_size, struct vm_e820 *out, unsigned max);

/* Where the initrd goes: as high as possible below min(RAM end, 4 GiB), page aligned,
 * above the kernel. */
int vm_boot_initrd_addr(uint64_t mem_size, uint64_t kernel_end, uint64_t initrd_size,
			uint64_t *addr, struct hull_err *err);

struct vm_boot_info {
	uint64_t cmdline_addr;
	uint32_t cmdline_size; /* with the NUL */
	uint64_t initrd_addr, initrd_size;
};
/* The zero page (boot_params) at BOOT_ZERO_PAGE, for the Linux 64-bit entry. */
int vm_boot_zero_page(const struct vm_mem *m, const struct vm_boot_info *b, struct hull_err *err);
/* The PVH start info (with memory map and initrd module) at BOOT_PVH_INFO. */
int vm_boot_pvh_info(const struct vm_mem *m, const struct vm_boot_info *b, struct hull_err *err);

/* The Intel MP table (MP spec 1.4) at BOOT_MPTABLE: ncpus processors, an ISA bus, the
 * IOAPIC, ISA irqs 0-15 and the local interrupts. */
int vm_mptable_write(const struct vm_mem *m, unsigned ncpus, struct hull_err *err);
#define MPTABLE_IOAPIC_ADDR 0xfec00000U
#define MPTABLE_LAPIC_ADDR  0xfee00000U

/* The GDT at BOOT_GDT and the page tables at BOOT_PML4 (cpu.c). */
int vm_boot_gdt_write(const struct vm_mem *m, struct hull_err *err);
int vm_boot_page_tables(const struct vm_mem *m, struct hull_err *err);

/* A GDT entry as KVM's segment fields. */
struct vm_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g, avl;
};
struct vm_segment vm_gdt_segment(uint64_t entry, uint16_t selector);
