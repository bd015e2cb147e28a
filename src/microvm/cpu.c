/* The vCPUs' starting state: the GDT and identity page tables the boot CPU enters with
 * (pure, written into guest memory), and per vCPU the KVM state: CPUID, the boot MSRs,
 * the local APIC's LINT pins, the FPU, and for the boot CPU its registers. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/cleanup.h"
#include "vm_boot.h"
#include "vmm.h"

const uint64_t vm_boot_gdt[BOOT_GDT_ENTRIES] = {
    0,
    0x00cf9b000000ffffULL, /* 0x08: flat 32-bit code (PVH) */
    0x00af9b000000ffffULL, /* 0x10: 64-bit code */
    0x00cf93000000ffffULL, /* 0x18: flat data */
    0x00008b0000000067ULL, /* 0x20: TSS, busy, limit 0x67 */
};

int vm_boot_gdt_write(const struct vm_mem *m, struct hull_err *err)
{
	uint8_t *p = vm_mem_ptr(m, BOOT_GDT, sizeof vm_boot_gdt);
	if (!p)
		return hull_error(err, 0, "no room for the GDT");
	memcpy(p, vm_boot_gdt, sizeof vm_boot_gdt);
	return 0;
}

/* PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 2 MiB pages: the first 4 GiB
 * map to themselves, which covers RAM (at most 3 GiB) and the boot structures. */
int vm_boot_page_tables(const struct vm_mem *m, struct hull_err *err)
{
	uint64_t *pml4 = vm_mem_ptr(m, BOOT_PML4, 0x1000);
	uint64_t *pdpt = vm_mem_ptr(m, BOOT_PDPT, 0x1000);
	uint64_t *pd = vm_mem_ptr(m, BOOT_PD, 4 * 0x1000);
	if (!pml4 || !pdpt || !pd)
		return hull_error(err, 0, "no room for the page tables");
	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	pml4[0] = BOOT_PDPT | 3; /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD + i * 0x1000) | 3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
	return 0;
}

struct vm_segment vm_gdt_segment(uint64_t e, uint16_t selector)
{
	struct vm_segment s = {
	    .base = ((e >> 16) & 0xffffff) | ((e >> 32) & 0xff000000),
	    .limit = (uint32_t)((e & 0xffff) | ((e >> 32) & 0xf0000)),
	    .selector = selector,
	    .type = (e >> 40) & 0xf,
	    .s = (e >> 44) & 1,
	    .dpl = (e >> 45) & 3,
	    .present = (e >> 47) & 1,
	    .avl = (e >> 52) & 1,
	    .l = (e >> 53) & 1,
	    .db = (e >> 54) & 1,
	    .g = (e >> 55) & 1,
	};
	if (s.g) /* KVM wants the limit in bytes */
		s.limit = (s.limit << 12) | 0xfff;
	return s;
}

static struct kvm_segment kvm_seg(unsigned index)
{
	struct vm_segment s = vm_gdt_segment(vm_boot_gdt[index], (uint16_t)(index * 8));
	return (struct kvm_segment){.base = s.base,
				    .limit = s.limit,
				    .selector = s.selector,
				    .type = s.type,
				    .present = s.present,
				    .dpl = s.dpl,
				    .db = s.db,
				    .s = s.s,
				    .l = s.l,
				    .g = s.g,
				    .avl = s.avl};
}

#define CR0_PE	 0x1ULL
#define CR0_MP	 0x2ULL
#define CR0_ET	 0x10ULL
#define CR0_NE	 0x20ULL
#define CR0_PG	 0x80000000ULL
#define CR4_PAE	 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

/* Long mode with paging for a vmlinux; 32-bit protected mode, paging off, for PVH. */
static int boot_sregs(int fd, bool pvh, struct hull_err *err)
{
	struct kvm_sregs sr;
	if (ioctl(fd, KVM_GET_SREGS, &sr) < 0)
		return hull_error(err, errno, "KVM_GET_SREGS");
	struct kvm_segment data = kvm_seg(BOOT_SEL_DATA / 8);
	sr.cs = kvm_seg(pvh ? BOOT_SEL_CODE32 / 8 : BOOT_SEL_CODE64 / 8);
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = data;
	sr.tr = kvm_seg(BOOT_SEL_TSS / 8);
	sr.gdt.base = BOOT_GDT;
	sr.gdt.limit = sizeof vm_boot_gdt - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	if (pvh) {
		sr.cr0 = CR0_PE | CR0_ET;
		sr.cr3 = sr.cr4 = sr.efer = 0;
	} else {
		sr.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
		sr.cr3 = BOOT_PML4;
		sr.cr4 = CR4_PAE;
		sr.efer = EFER_LME | EFER_LMA;
	}
	if (ioctl(fd, KVM_SET_SREGS, &sr) < 0)
		return hull_error(err, errno, "KVM_SET_SREGS");
	return 0;
}

int vm_cpu_boot_regs(int fd, const struct vm_kernel *k, struct hull_err *err)
{
	if (boot_sregs(fd, k->pvh, err) < 0)
		return -1;
	struct kvm_regs r = {.rflags = 2, .rip = k->entry, .rsp = BOOT_STACK, .rbp = BOOT_STACK};
	if (k->pvh)
		r.rbx = BOOT_PVH_INFO;
	else
		r.rsi = BOOT_ZERO_PAGE;
	if (ioctl(fd, KVM_SET_REGS, &r) < 0)
		return hull_error(err, errno, "KVM_SET_REGS");
	return 0;
}

struct kvm_cpuid2 *vm_cpuid_supported(int kvm_fd, struct hull_err *err)
{
	for (unsigned n = 64; n <= 1024; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof *c + n * sizeof c->entries[0]);
		if (!c) {
			hull_error(err, errno, "KVM_GET_SUPPORTED_CPUID");
			return NULL;
		}
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			break;
	}
	hull_error(err, errno, "KVM_GET_SUPPORTED_CPUID");
	return NULL;
}

/* The host's supported leaves, plus: the hypervisor bit, and this vCPU's APIC id where
 * CPUID reports it (leaf 1 EBX[31:24], leaves 0xb and 0x1f EDX). */
static int set_cpuid(int fd, unsigned id, const struct kvm_cpuid2 *sup, struct hull_err *err)
{
	size_t size = sizeof *sup + sup->nent * sizeof sup->entries[0];
	_cleanup_free_ struct kvm_cpuid2 *c = malloc(size);
	if (!c)
		return hull_error(err, errno, "cpuid");
	memcpy(c, sup, size);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1) {
			e->ecx |= 1U << 31;
			e->ebx = (e->ebx & 0x00ffffff) | (id << 24);
		} else if (e->function == 0xb || e->function == 0x1f) {
			e->edx = id;
		}
	}
	if (ioctl(fd, KVM_SET_CPUID2, c) < 0)
		return hull_error(err, errno, "KVM_SET_CPUID2");
	return 0;
}

#define MSR_IA32_TSC	      0x10
#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_MTRR_DEF_TYPE     0x2ff
#define MSR_STAR	      0xc0000081
#define MSR_LSTAR	      0xc0000082
#define MSR_CSTAR	      0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102

static int set_msrs(int fd, struct hull_err *err)
{
	static const struct kvm_msr_entry boot[] = {
	    {.index = MSR_IA32_SYSENTER_CS},
	    {.index = MSR_IA32_SYSENTER_ESP},
	    {.index = MSR_IA32_SYSENTER_EIP},
	    {.index = MSR_STAR},
	    {.index = MSR_CSTAR},
	    {.index = MSR_KERNEL_GS_BASE},
	    {.index = MSR_SYSCALL_MASK},
	    {.index = MSR_LSTAR},
	    {.index = MSR_IA32_TSC},
	    {.index = MSR_IA32_MISC_ENABLE, .data = 1},		 /* fast strings */
	    {.index = MSR_MTRR_DEF_TYPE, .data = (1 << 11) | 6}, /* MTRRs on, write-back */
	};
	const unsigned n = sizeof boot / sizeof boot[0];
	_cleanup_free_ struct kvm_msrs *m = calloc(1, sizeof *m + sizeof boot);
	if (!m)
		return hull_error(err, errno, "msrs");
	m->nmsrs = n;
	memcpy(m->entries, boot, sizeof boot);
	int r = ioctl(fd, KVM_SET_MSRS, m);
	if (r < 0)
		return hull_error(err, errno, "KVM_SET_MSRS");
	if ((unsigned)r != n)
		return hull_error(err, 0, "KVM_SET_MSRS: MSR 0x%x refused", boot[r].index);
	return 0;
}

#define APIC_LVT0     0x350
#define APIC_LVT1     0x360
#define APIC_MODE_NMI 4
#define APIC_MODE_EXT 7

static void set_lvt_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;
	memcpy(&v, l->regs + reg, 4);
	v = (v & ~0x700U) | (mode << 8);
	memcpy(l->regs + reg, &v, 4);
}

/* LINT0 receives the 8259's ExtINT, LINT1 NMIs, as on a PC (the MP table says so too). */
static int set_lapic(int fd, struct hull_err *err)
{
	struct kvm_lapic_state l;
	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
		return hull_error(err, errno, "KVM_GET_LAPIC");
	set_lvt_mode(&l, APIC_LVT0, APIC_MODE_EXT);
	set_lvt_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(fd, KVM_SET_LAPIC, &l) < 0)
		return hull_error(err, errno, "KVM_SET_LAPIC");
	return 0;
}

int vm_cpu_setup(int fd, unsigned id, const struct kvm_cpuid2 *sup, struct hull_err *err)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80}; /* the FNINIT/reset defaults */
	if (set_cpuid(fd, id, sup, err) < 0 || set_msrs(fd, err) < 0 || set_lapic(fd, err) < 0)
		return hull_error_wrap(err, "vCPU %u", id);
	if (ioctl(fd, KVM_SET_FPU, &fpu) < 0)
		return hull_error(err, errno, "vCPU %u: KVM_SET_FPU", id);
	return 0;
}
