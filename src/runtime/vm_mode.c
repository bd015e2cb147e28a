/* Micro-VM mode (org.hull.vm=true, or hull invoked as hull-vm): the container is made as
 * usual (namespaces, cgroup, rootfs, hooks, console), and its init, instead of exec'ing
 * process.args, becomes hull's VMM, which boots the guest kernel with the container's rootfs
 * as an initramfs and runs process.args in the guest. Limits, `ps`, `kill` and the exit
 * status hold as for any container because the VMM is the container's init; the guest
 * kernel is the isolation boundary.
 *
 * In the guest: args, env, cwd, user and groups, umask, hostname, rlimits, terminal,
 * noNewPrivileges, root.readonly, process.capabilities (absent = none, as in a container
 * without a VM) and linux.seccomp apply (src/guest/). The filter is compiled here at create
 * by the same libseccomp code as for other containers, exported as BPF and loaded by the
 * guest init; SCMP_ACT_NOTIFY and listenerPath are refused, since the notify fd would live in
 * the guest kernel where no agent on the host can read it. Not yet: the spec's mounts and
 * volumes (the rootfs is a copy in guest RAM: writes are lost) and LSM labels inside the
 * guest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/guestcfg.h"
#include "common/log.h"
#include "microvm/initramfs.h"
#include "microvm/microvm.h"
#include "runtime.h"
#include "security/security.h"
#include "vm_mode.h"

#define ANN_VM	   "org.hull.vm"
#define ANN_KERNEL "org.hull.vm.kernel"
#define ANN_CPUS   "org.hull.vm.cpus"
#define ANN_MEMORY "org.hull.vm.memory"

#define VM_DEFAULT_MEMORY_MIB 512
#define VM_OVERHEAD_MIB	      32 /* the VMM's own memory inside the container's limit */
#define VM_MIN_MEMORY_MIB     64
#define VM_MAX_MEMORY_MIB     3072
#define VM_MAX_CPUS	      64

/* The documented install path of the guest kernel, then where
 * scripts/build-guest-kernel.sh leaves it. */
static const char *const default_kernels[] = {
    "/usr/lib/hull/vmlinux",
    "/var/cache/hull-vm/guest-kernel/vmlinux",
};

static const char *annotation(const struct oci_spec *spec, const char *key)
{
	for (size_t i = 0; i < spec->n_annotations; i++)
		if (strcmp(spec->annotations[i].key, key) == 0)
			return spec->annotations[i].value;
	return NULL;
}

static int wanted(const struct oci_spec *spec, bool as_hull_vm, bool *on, struct hull_err *err)
{
	const char *v = annotation(spec, ANN_VM);
	*on = as_hull_vm;
	if (v == NULL)
		return 0;
	if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
		return hull_error(err, 0, "annotation %s: want \"true\" or \"false\", not \"%s\"",
				  ANN_VM, v);
	*on = strcmp(v, "true") == 0;
	return 0;
}

static int parse_count(const char *key, const char *text, unsigned lo, unsigned hi, unsigned *out,
		       struct hull_err *err)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != 0 || text[0] == '-' || v < lo || v > hi)
		return hull_error(err, 0, "annotation %s: want a number from %u to %u, not \"%s\"",
				  key, lo, hi, text);
	*out = (unsigned)v;
	return 0;
}

/* An ELF file we can read; the VMM checks the rest when it loads it. */
static int check_kernel(const char *key, const char *path, struct hull_err *err)
{
	unsigned char magic[4];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "%s: guest kernel %s", key, path);
	if (read(fd, magic, sizeof magic) != sizeof magic || memcmp(magic,
								    "\x7f"
								    "ELF",
								    4) != 0)
		return hull_error(err, 0,
				  "%s: guest kernel %s is not an uncompressed vmlinux (ELF) file",
				  key, path);
	return 0;
}

static int pick_kernel(const struct oci_spec *spec, struct vm_plan *p, struct hull_err *err)
{
	const char *k = annotation(spec, ANN_KERNEL);
	if (k != NULL) {
		if (k[0] != '/')
			return hull_error(err, 0,
					  "annotation %s: want an absolute path, not \"%s\"",
					  ANN_KERNEL, k);
		snprintf(p->kernel, sizeof p->kernel, "%s", k);
		return check_kernel("annotation " ANN_KERNEL, p->kernel, err);
	}
	for (size_t i = 0; i < sizeof default_kernels / sizeof default_kernels[0]; i++)
		if (access(default_kernels[i], F_OK) == 0) {
			snprintf(p->kernel, sizeof p->kernel, "%s", default_kernels[i]);
			return check_kernel("micro-VM mode", p->kernel, err);
		}
	return hull_error(err, 0,
			  "micro-VM mode: no guest kernel at %s or %s (build one with "
			  "scripts/build-guest-kernel.sh, or set the annotation %s)",
			  default_kernels[0], default_kernels[1], ANN_KERNEL);
}

/* vCPUs: the annotation, else the cpu quota rounded up, else 1. */
static int pick_cpus(const struct oci_spec *spec, struct vm_plan *p, struct hull_err *err)
{
	const char *v = annotation(spec, ANN_CPUS);
	if (v != NULL)
		return parse_count("annotation " ANN_CPUS, v, 1, VM_MAX_CPUS, &p->cpus, err);
	const struct oci_resources *r = spec->linux_cfg.resources;
	p->cpus = 1;
	if (r != NULL && r->cpu.quota.set && r->cpu.quota.v > 0) {
		int64_t period =
		    r->cpu.period.set && r->cpu.period.v > 0 ? r->cpu.period.v : 100000;
		int64_t n = (r->cpu.quota.v + period - 1) / period;
		p->cpus = n > VM_MAX_CPUS ? VM_MAX_CPUS : (unsigned)n;
	}
	return 0;
}

/* Guest RAM: the annotation, else the memory limit less the VMM's own share, else 512 MiB. */
static int pick_memory(const struct oci_spec *spec, struct vm_plan *p, struct hull_err *err)
{
	const char *v = annotation(spec, ANN_MEMORY);
	if (v != NULL)
		return parse_count("annotation " ANN_MEMORY, v, VM_MIN_MEMORY_MIB,
				   VM_MAX_MEMORY_MIB, &p->memory_mib, err);
	const struct oci_resources *r = spec->linux_cfg.resources;
	p->memory_mib = VM_DEFAULT_MEMORY_MIB;
	if (r == NULL || !r->memory.limit.set || r->memory.limit.v <= 0)
		return 0;
	int64_t mib = (r->memory.limit.v >> 20) - VM_OVERHEAD_MIB;
	if (mib < VM_MIN_MEMORY_MIB)
		return hull_error(err, 0,
				  "linux.resources.memory.limit: %lld MiB leaves too little for a "
				  "micro-VM (it needs %d MiB plus %d for the VMM)",
				  (long long)(r->memory.limit.v >> 20), VM_MIN_MEMORY_MIB,
				  VM_OVERHEAD_MIB);
	p->memory_mib = mib > VM_MAX_MEMORY_MIB ? VM_MAX_MEMORY_MIB : (unsigned)mib;
	return 0;
}

/* The VMM opens /dev/kvm (10:232) from inside the container's device cgroup. */
static int allow_kvm_device(struct oci_spec *spec, struct hull_err *err)
{
	struct oci_resources *r = spec->linux_cfg.resources;
	if (r == NULL)
		return 0;
	struct oci_device_rule *v = arena_alloc(&spec->arena, (r->n_devices + 1) * sizeof *v);
	if (v == NULL)
		return hull_error(err, ENOMEM, "micro-VM mode: device rules");
	if (r->n_devices)
		memcpy(v, r->devices, r->n_devices * sizeof *v);
	v[r->n_devices] = (struct oci_device_rule){
	    .allow = true, .type = 'c', .major = 10, .minor = 232, .access = "rw"};
	r->devices = v;
	r->n_devices++;
	return 0;
}

/* At create, before anything exists: what the guest cannot do is refused here with one line,
 * and the filter the guest loads is compiled once. */
static int plan_seccomp(struct oci_spec *spec, struct vm_plan *p, struct hull_err *err)
{
	const struct oci_seccomp *s = spec->linux_cfg.seccomp;
	if (s == NULL)
		return 0;
	if (sec_seccomp_uses_notify(s) || s->listener_path != NULL)
		return hull_error(err, 0,
				  "linux.seccomp: SCMP_ACT_NOTIFY and listenerPath cannot work in "
				  "micro-VM mode (the notify fd would be the guest kernel's)");
	_cleanup_free_ unsigned char *bpf = NULL;
	size_t len = 0;
	if (sec_seccomp_export(s, &bpf, &len, &p->seccomp_flags, err) < 0)
		return hull_error_wrap(err, "linux.seccomp");
	if (len == 0 || len % GUESTCFG_BPF_INSN != 0 || len / GUESTCFG_BPF_INSN > GUESTCFG_MAX_BPF)
		return hull_error(err, 0,
				  "linux.seccomp: the filter compiles to %zu bytes, not 1 to %d "
				  "instructions (the kernel's limit)",
				  len, GUESTCFG_MAX_BPF);
	p->seccomp_bpf = arena_alloc(&spec->arena, len);
	memcpy(p->seccomp_bpf, bpf, len);
	p->seccomp_len = len;
	return 0;
}

/* The guest sees the rootfs as it is on disk: a volume bind-mounted into the container is
 * not there. Said once at create, so that an empty directory in the guest is no mystery. */
static void warn_bind_mounts(const struct oci_spec *spec)
{
	char list[1024] = "";
	size_t n = 0, len = 0;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		if (!spec->mounts[i].bind)
			continue;
		if (n++ > 0 && len < sizeof list)
			len += (size_t)snprintf(list + len, sizeof list - len, " ");
		if (len < sizeof list)
			len += (size_t)snprintf(list + len, sizeof list - len, "%s",
						spec->mounts[i].destination);
	}
	if (n > 0)
		log_msg(LOG_WARN,
			"micro-VM mode: %zu bind mount(s) not visible in the guest "
			"(it gets a copy of the rootfs only): %s",
			n, list);
}

int vm_mode_plan(struct oci_spec *spec, bool as_hull_vm, struct vm_plan *p, struct hull_err *err)
{
	*p = (struct vm_plan){0};
	if (wanted(spec, as_hull_vm, &p->on, err) < 0)
		return -1;
	if (!p->on)
		return 0;
	if (pick_cpus(spec, p, err) < 0 || pick_memory(spec, p, err) < 0 ||
	    pick_kernel(spec, p, err) < 0 || plan_seccomp(spec, p, err) < 0)
		return -1;
	warn_bind_mounts(spec);
	if (vm_host_check(err) < 0)
		return -1;
	return allow_kvm_device(spec, err);
}
