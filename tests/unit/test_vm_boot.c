/* The micro-VM's boot structures, written into a buffer that stands for guest memory:
 * e820, zero page, PVH start info, initrd placement, MP table, GDT, page tables, command
 * line, ELF loading and PVH note discovery. */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "microvm/vm_boot.h"
#include "microvm/vmm.h"
#include "unit.h"

static struct vm_mem mem_new(uint64_t mib)
{
	void *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return (struct vm_mem){.base = p == MAP_FAILED ? NULL : p, .size = mib << 20};
}

static void mem_free(struct vm_mem *m)
{
	munmap(m->base, m->size);
}

static uint32_t get32(const struct vm_mem *m, uint64_t a)
{
	uint32_t v;
	memcpy(&v, m->base + a, 4);
	return v;
}
static uint64_t get64(const struct vm_mem *m, uint64_t a)
{
	uint64_t v;
	memcpy(&v, m->base + a, 8);
	return v;
}

static void test_e820(void)
{
	const uint64_t sizes[] = {16ULL << 20, 256ULL << 20, 3072ULL << 20};
	for (unsigned i = 0; i < 3; i++) {
		struct vm_e820 e[8];
		CHECK(vm_boot_e820(sizes[i], e, 8) == 3);
		CHECK(e[0].addr == 0 && e[0].size == 0x9fc00 && e[0].type == E820_RAM);
		CHECK(e[1].addr == 0x9fc00 && e[1].addr + e[1].size == 0x100000 &&
		      e[1].type == E820_RESERVED);
		CHECK(e[2].addr == 0x100000 && e[2].addr + e[2].size == sizes[i] &&
		      e[2].type == E820_RAM);
	}
}

static void test_zero_page(void)
{
	struct vm_mem m = mem_new(256);
	struct hull_err err = {0};
	struct vm_boot_info b = {.cmdline_addr = BOOT_CMDLINE,
				 .cmdline_size = 42,
				 .initrd_addr = 0xf000000,
				 .initrd_size = 0x123456};
	memset(m.base + BOOT_ZERO_PAGE, 0x5a, 4096);
	CHECK(vm_boot_zero_page(&m, &b, &err) == 0);
	uint8_t *zp = m.base + BOOT_ZERO_PAGE;
	CHECK(zp[0x1fe] == 0x55 && zp[0x1ff] == 0xaa);
	CHECK(get32(&m, BOOT_ZERO_PAGE + 0x202) == 0x53726448);
	CHECK(zp[0x210] == 0xff);
	CHECK(zp[0x211] == 0x81);
	CHECK(get32(&m, BOOT_ZERO_PAGE + 0x228) == BOOT_CMDLINE);
	CHECK(get32(&m, BOOT_ZERO_PAGE + 0x238) == 42);
	CHECK(get32(&m, BOOT_ZERO_PAGE + 0x218) == 0xf000000);
	CHECK(get32(&m, BOOT_ZERO_PAGE + 0x21c) == 0x123456);
	CHECK(get32(&m, BOOT_ZERO_PAGE + 0x0c0) == 0 && get32(&m, BOOT_ZERO_PAGE + 0x0c8) == 0);
	CHECK(zp[0x1ef] == 0); /* the sentinel: a nonzero one makes Linux wipe fields */
	CHECK(zp[0x1e8] == 3);
	CHECK(get64(&m, BOOT_ZERO_PAGE + 0x2d0 + 40) == 0x100000);
	CHECK(get64(&m, BOOT_ZERO_PAGE + 0x2d0 + 48) == (256ULL << 20) - 0x100000);
	CHECK(get32(&m, BOOT_ZERO_PAGE + 0x2d0 + 56) == E820_RAM);
	CHECK(get32(&m, BOOT_ZERO_PAGE + 0x2d0 + 36) == E820_RESERVED);
	mem_free(&m);
}

static void test_pvh_info(void)
{
	struct vm_mem m = mem_new(64);
	struct hull_err err = {0};
	struct vm_boot_info b = {.cmdline_addr = BOOT_CMDLINE,
				 .cmdline_size = 10,
				 .initrd_addr = 0x3000000,
				 .initrd_size = 4096};
	CHECK(vm_boot_pvh_info(&m, &b, &err) == 0);
	CHECK(get32(&m, BOOT_PVH_INFO) == 0x336ec578);
	CHECK(get32(&m, BOOT_PVH_INFO + 4) == 1);
	CHECK(get32(&m, BOOT_PVH_INFO + 12) == 1);
	uint64_t mods = get64(&m, BOOT_PVH_INFO + 16);
	CHECK(get64(&m, mods) == 0x3000000 && get64(&m, mods + 8) == 4096);
	CHECK(get64(&m, BOOT_PVH_INFO + 24) == BOOT_CMDLINE);
	uint64_t map = get64(&m, BOOT_PVH_INFO + 40);
	CHECK(get32(&m, BOOT_PVH_INFO + 48) == 3);
	CHECK(get64(&m, map + 48) == 0x100000 && get64(&m, map + 56) == (64ULL << 20) - 0x100000);
	mem_free(&m);
}

static void test_initrd(void)
{
	struct hull_err err = {0};
	uint64_t a = 0, size = (10ULL << 20) + 123;
	CHECK(vm_boot_initrd_addr(256ULL << 20, 20ULL << 20, size, &a, &err) == 0);
	CHECK(a % 4096 == 0 && a >= (20ULL << 20) && a + size <= (256ULL << 20));
	CHECK(a + size > (256ULL << 20) - 4096);
	CHECK(vm_boot_initrd_addr(3072ULL << 20, 20ULL << 20, size, &a, &err) == 0);
	CHECK(a + size <= (3072ULL << 20) && a > (3000ULL << 20));
	CHECK(vm_boot_initrd_addr(64ULL << 20, 20ULL << 20, 50ULL << 20, &a, &err) < 0);
	CHECK_CONTAINS(err.msg, "does not fit");
	CHECK(vm_boot_initrd_addr(64ULL << 20, 20ULL << 20, 128ULL << 20, &a, &err) < 0);
	CHECK(vm_boot_initrd_addr(64ULL << 20, 0, 0, &a, &err) == 0 && a == (64ULL << 20));
	hull_err_clear(&err);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static void check_mptable(unsigned ncpus)
{
	struct vm_mem m = mem_new(16);
	struct hull_err err = {0};
	CHECK(vm_mptable_write(&m, ncpus, &err) == 0);
	const uint8_t *mpf = m.base + BOOT_MPTABLE;
	CHECK(memcmp(mpf, "_MP_", 4) == 0);
	CHECK(sum(mpf, 16) == 0);
	CHECK(mpf[8] == 1 && mpf[9] == 4 && mpf[11] == 0);
	uint32_t phys = get32(&m, BOOT_MPTABLE + 4);
	const uint8_t *mpc = m.base + phys;
	uint16_t len, count;
	memcpy(&len, mpc + 4, 2);
	memcpy(&count, mpc + 34, 2);
	CHECK(memcmp(mpc, "PCMP", 4) == 0);
	CHECK(sum(mpc, len) == 0);
	CHECK(count == ncpus + 1 + 1 + 16 + 2);
	CHECK(len == 44 + 20 * ncpus + 8 * (4 + 16));
	CHECK(get32(&m, phys + 36) == MPTABLE_LAPIC_ADDR);
	const uint8_t *e = mpc + 44;
	unsigned cpus = 0, bsp = 0, ioapics = 0, ints = 0, lints = 0;
	for (unsigned i = 0; i < count; i++) {
		if (e[0] == 0) {
			CHECK(e[1] == cpus);
			cpus++;
			bsp += (e[3] & 2) != 0;
			CHECK(e[3] & 1);
			e += 20;
			continue;
		}
		if (e[0] == 2) {
			uint32_t a;
			memcpy(&a, e + 4, 4);
			CHECK(a == MPTABLE_IOAPIC_ADDR && e[1] == ncpus);
			ioapics++;
		}
		if (e[0] == 3) {
			CHECK(e[5] == e[7] && e[6] == ncpus); /* ISA irq n on pin n */
			ints++;
		}
		lints += e[0] == 4;
		e += 8;
	}
	CHECK(cpus == ncpus && bsp == 1 && ioapics == 1 && ints == 16 && lints == 2);
	CHECK(e == mpc + len);
	mem_free(&m);
}

static void test_mptable(void)
{
	struct vm_mem m = mem_new(16);
	struct hull_err err = {0};
	check_mptable(1);
	check_mptable(4);
	check_mptable(64);
	CHECK(vm_mptable_write(&m, 0, &err) < 0);
	CHECK(vm_mptable_write(&m, 65, &err) < 0);
	hull_err_clear(&err);
	mem_free(&m);
}

/* A 4-level walk from BOOT_PML4, as the CPU does it with 2 MiB pages. */
static uint64_t translate(const struct vm_mem *m, uint64_t va, bool *ok)
{
	uint64_t pml4e = get64(m, BOOT_PML4 + 8 * ((va >> 39) & 511));
	uint64_t pdpte = get64(m, (pml4e & ~0xfffULL) + 8 * ((va >> 30) & 511));
	uint64_t pde = get64(m, (pdpte & ~0xfffULL) + 8 * ((va >> 21) & 511));
	*ok =
	    (pml4e & 1) && (pdpte & 1) && !(pdpte & 0x80) && (pde & 1) && (pde & 0x80) && (pde & 2);
	return (pde & ~0x1fffffULL) + (va & 0x1fffff);
}

static void test_page_tables(void)
{
	struct vm_mem m = mem_new(16);
	struct hull_err err = {0};
	CHECK(vm_boot_page_tables(&m, &err) == 0);
	const uint64_t addrs[] = {0,	      0x7000,	  0x1000000,  0x1234567,
				  0xbfffffff, 0xd0000000, 0xfee00000, 0xffffffff};
	for (unsigned i = 0; i < sizeof addrs / sizeof *addrs; i++) {
		bool ok = false;
		CHECK(translate(&m, addrs[i], &ok) == addrs[i]);
		CHECK(ok);
	}
	CHECK(get64(&m, BOOT_PML4 + 8) == 0);	  /* nothing above 512 GiB */
	CHECK(get64(&m, BOOT_PDPT + 8 * 4) == 0); /* nothing above 4 GiB */
	mem_free(&m);
}

static void test_gdt(void)
{
	struct vm_mem m = mem_new(16);
	struct hull_err err = {0};
	CHECK(vm_boot_gdt_write(&m, &err) == 0);
	CHECK(get64(&m, BOOT_GDT) == 0);
	CHECK(get64(&m, BOOT_GDT + BOOT_SEL_CODE64) == vm_boot_gdt[2]);
	struct vm_segment c64 = vm_gdt_segment(vm_boot_gdt[2], BOOT_SEL_CODE64);
	CHECK(c64.l == 1 && c64.db == 0 && c64.present && c64.s && c64.type == 0xb);
	CHECK(c64.base == 0 && c64.limit == 0xffffffff && c64.selector == 0x10 && c64.dpl == 0);
	struct vm_segment c32 = vm_gdt_segment(vm_boot_gdt[1], BOOT_SEL_CODE32);
	CHECK(c32.l == 0 && c32.db == 1 && c32.g == 1 && c32.limit == 0xffffffff);
	struct vm_segment d = vm_gdt_segment(vm_boot_gdt[3], BOOT_SEL_DATA);
	CHECK(d.type == 3 && d.s && d.db && d.limit == 0xffffffff && d.selector == 0x18);
	struct vm_segment tss = vm_gdt_segment(vm_boot_gdt[4], BOOT_SEL_TSS);
	CHECK(tss.type == 0xb && !tss.s && tss.present && tss.limit == 0x67 && !tss.g);
	struct vm_segment odd = vm_gdt_segment(0x12cf9a345678ffffULL, 8);
	CHECK(odd.base == 0x12345678 && odd.type == 0xa);
	mem_free(&m);
}

static void test_cmdline(void)
{
	char buf[BOOT_CMDLINE_MAX];
	struct hull_err err = {0};
	CHECK(vm_boot_cmdline(buf, sizeof buf, 3, "init=/x quiet2", &err) == 0);
	CHECK(strncmp(buf, "console=ttyS0 reboot=k panic=-1 quiet ", 38) == 0);
	CHECK_CONTAINS(buf, " virtio_mmio.device=4K@0xd0000000:5 ");
	CHECK_CONTAINS(buf, " virtio_mmio.device=4K@0xd0001000:6 ");
	CHECK_CONTAINS(buf, " virtio_mmio.device=4K@0xd0002000:7 init=/x quiet2");
	CHECK(strcmp(buf + strlen(buf) - 14, "init=/x quiet2") == 0);
	CHECK(vm_boot_cmdline(buf, sizeof buf, 0, NULL, &err) == 0);
	CHECK_STR(buf, "console=ttyS0 reboot=k panic=-1 quiet");
	char big[3000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	CHECK(vm_boot_cmdline(buf, sizeof buf, 3, big, &err) < 0);
	CHECK_CONTAINS(err.msg, "longer than 2047");
	hull_err_clear(&err);
}

static void test_cpuinfo(void)
{
	CHECK(vm_cpuinfo_has_virt("processor\t: 0\nflags\t\t: fpu vme vmx sse\nbugs\t: x\n"));
	CHECK(vm_cpuinfo_has_virt("flags\t\t: fpu svm\n"));
	CHECK(!vm_cpuinfo_has_virt("flags\t\t: fpu vmxx svm_lock hypervisor\nbugs: svm\n"));
	CHECK(!vm_cpuinfo_has_virt("processor: 0\n"));
}

/* A crafted ELF: one PT_LOAD of 16 bytes of code (0x2000 in memory), maybe a PVH note. */
struct img {
	_Alignas(8) uint8_t b[0x1100];
	size_t size;
};

static Elf64_Ehdr *make_elf(struct img *im, uint64_t vaddr, uint64_t paddr, uint64_t entry,
			    uint32_t note_descsz, uint64_t note_entry)
{
	memset(im, 0, sizeof *im);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)im->b;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof *eh;
	eh->e_ehsize = sizeof *eh;
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = note_descsz ? 2 : 1;
	Elf64_Phdr *ph = (Elf64_Phdr *)(im->b + sizeof *eh);
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
			     .p_flags = PF_R | PF_X,
			     .p_offset = 0x1000,
			     .p_vaddr = vaddr,
			     .p_paddr = paddr,
			     .p_filesz = 16,
			     .p_memsz = 0x2000,
			     .p_align = 0x1000};
	memset(im->b + 0x1000, 0x90, 16);
	if (note_descsz) {
		uint32_t hdr[3] = {4, note_descsz, 18};
		memcpy(im->b + 0x200, hdr, 12);
		memcpy(im->b + 0x20c, "Xen", 4);
		memcpy(im->b + 0x210, &note_entry, 8);
		ph[1] = (Elf64_Phdr){.p_type = PT_NOTE,
				     .p_offset = 0x200,
				     .p_filesz = 16 + ((note_descsz + 3) & ~3U),
				     .p_align = 4};
	}
	im->size = 0x1010;
	return eh;
}

static void test_elf_load(void)
{
	struct vm_mem m = mem_new(64);
	struct hull_err err = {0};
	struct img im;
	struct vm_kernel k;
	make_elf(&im, 0x200000, 0x200000, 0x200004, 0, 0);
	memset(m.base + 0x200000, 0xee, 0x3000);
	CHECK(vm_elf_load(im.b, im.size, &m, &k, &err) == 0);
	CHECK(k.entry == 0x200004 && !k.pvh && k.end == 0x202000);
	CHECK(m.base[0x200000] == 0x90 && m.base[0x20000f] == 0x90);
	CHECK(m.base[0x200010] == 0 && m.base[0x201fff] == 0); /* bss zeroed */
	CHECK(m.base[0x202000] == 0xee);
	/* a vmlinux: high virtual addresses, physical e_entry */
	make_elf(&im, 0xffffffff81000000ULL, 0x1000000, 0x1000000, 0, 0);
	CHECK(vm_elf_load(im.b, im.size, &m, &k, &err) == 0);
	CHECK(k.entry == 0x1000000 && !k.pvh);
	/* a virtual e_entry is translated */
	make_elf(&im, 0xffffffff81000000ULL, 0x1000000, 0xffffffff81000100ULL, 0, 0);
	CHECK(vm_elf_load(im.b, im.size, &m, &k, &err) == 0 && k.entry == 0x1000100);
	hull_err_clear(&err);
	mem_free(&m);
}

static void check_bad(struct img *im, size_t size, const char *want)
{
	struct vm_mem m = mem_new(64);
	struct hull_err err = {0};
	struct vm_kernel k;
	CHECK(vm_elf_load(im->b, size, &m, &k, &err) < 0);
	CHECK_CONTAINS(err.msg, want);
	hull_err_clear(&err);
	mem_free(&m);
}

static void test_elf_bad(void)
{
	struct img im;
	Elf64_Ehdr *eh = make_elf(&im, 0x200000, 0x200000, 0x200000, 0, 0);
	check_bad(&im, 40, "not an ELF");
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	check_bad(&im, im.size, "not a 64-bit ELF");
	eh = make_elf(&im, 0x200000, 0x200000, 0x200000, 0, 0);
	eh->e_machine = EM_AARCH64;
	check_bad(&im, im.size, "not an x86-64 ELF");
	eh = make_elf(&im, 0x200000, 0x200000, 0x200000, 0, 0);
	eh->e_phoff = 0x100000;
	check_bad(&im, im.size, "program headers");
	eh = make_elf(&im, 0x200000, 0x200000, 0x200000, 0, 0);
	eh->e_phnum = 0xffff;
	check_bad(&im, im.size, "program headers");
	Elf64_Phdr *ph = (Elf64_Phdr *)(im.b + 64);
	eh = make_elf(&im, 0x200000, 0x200000, 0x200000, 0, 0);
	ph->p_offset = UINT64_MAX - 4;
	check_bad(&im, im.size, "outside the file");
	eh = make_elf(&im, 0x200000, 0x200000, 0x200000, 0, 0);
	ph->p_filesz = 0x3000;
	check_bad(&im, im.size, "outside the file");
	eh = make_elf(&im, 0x200000, 0x3fff000, 0x3fff000, 0, 0);
	check_bad(&im, im.size, "does not fit");
	eh = make_elf(&im, 0x200000, UINT64_MAX - 0x1000, 0x200000, 0, 0);
	check_bad(&im, im.size, "does not fit");
	eh = make_elf(&im, 0x7000, 0x7000, 0x7000, 0, 0);
	check_bad(&im, im.size, "below 1 MiB");
	eh = make_elf(&im, 0x200000, 0x200000, 0x900000, 0, 0);
	check_bad(&im, im.size, "not in a loaded segment");
	eh = make_elf(&im, 0x200000, 0x200000, 0x200000, 0, 0);
	ph->p_type = PT_NULL;
	check_bad(&im, im.size, "no loadable segment");
}

static void test_elf_pvh(void)
{
	struct vm_mem m = mem_new(64);
	struct hull_err err = {0};
	struct img im;
	struct vm_kernel k;
	uint32_t entry = 0;
	make_elf(&im, 0x200000, 0x200000, 0x200000, 4, 0x200008);
	CHECK(vm_elf_pvh_entry(im.b, im.size, &entry, &err) == 1 && entry == 0x200008);
	CHECK(vm_elf_load(im.b, im.size, &m, &k, &err) == 0);
	CHECK(k.pvh && k.entry == 0x200008);
	make_elf(&im, 0x200000, 0x200000, 0x200000, 8, 0x200008);
	CHECK(vm_elf_load(im.b, im.size, &m, &k, &err) == 0 && k.pvh && k.entry == 0x200008);
	make_elf(&im, 0x200000, 0x200000, 0x200000, 0, 0);
	CHECK(vm_elf_pvh_entry(im.b, im.size, &entry, &err) == 0);
	/* a vmlinux with a PVH note still boots at its 64-bit entry */
	make_elf(&im, 0xffffffff81000000ULL, 0x1000000, 0x1000000, 4, 0x1000008);
	CHECK(vm_elf_load(im.b, im.size, &m, &k, &err) == 0 && !k.pvh && k.entry == 0x1000000);
	/* malformed notes */
	make_elf(&im, 0x200000, 0x200000, 0x200000, 16, 0x200008);
	CHECK(vm_elf_load(im.b, im.size, &m, &k, &err) < 0);
	CHECK_CONTAINS(err.msg, "bad PVH entry note");
	make_elf(&im, 0x200000, 0x200000, 0x200000, 8, 0x100200008ULL);
	CHECK(vm_elf_load(im.b, im.size, &m, &k, &err) < 0);
	CHECK_CONTAINS(err.msg, "above 4 GiB");
	Elf64_Phdr *ph = (Elf64_Phdr *)(im.b + 64);
	make_elf(&im, 0x200000, 0x200000, 0x200000, 4, 0x200008);
	uint32_t huge = 0xfffffff0;
	memcpy(im.b + 0x204, &huge, 4);
	CHECK(vm_elf_load(im.b, im.size, &m, &k, &err) < 0);
	CHECK_CONTAINS(err.msg, "bad ELF note");
	make_elf(&im, 0x200000, 0x200000, 0x200000, 4, 0x200008);
	ph[1].p_filesz = 0x100000;
	CHECK(vm_elf_load(im.b, im.size, &m, &k, &err) < 0);
	CHECK_CONTAINS(err.msg, "outside the file");
	hull_err_clear(&err);
	mem_free(&m);
}

int main(void)
{
	RUN(test_e820);
	RUN(test_zero_page);
	RUN(test_pvh_info);
	RUN(test_initrd);
	RUN(test_mptable);
	RUN(test_page_tables);
	RUN(test_gdt);
	RUN(test_cmdline);
	RUN(test_cpuinfo);
	RUN(test_elf_load);
	RUN(test_elf_bad);
	RUN(test_elf_pvh);
	return unit_done();
}
