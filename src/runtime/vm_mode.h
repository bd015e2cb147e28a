/* Micro-VM mode in the runtime (vm_mode.c: the plan, made at create before anything
 * exists; vm_init.c: the container's init turning into the VMM). */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/oci.h"

struct vm_plan {
	bool on;
	char kernel[PATH_MAX];
	unsigned cpus, memory_mib;
	/* linux.seccomp compiled for the guest (in the spec's arena); NULL: none. */
	unsigned char *seccomp_bpf;
	size_t seccomp_len;
	unsigned seccomp_flags;
};

/* Decide from the annotations (org.hull.vm*, or as_hull_vm when hull runs as hull-vm) and
 * the resources, and compile linux.seccomp for the guest (refusing what cannot work there);
 * on a host whose /dev/kvm cannot run a Linux guest, fail with one line.
 * In VM mode the spec gains a device rule for /dev/kvm. */
int vm_mode_plan(struct oci_spec *spec, bool as_hull_vm, struct vm_plan *p, struct hull_err *err);

/* What the init holds between its steps. */
struct vm_init {
	int kernel_fd, kvm_fd, rootfs_fd;
	void *initrd;
	size_t initrd_size;
};

/* Before pivot_root: the kernel, /dev/kvm and the rootfs, from the host's view. */
int vm_init_open(const struct vm_plan *p, const struct oci_spec *spec, struct vm_init *vi,
		 struct hull_err *err);
/* After the rootfs is set up, still as root: the initramfs with the guest's config. */
int vm_init_build(const struct vm_plan *p, const struct oci_spec *spec, struct vm_init *vi,
		  struct hull_err *err);
/* The VMM keeps no capability and cannot gain privileges. */
int vm_init_drop_privileges(struct hull_err *err);
/* Run the VM; exits with the container's status (128+N for a signal, 125 when the VM
 * failed, with the reason on stderr). */
__attribute__((noreturn)) void vm_init_run(const struct vm_plan *p, struct vm_init *vi);
