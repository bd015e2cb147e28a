/* The smallest guest: a PVH ELF (an XEN_ELFNOTE_PHYS32_ENTRY note, entered in 32-bit
 * protected mode) that prints "ok" on the 8250 and ends the VM. Used by the micro-VM's
 * run test and by bench/vm-latency, under hull's VMM and under `qemu -M microvm`.
 *
 * Ending: hull's VMM stops at the i8042 reset (0xFE to port 0x64). QEMU's microvm has no
 * i8042, so the guest then triple-faults (ud2 with an empty IDT: #UD, #DF, shutdown),
 * which ends QEMU under -no-reboot and would end hull's VMM as well. Not int3: this host's
 * paravirtual KVM cannot emulate it ("emulation failure"), and QEMU then hangs. */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.text
	.code32
	.globl pvh_start
pvh_start:
	mov $0x3f8, %dx
	mov $'o', %al
	out %al, %dx
	mov $'k', %al
	out %al, %dx
	mov $'\n', %al
	out %al, %dx
	mov $0xfe, %al
	out %al, $0x64
	lidt idt_empty
	ud2
1:	hlt
	jmp 1b

	.balign 8
idt_empty:
	.word 0
	.long 0
