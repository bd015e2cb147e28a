/* The container's init in micro-VM mode: it opens what it needs from the host before
 * pivot_root, packs the rootfs and the process config into an initramfs while still root,
 * drops every privilege, and runs the VM in place of exec'ing process.args. */
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
#include "microvm/initramfs.h"
#include "microvm/microvm.h"
#include "security/security.h"
#include "vm_mode.h"

#define EXIT_VM_FAILED 125

int vm_init_open(const struct vm_plan *p, const struct oci_spec *spec, struct vm_init *vi,
		 struct hull_err *err)
{
	*vi = (struct vm_init){.kernel_fd = -1, .kvm_fd = -1, .rootfs_fd = -1};
	vi->kernel_fd = open(p->kernel, O_RDONLY | O_CLOEXEC);
	if (vi->kernel_fd < 0)
		return hull_error(err, errno, "micro-VM: guest kernel %s", p->kernel);
	vi->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vi->kvm_fd < 0)
		return hull_error(err, errno, "micro-VM: open /dev/kvm in the container's cgroup");
	vi->rootfs_fd = open(spec->root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vi->rootfs_fd < 0)
		return hull_error(err, errno, "micro-VM: open the rootfs %s", spec->root_path);
	return 0;
}

/* The spec's process as the guest init's config; groups and rlimits are copied into
 * guestcfg's own types (freed by the caller). The capability sets are always sent: a spec
 * without process.capabilities gets none, in the guest as in any hull container. */
static int fill_config(const struct vm_plan *p, const struct oci_spec *spec, struct guestcfg *g,
		       struct hull_err *err)
{
	const struct oci_process *pr = &spec->process;
	uint32_t *groups = calloc(pr->n_additional_gids + 1, sizeof *groups);
	struct guestcfg_rlimit *rl = calloc(pr->n_rlimits + 1, sizeof *rl);
	if (groups == NULL || rl == NULL) {
		free(groups);
		free(rl);
		return hull_error(err, ENOMEM, "micro-VM: the process config");
	}
	for (size_t i = 0; i < pr->n_additional_gids; i++)
		groups[i] = pr->additional_gids[i];
	for (size_t i = 0; i < pr->n_rlimits; i++)
		rl[i] = (struct guestcfg_rlimit){
		    .resource = pr->rlimits[i].resource,
		    .soft = pr->rlimits[i].soft,
		    .hard = pr->rlimits[i].hard,
		};
	*g = (struct guestcfg){
	    .args = pr->args,
	    .n_args = pr->n_args,
	    .env = pr->env,
	    .n_env = pr->n_env,
	    .cwd = pr->cwd,
	    .uid = pr->uid,
	    .gid = pr->gid,
	    .groups = groups,
	    .n_groups = pr->n_additional_gids,
	    .has_umask = pr->has_umask,
	    .umask = pr->umask,
	    .hostname = spec->hostname,
	    .rlimits = rl,
	    .n_rlimits = pr->n_rlimits,
	    .terminal = pr->terminal,
	    .no_new_privs = pr->no_new_privileges,
	    .readonly_rootfs = spec->root_readonly,
	    .has_caps = true,
	    .seccomp = p->seccomp_bpf,
	    .seccomp_len = p->seccomp_len,
	    .seccomp_flags = p->seccomp_flags,
	};
	if (pr->has_caps)
		g->caps = (struct guestcfg_caps){
		    .bounding = pr->caps.bounding,
		    .effective = pr->caps.effective,
		    .inheritable = pr->caps.inheritable,
		    .permitted = pr->caps.permitted,
		    .ambient = pr->caps.ambient,
		};
	return 0;
}

int vm_init_build(const struct vm_plan *p, const struct oci_spec *spec, struct vm_init *vi,
		  struct hull_err *err)
{
	struct guestcfg g;
	if (fill_config(p, spec, &g, err) < 0)
		return -1;
	_cleanup_free_ char *cfg = NULL;
	size_t cfg_len = 0;
	int r = guestcfg_write(&g, &cfg, &cfg_len, err);
	free(g.groups);
	free(g.rlimits);
	if (r < 0)
		return hull_error_wrap(err, "micro-VM: the process config");
	_cleanup_close_ int mem = memfd_create("hull-initramfs", MFD_CLOEXEC);
	if (mem < 0)
		return hull_error(err, errno, "micro-VM: memfd for the initramfs");
	uint64_t size = 0, limit = vm_initramfs_limit((uint64_t)p->memory_mib << 20);
	if (vm_initramfs_build(vi->rootfs_fd, cfg, cfg_len, limit, mem, &size, err) < 0)
		return -1;
	void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, mem, 0);
	if (map == MAP_FAILED)
		return hull_error(err, errno, "micro-VM: map the initramfs");
	vi->initrd = map;
	vi->initrd_size = size;
	close(vi->rootfs_fd);
	vi->rootfs_fd = -1;
	return 0;
}

int vm_init_drop_privileges(struct hull_err *err)
{
	struct oci_caps none = {0};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hull_error(err, errno, "micro-VM: no_new_privs");
	return sec_caps_apply(&none, err);
}

void vm_init_run(const struct vm_plan *p, struct vm_init *vi)
{
	struct vm_config cfg = {
	    .kernel = p->kernel,
	    .use_fds = true,
	    .kernel_fd = vi->kernel_fd,
	    .kvm_fd = vi->kvm_fd,
	    .initrd = vi->initrd,
	    .initrd_size = vi->initrd_size,
	    .cpus = p->cpus,
	    .memory_mib = p->memory_mib,
	    .stdin_fd = 0,
	    .stdout_fd = 1,
	    .stderr_fd = 2,
	    .serial_fd = -1,
	    .forward_signals = true,
	};
	struct vm_result res = {0};
	struct hull_err err = {0};
	if (vm_run(&cfg, &res, &err) < 0) {
		fprintf(stderr, "hull: %s\n", hull_err_text(&err));
		_exit(EXIT_VM_FAILED);
	}
	if (res.exited)
		_exit(res.exit_code & 0xff);
	_exit(128 + res.signal);
}
