/* hull's own KVM virtual machine monitor: boot a Linux guest (or a PVH image) on /dev/kvm
 * with the container's stdio on virtio-console, and return its exit status.
 *
 * Changes from the first draft of this interface, and why:
 * - vm_config.bare_guest: the bench's minimal guest has no control channel; for it a reset
 *   is the normal end (vm_run returns 0 with res->exited false) instead of an error.
 * - The guest's console: the kernel always gets `console=ttyS0` (the 8250, debug only; its
 *   output goes to serial_fd or nowhere). Kernel messages never reach the container's
 *   stdout: hvc0/hvc1 carry the workload's stdio and nothing else.
 * - The control channel (hvc2, text lines) grew two lines. Host->guest `eof N`: the
 *   container's stdin reached its end (or there is none: N = 0, queued before `ready`
 *   arrives) after the VMM put N bytes (decimal, below 2^63) into hvc0's receive buffers,
 *   so the guest init closes the process's stdin once it has relayed exactly N bytes. The
 *   count, not the order of arrival, marks the end: the guest kernel's hvc driver hands
 *   hvc0's input to its tty lazily (128 bytes per interrupt, the rest from the khvcd
 *   thread), so the `eof` line on hvc2 can reach the guest init before the last stdin bytes
 *   on hvc0. Without a terminal the guest drops bytes past N and logs one line on hvc1;
 *   with one it ignores `eof` (the tty's user ends input with ^D).
 *   Guest->host `ready`: hvc0 is open and set up (raw mode unless the
 *   container has a terminal); the VMM reads the container's stdin only after it, because
 *   bytes that reach a tty earlier are echoed and edited by its line discipline.
 *   The whole protocol: host->guest `signal N`, `winsize ROWS COLS`, `eof N`; guest->host
 *   `ready`, then `exit N` or `signaled N` (the last one wins) before the guest resets.
 * - Devices, in command-line order: virtio_mmio.device=4K@0xd0000000:5 (hvc0: stdin and
 *   stdout), @0xd0001000:6 (hvc1: stderr, guest->host only), @0xd0002000:7 (hvc2: control).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

struct vm_config {
	/* An uncompressed vmlinux (ELF64 linked at the kernel's high virtual addresses,
	 * entered at its 64-bit entry with the Linux boot protocol), or any other ELF64 with
	 * a PVH note (XEN_ELFNOTE_PHYS32_ENTRY: entered in 32-bit protected mode, EBX = PVH
	 * start info), or else an ELF64 entered at e_entry in 64-bit mode. */
	const char *kernel;
	/* With use_fds, kernel_fd and kvm_fd are already open (the container's init opens them
	 * before pivot_root hides the host's files) and kernel only names the file in errors.
	 * vm_run does not close them. */
	bool use_fds;
	int kernel_fd, kvm_fd;
	const char *cmdline; /* appended to the VMM's own kernel arguments; may be NULL */
	const void *initrd;  /* initramfs bytes (cpio, maybe compressed), may be NULL */
	size_t initrd_size;
	unsigned cpus;			    /* 1..64 */
	unsigned memory_mib;		    /* 16..3072 */
	int stdin_fd, stdout_fd, stderr_fd; /* the container's stdio (-1: none / discard) */
	int serial_fd;			    /* 8250 output (debug console), -1 discards it */
	bool forward_signals; /* forward SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2
				 and SIGWINCH (as the tty's size) to the guest */
	bool bare_guest;      /* no control channel: a guest reset ends vm_run with 0 */
};

/* From the guest's control channel: `exit N` gives exited/exit_code, `signaled N` gives
 * signal; the last such line wins. */
struct vm_result {
	bool exited;
	int exit_code;
	int signal;
};

/* Boot the guest and run it until it resets (the guest init's last act), fails, or a
 * device meets a malformed ring. Returns 0 with res filled from the control channel, or -1
 * with one line in err: a bad config or kernel, a KVM failure, a hostile or broken guest
 * ("virtio-console: ..."), or "the guest stopped without an exit status (kernel panic?)".
 * No thread, fd or mapping outlives the call. One vm_run at a time per process: it
 * installs a handler for SIGRTMIN (to kick vCPUs out of KVM_RUN) while it runs. */
int vm_run(const struct vm_config *cfg, struct vm_result *res, struct hull_err *err);

/* 0 when /dev/kvm can run a Linux guest; -1 with one clear line otherwise: no /dev/kvm, no
 * vmx/svm flag in /proc/cpuinfo, a paravirtual PVM kvm, or KVM_CREATE_VM failing. */
int vm_host_check(struct hull_err *err);
