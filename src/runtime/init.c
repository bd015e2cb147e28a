/* The container's init, from clone() to execve(): a fixed list of steps in the order the
 * runtime-spec and the kernel require. Errors go back to the parent as SYNC_ERROR. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "namespaces/namespaces.h"
#include "runtime.h"
#include "security/security.h"
#include "sync.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct init_run {
	struct init_ctx *ctx;
	const struct oci_spec *spec;
	struct ns_rootfs rootfs;
	int proc_fd_dir; /* the host's /proc/<pid>/fd, to reopen the fifo after pivot_root */
	char *exe;
	char **env;
	struct vm_init vm;
	char state_json[8192];	 /* for createContainer hooks: "creating" */
	char created_json[8192]; /* for startContainer hooks: "created" */
};

static int join_namespaces(const struct oci_spec *spec, struct hull_err *err)
{
	const struct oci_namespace *user = oci_namespace(spec, CLONE_NEWUSER);
	/* The user namespace first: joining the others needs its capabilities. */
	if (user != NULL && user->path != NULL && ns_join(user, err) < 0)
		return -1;
	for (size_t i = 0; i < spec->linux_cfg.n_namespaces; i++) {
		const struct oci_namespace *ns = &spec->linux_cfg.namespaces[i];
		/* pid was joined by the parent (it only affects children) */
		if (ns->path == NULL || ns->type == CLONE_NEWUSER || ns->type == CLONE_NEWPID)
			continue;
		if (ns_join(ns, err) < 0)
			return -1;
	}
	return 0;
}

static int enter_namespaces(struct init_run *r, struct hull_err *err)
{
	struct init_ctx *ctx = r->ctx;
	/* In a new user namespace, become its root (when mapped) to own what we create. */
	if ((ctx->clone_flags & CLONE_NEWUSER) && setresgid(0, 0, 0) == 0)
		setresuid(0, 0, 0);
	if (join_namespaces(r->spec, err) < 0)
		return -1;
	if (ctx->unshare_flags && unshare((int)ctx->unshare_flags) < 0)
		return hull_error(err, errno, "linux.namespaces: unshare");
	/* After the parent moved us into the container's cgroup, so that it is the root. */
	if (oci_namespace(r->spec, CLONE_NEWCGROUP) &&
	    !oci_namespace(r->spec, CLONE_NEWCGROUP)->path && unshare(CLONE_NEWCGROUP) < 0)
		return hull_error(err, errno, "linux.namespaces: cgroup: unshare");
	const struct oci_namespace *time = oci_namespace(r->spec, CLONE_NEWTIME);
	if (time != NULL && time->path == NULL) {
		if (unshare(CLONE_NEWTIME) < 0)
			return hull_error(err, errno, "linux.namespaces: time: unshare");
		if (ns_write_time_offsets(r->spec, err) < 0)
			return -1;
		/* unshare() only moves our children; enter it ourselves. */
		_cleanup_close_ int fd =
		    open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWTIME) < 0)
			return hull_error(err, errno, "linux.namespaces: time: enter");
	}
	return 0;
}

static int set_names(const struct oci_spec *spec, struct hull_err *err)
{
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return hull_error(err, errno, "hostname: sethostname");
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return hull_error(err, errno, "domainname: setdomainname");
	return 0;
}

static int write_sysctls(const struct oci_spec *spec, struct hull_err *err)
{
	for (size_t i = 0; i < spec->linux_cfg.n_sysctl; i++) {
		const struct oci_kv *kv = &spec->linux_cfg.sysctl[i];
		char path[512];
		snprintf(path, sizeof path, "/proc/sys/%s", kv->key);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || write(fd, kv->value, strlen(kv->value)) < 0)
			return hull_error(err, errno, "linux.sysctl: %s", kv->key);
	}
	return 0;
}

static int setup_rootfs(struct init_run *r, struct hull_err *err)
{
	struct init_ctx *ctx = r->ctx;
	r->rootfs = (struct ns_rootfs){
	    .spec = r->spec,
	    .cgroups = &ctx->cgroups,
	    .in_userns = oci_namespace(r->spec, CLONE_NEWUSER) != NULL,
	    .new_cgroupns = oci_namespace(r->spec, CLONE_NEWCGROUP) != NULL,
	    .no_pivot = ctx->no_pivot,
	    .root_fd = -1,
	};
	if (ns_rootfs_prepare(&r->rootfs, err) < 0)
		return -1;
	if (set_names(r->spec, err) < 0)
		return -1;
	struct sync_msg msg;
	if (sync_send(ctx->sync_fd, SYNC_CREATE_RUNTIME, 0, NULL, err) < 0 ||
	    sync_expect(ctx->sync_fd, SYNC_HOOKS_DONE, &msg, err) < 0)
		return -1;
	snprintf(r->state_json, sizeof r->state_json, "%s", msg.text);
	if (sync_expect(ctx->sync_fd, SYNC_STATE_CREATED, &msg, err) < 0)
		return -1;
	snprintf(r->created_json, sizeof r->created_json, "%s", msg.text);
	/* createContainer: in the container's namespaces, before pivot_root (config.md). */
	if (hooks_run(&r->spec->hooks[HOOK_CREATE_CONTAINER], "createContainer", r->state_json,
		      err) < 0)
		return -1;
	if (ns_rootfs_pivot(&r->rootfs, err) < 0)
		return -1;
	/* sysctls before readonlyPaths makes /proc/sys read-only */
	if (write_sysctls(r->spec, err) < 0)
		return -1;
	return ns_rootfs_finish(&r->rootfs, err);
}

static int setup_process(struct init_run *r, struct hull_err *err)
{
	const struct oci_process *p = &r->spec->process;
	/* The process runs in the guest; the VMM packs the rootfs while it is still root. */
	if (r->ctx->vm->on)
		return vm_init_build(r->ctx->vm, r->spec, &r->vm, err) < 0
			   ? -1
			   : vm_init_drop_privileges(err);
	if (process_apply_limits(p, err) < 0 || process_write_exec_labels(p, err) < 0)
		return -1;
	return process_prepare(p, &r->spec->linux_cfg, &r->exe, &r->env, err);
}

/* Block until `start` opens the fifo's read end. */
static int wait_for_start(struct init_run *r)
{
	char name[16];
	snprintf(name, sizeof name, "%d", r->ctx->fifo_fd);
	_cleanup_close_ int fd = openat(r->proc_fd_dir, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	return write(fd, "0", 1) == 1 ? 0 : -1;
}

static int init_setup(struct init_run *r, struct hull_err *err)
{
	struct init_ctx *ctx = r->ctx;
	struct sync_msg msg;
	if (sync_expect(ctx->sync_fd, SYNC_GO, &msg, err) < 0)
		return -1;
	/* While /sys is still the host's: the container's may not show the LSMs. */
	if (process_check_exec_labels(&r->spec->process, err) < 0)
		return -1;
	if (enter_namespaces(r, err) < 0)
		return -1;
	/* Opened on the host's /proc, before pivot_root hides it. */
	r->proc_fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->proc_fd_dir < 0)
		return hull_error(err, errno, "open /proc/self/fd");
	int console_fd = ctx->pty_to_parent ? -1 : ctx->console_fd;
	if (ctx->vm->on && vm_init_open(ctx->vm, r->spec, &r->vm, err) < 0)
		return -1;
	/* Sealed before setup_process, which may load the seccomp filter: a profile need not
	 * allow close_range. */
	if (setup_rootfs(r, err) < 0 ||
	    console_hand_over(&r->spec->process, console_fd, ctx->sync_fd, err) < 0 ||
	    process_seal_fds(ctx->preserve_fds, err) < 0)
		return -1;
	return setup_process(r, err);
}

__attribute__((noreturn)) void init_main(struct init_ctx *ctx)
{
	struct init_run r = {.ctx = ctx, .spec = ctx->spec, .proc_fd_dir = -1};
	struct hull_err err = {0};
	for (size_t i = 0; i < sizeof ctx->close_fds / sizeof ctx->close_fds[0]; i++)
		if (ctx->close_fds[i] >= 0)
			close(ctx->close_fds[i]);
	/* Die with the parent while it still supervises the setup. Had it died before
	 * this line, waiting for SYNC_GO reads end-of-file and we exit as well. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* No other process of the container may ptrace us or open our /proc files. */
	prctl(PR_SET_DUMPABLE, 0);
	if (init_setup(&r, &err) < 0) {
		sync_send(ctx->sync_fd, SYNC_ERROR, err.code, err.msg, NULL);
		_exit(1);
	}
	prctl(PR_SET_PDEATHSIG, 0);
	if (sync_send(ctx->sync_fd, SYNC_READY, 0, NULL, &err) < 0)
		_exit(1);
	close(ctx->sync_fd);
	if (wait_for_start(&r) < 0)
		_exit(1);
	if (hooks_run(&r.spec->hooks[HOOK_START_CONTAINER], "startContainer", r.created_json,
		      &err) < 0) {
		fprintf(stderr, "hull: %s\n", hull_err_text(&err));
		_exit(1);
	}
	if (ctx->vm->on)
		vm_init_run(ctx->vm, &r.vm);
	if (process_seccomp_last(&r.spec->process, &r.spec->linux_cfg, &err) < 0) {
		fprintf(stderr, "hull: %s\n", hull_err_text(&err));
		_exit(1);
	}
	execve(r.exe, r.spec->process.args, r.env);
	fprintf(stderr, "hull: exec %s: %s\n", r.exe, strerror(errno));
	_exit(127);
}
