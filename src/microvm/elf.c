/* Loading the kernel: an ELF64 x86-64 executable, its PT_LOAD segments copied to their
 * physical addresses. The file is untrusted input too: every offset, count and size is
 * checked against the file and guest RAM, with overflow in mind.
 *
 * Which entry: a vmlinux (linked at the kernel's high virtual addresses) is entered at
 * e_entry, which the x86-64 kernel's linker script makes physical (phys_startup_64), with
 * the Linux 64-bit boot protocol. Any other image with a PVH note (XEN_ELFNOTE_PHYS32_ENTRY)
 * is entered there in 32-bit protected mode; without one, at e_entry in 64-bit mode. */
#include <elf.h>
#include <string.h>

#include "vm_boot.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define KERNEL_VIRT_BASE	 0xffffffff80000000ULL

static bool in_file(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

static int check_header(const uint8_t *img, size_t size, struct hull_err *err)
{
	if (size < sizeof(Elf64_Ehdr) || memcmp(img, ELFMAG, SELFMAG) != 0)
		return hull_error(err, 0, "not an ELF file (want an uncompressed vmlinux)");
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return hull_error(err, 0, "not a 64-bit ELF (only ELF64 x86-64 kernels load)");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		return hull_error(err, 0, "not an x86-64 ELF");
	if (eh->e_type != ET_EXEC)
		return hull_error(err, 0, "not an ELF executable");
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    !in_file(size, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		return hull_error(err, 0, "bad ELF program headers");
	if (eh->e_phoff % _Alignof(Elf64_Phdr))
		return hull_error(err, 0, "misaligned ELF program headers");
	return 0;
}

static const Elf64_Phdr *phdrs(const uint8_t *img)
{
	return (const Elf64_Phdr *)(img + ((const Elf64_Ehdr *)img)->e_phoff);
}

/* Walk the notes of one PT_NOTE segment (4-byte aligned name and descriptor). */
static int scan_notes(const uint8_t *p, uint64_t len, uint32_t *entry, struct hull_err *err)
{
	uint64_t off = 0;
	while (len - off >= 12) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, p + off, 4);
		memcpy(&descsz, p + off + 4, 4);
		memcpy(&type, p + off + 8, 4);
		uint64_t name_off = off + 12,
			 desc_off = name_off + (((uint64_t)namesz + 3) & ~3ULL);
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ULL);
		if (next > len)
			return hull_error(err, 0, "bad ELF note");
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    !memcmp(p + name_off, "Xen", 4)) {
			uint64_t v = 0;
			if (descsz != 4 && descsz != 8)
				return hull_error(err, 0, "bad PVH entry note (size %u)", descsz);
			memcpy(&v, p + desc_off, descsz);
			if (v >> 32)
				return hull_error(err, 0, "PVH entry 0x%llx above 4 GiB",
						  (unsigned long long)v);
			*entry = (uint32_t)v;
			return 1;
		}
		off = next;
	}
	return 0;
}

int vm_elf_pvh_entry(const uint8_t *img, size_t size, uint32_t *entry, struct hull_err *err)
{
	if (check_header(img, size, err) < 0)
		return -1;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Phdr *ph = phdrs(img);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_NOTE)
			continue;
		if (!in_file(size, ph[i].p_offset, ph[i].p_filesz))
			return hull_error(err, 0, "ELF note segment outside the file");
		int r = scan_notes(img + ph[i].p_offset, ph[i].p_filesz, entry, err);
		if (r != 0)
			return r;
	}
	return 0;
}

static int load_segment(const uint8_t *img, size_t size, const Elf64_Phdr *ph,
			const struct vm_mem *m, struct hull_err *err)
{
	if (!in_file(size, ph->p_offset, ph->p_filesz) || ph->p_filesz > ph->p_memsz)
		return hull_error(err, 0, "ELF segment outside the file");
	if (ph->p_paddr < BOOT_HIGH_RAM)
		return hull_error(err, 0, "ELF segment at 0x%llx, below 1 MiB",
				  (unsigned long long)ph->p_paddr);
	uint8_t *dst = vm_mem_ptr(m, ph->p_paddr, ph->p_memsz);
	if (!dst)
		return hull_error(err, 0,
				  "ELF segment 0x%llx+0x%llx does not fit in %llu MiB of RAM",
				  (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
				  (unsigned long long)(m->size >> 20));
	memcpy(dst, img + ph->p_offset, ph->p_filesz);
	memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	return 0;
}

/* e_entry is physical for a vmlinux and for a flat image; translate it through the
 * segments only when it is a virtual address. */
static int entry_paddr(const uint8_t *img, uint64_t e, uint64_t *out, struct hull_err *err)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Phdr *ph = phdrs(img);
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && e >= ph[i].p_paddr &&
		    e - ph[i].p_paddr < ph[i].p_memsz) {
			*out = e;
			return 0;
		}
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && e >= ph[i].p_vaddr &&
		    e - ph[i].p_vaddr < ph[i].p_memsz) {
			*out = ph[i].p_paddr + (e - ph[i].p_vaddr);
			return 0;
		}
	return hull_error(err, 0, "ELF entry 0x%llx is not in a loaded segment",
			  (unsigned long long)e);
}

int vm_elf_load(const uint8_t *img, size_t size, const struct vm_mem *m, struct vm_kernel *k,
		struct hull_err *err)
{
	if (check_header(img, size, err) < 0)
		return -1;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Phdr *ph = phdrs(img);
	bool linux_kernel = false, loaded = false;
	k->end = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (load_segment(img, size, &ph[i], m, err) < 0)
			return -1;
		loaded = true;
		linux_kernel |= ph[i].p_vaddr >= KERNEL_VIRT_BASE;
		if (ph[i].p_paddr + ph[i].p_memsz > k->end)
			k->end = ph[i].p_paddr + ph[i].p_memsz;
	}
	if (!loaded)
		return hull_error(err, 0, "ELF has no loadable segment");
	uint32_t pvh = 0;
	int r = linux_kernel ? 0 : vm_elf_pvh_entry(img, size, &pvh, err);
	if (r < 0)
		return -1;
	k->pvh = r == 1;
	if (k->pvh) {
		k->entry = pvh;
		return entry_paddr(img, pvh, &k->entry, err);
	}
	return entry_paddr(img, eh->e_entry, &k->entry, err);
}
