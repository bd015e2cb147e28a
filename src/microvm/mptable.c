/* The Intel MultiProcessor table (MP spec 1.4, chapter 4): how a guest without ACPI learns
 * its CPUs, its IOAPIC and how ISA interrupts reach it. Linux looks for the floating
 * pointer in the last KiB of base memory (0x9fc00), where the e820 map reserves room. */
#include <string.h>

#include "vm_boot.h"

#define MP_SPEC_REV   4
#define APIC_VERSION  0x14
#define IOAPIC_VER    0x11
#define ISA_IRQS      16
#define MPC_HDR_SIZE  44
#define MPF_SIZE      16
#define CPU_ENTRY     20
#define SMALL_ENTRY   8
#define CPU_SIGNATURE 0x600 /* family 6: any plausible value, Linux does not use it */
#define CPU_FEATURES  0x201 /* FPU, APIC */

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

static uint8_t *entry8(uint8_t *p, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f,
		       uint8_t g, uint8_t h)
{
	const uint8_t e8[SMALL_ENTRY] = {a, b, c, d, e, f, g, h};
	memcpy(p, e8, SMALL_ENTRY);
	return p + SMALL_ENTRY;
}

static uint8_t *write_entries(uint8_t *p, unsigned ncpus, uint16_t *count)
{
	uint8_t ioapic_id = (uint8_t)ncpus;
	for (unsigned i = 0; i < ncpus; i++) {
		uint32_t sig = CPU_SIGNATURE, feat = CPU_FEATURES;
		memset(p, 0, CPU_ENTRY);
		p[0] = MP_PROCESSOR;
		p[1] = (uint8_t)i; /* the APIC id, as in CPUID */
		p[2] = APIC_VERSION;
		p[3] = 1 | (i == 0 ? 2 : 0); /* enabled, bootstrap processor */
		memcpy(p + 4, &sig, 4);
		memcpy(p + 8, &feat, 4);
		p += CPU_ENTRY;
	}
	p = entry8(p, MP_BUS, 0, 'I', 'S', 'A', ' ', ' ', ' ');
	uint32_t addr = MPTABLE_IOAPIC_ADDR;
	p = entry8(p, MP_IOAPIC, ioapic_id, IOAPIC_VER, 1, 0, 0, 0, 0);
	memcpy(p - 4, &addr, 4);
	/* ISA irq i on IOAPIC pin i: KVM's default GSI routing. The virtio-mmio devices use
	 * pins 5, 6, 7 (VM_IRQ_FIRST_MMIO), inside this range. */
	for (unsigned irq = 0; irq < ISA_IRQS; irq++)
		p = entry8(p, MP_INTSRC, MP_INT, 0, 0, 0, (uint8_t)irq, ioapic_id, (uint8_t)irq);
	p = entry8(p, MP_LINTSRC, MP_EXTINT, 0, 0, 0, 0, 0xff, 0);
	p = entry8(p, MP_LINTSRC, MP_NMI, 0, 0, 0, 0, 0xff, 1);
	*count = (uint16_t)(ncpus + 2 + ISA_IRQS + 2);
	return p;
}

int vm_mptable_write(const struct vm_mem *m, unsigned ncpus, struct hull_err *err)
{
	size_t size = MPF_SIZE + MPC_HDR_SIZE + ncpus * CPU_ENTRY + (4 + ISA_IRQS) * SMALL_ENTRY;
	uint8_t *mpf = vm_mem_ptr(m, BOOT_MPTABLE, size);
	if (ncpus == 0 || ncpus > VM_MAX_CPUS || !mpf)
		return hull_error(err, 0, "cannot write the MP table for %u CPUs", ncpus);
	memset(mpf, 0, size);
	uint8_t *mpc = mpf + MPF_SIZE;
	uint16_t count = 0;
	uint8_t *end = write_entries(mpc + MPC_HDR_SIZE, ncpus, &count);
	uint16_t len = (uint16_t)(end - mpc);
	uint32_t lapic = MPTABLE_LAPIC_ADDR, mpc_addr = (uint32_t)(BOOT_MPTABLE + MPF_SIZE);

	memcpy(mpc, "PCMP", 4);
	memcpy(mpc + 4, &len, 2);
	mpc[6] = MP_SPEC_REV;
	memcpy(mpc + 8, "HULL    ", 8);
	memcpy(mpc + 16, "MICROVM     ", 12);
	memcpy(mpc + 34, &count, 2);
	memcpy(mpc + 36, &lapic, 4);
	mpc[7] = checksum(mpc, len);

	memcpy(mpf, "_MP_", 4);
	memcpy(mpf + 4, &mpc_addr, 4);
	mpf[8] = 1; /* length in 16-byte units */
	mpf[9] = MP_SPEC_REV;
	mpf[10] = checksum(mpf, MPF_SIZE);
	return 0;
}
