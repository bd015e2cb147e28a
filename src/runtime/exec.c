/* `exec`: one more process in a created or running container. The parent opens the
 * namespaces of the container's init, joins its pid namespace for the child it is about to
 * make, and clones that child straight into the container's cgroups (as create does for
 * the init).
 * The child joins the other namespaces, sets itself up as the init did, and execs; its
 * errors come back as one message over a socketpair whose close at execve
 * (SOCK_CLOEXEC) says the process runs. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "runtime.h"
#include "security/security.h"
#include "sync.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The order the child joins them in. user first: joining the others needs the
 * capabilities it grants. mnt last: after it, paths resolve inside the container.
 * pid is joined by the parent (setns of a pid namespace only moves later children). */
enum { NS_USER, NS_IPC, NS_UTS, NS_NET, NS_CGROUP, NS_TIME, NS_MNT, NS_PID, NS_COUNT };

static const struct {
	const char *name;
	int type;
} ns_list[NS_COUNT] = {
    [NS_USER] = {"user", CLONE_NEWUSER},       [NS_IPC] = {"ipc", CLONE_NEWIPC},
    [NS_UTS] = {"uts", CLONE_NEWUTS},	       [NS_NET] = {"net", CLONE_NEWNET},
    [NS_CGROUP] = {"cgroup", CLONE_NEWCGROUP}, [NS_TIME] = {"time", CLONE_NEWTIME},
    [NS_MNT] = {"mnt", CLONE_NEWNS},	       [NS_PID] = {"pid", CLONE_NEWPID},
};

struct exec_ctx {
	const struct exec_req *req;
	const struct oci_spec *spec; /* the container's: seccomp, personality */
	struct cgroup *cg;
	int ns_fd[NS_COUNT]; /* -1 where the container shares hull's namespace */
	int sock, child_sock;
	int console_fd;	  /* connected --console-socket, or -1 */
	int close_fds[4]; /* the parent's fds the child must not keep */
	char *exe, **env; /* the child's, resolved inside the container */
};

static void exec_ctx_free(struct exec_ctx *x)
{
	for (int i = 0; i < NS_COUNT; i++)
		if (x->ns_fd[i] >= 0)
			close(x->ns_fd[i]);
	int fds[] = {x->sock, x->child_sock, x->console_fd};
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	cgroup_free(x->cg);
}

/* runc's rules: a created container takes a process too (its init waits in its
 * namespaces and cgroups, set up; containerd's shim execs there), a paused one only with
 * --ignore-paused. */
int exec_check_state(struct container *c, bool ignore_paused, struct hull_err *err)
{
	const char *status = container_status(c);
	if (strcmp(status, "paused") == 0 && !ignore_paused)
		return hull_error(err, 0,
				  "cannot exec in a paused container (use --ignore-paused)");
	if (strcmp(status, "running") != 0 && strcmp(status, "created") != 0 &&
	    strcmp(status, "paused") != 0)
		return hull_error(err, 0,
				  "cannot exec in container %s: it is %s (not created or running)",
				  c->st.id, status);
	return 0;
}

/* ---------------------------------------------------------------- the child ---- */

static int join(const struct exec_ctx *x, int which, struct hull_err *err)
{
	if (x->ns_fd[which] >= 0 && setns(x->ns_fd[which], ns_list[which].type) < 0)
		return hull_error(err, errno, "join the container's %s namespace",
				  ns_list[which].name);
	return 0;
}

static int join_namespaces(const struct exec_ctx *x, struct hull_err *err)
{
	if (join(x, NS_USER, err) < 0)
		return -1;
	/* Become the namespace's root (when mapped), as the init did, so that files the
	 * container's root owns are ours until process.user applies. */
	if (x->ns_fd[NS_USER] >= 0 && setresgid(0, 0, 0) == 0)
		setresuid(0, 0, 0);
	/* setns() of a time namespace moves the caller itself (unlike unshare()). */
	for (int i = NS_IPC; i <= NS_MNT; i++)
		if (join(x, i, err) < 0)
			return -1;
	return 0;
}

static int write_oom_score_adj(const struct oci_process *p, struct hull_err *err)
{
	if (!p->has_oom_score_adj)
		return 0;
	char text[16];
	snprintf(text, sizeof text, "%d", p->oom_score_adj);
	_cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		return hull_error(err, errno, "process.oomScoreAdj");
	return 0;
}

/* While still the host's root, on the host's /proc: raising a hard rlimit or lowering
 * oom_score_adj needs capabilities in the initial user namespace, and the container could
 * mount over its own /proc/self/attr to dodge an LSM label (CVE-2019-16884). */
static int setup_as_host_root(const struct oci_process *p, struct hull_err *err)
{
	if (write_oom_score_adj(p, err) < 0 || process_apply_limits(p, err) < 0)
		return -1;
	return process_set_exec_labels(p, err);
}

static int child_setup(struct exec_ctx *x, struct hull_err *err)
{
	struct sync_msg msg;
	/* The parent says when we are in every cgroup of the container. */
	if (sync_expect(x->child_sock, SYNC_GO, &msg, err) < 0)
		return -1;
	if (setup_as_host_root(x->req->proc, err) < 0 || join_namespaces(x, err) < 0)
		return -1;
	for (int i = 0; i < NS_COUNT; i++)
		if (x->ns_fd[i] >= 0)
			close(steal_fd(&x->ns_fd[i]));
	/* Sealed before process_prepare, which may load the seccomp filter. */
	if (console_hand_over(x->req->proc, x->console_fd, x->child_sock, err) < 0 ||
	    process_seal_fds(x->req->preserve_fds, err) < 0)
		return -1;
	return process_prepare(x->req->proc, &x->spec->linux_cfg, &x->exe, &x->env, err);
}

__attribute__((noreturn)) static void exec_child(struct exec_ctx *x)
{
	struct hull_err err = {0};
	for (size_t i = 0; i < sizeof x->close_fds / sizeof x->close_fds[0]; i++)
		if (x->close_fds[i] >= 0)
			close(x->close_fds[i]);
	/* Die with the parent while it supervises; reading SYNC_GO sees its end. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* No process of the container may ptrace us or open our /proc files while we hold
	 * host file descriptors (CVE-2016-9962). */
	prctl(PR_SET_DUMPABLE, 0);
	if (child_setup(x, &err) < 0) {
		sync_send(x->child_sock, SYNC_ERROR, err.code, err.msg, NULL);
		_exit(1);
	}
	prctl(PR_SET_PDEATHSIG, 0);
	if (process_seccomp_last(x->req->proc, &x->spec->linux_cfg, &err) < 0) {
		sync_send(x->child_sock, SYNC_ERROR, err.code, err.msg, NULL);
		_exit(1);
	}
	execve(x->exe, x->req->proc->args, x->env);
	hull_error(&err, errno, "exec %s", x->exe);
	sync_send(x->child_sock, SYNC_ERROR, err.code, err.msg, NULL);
	_exit(127);
}

/* --------------------------------------------------------------- the parent ---- */

/* One namespace of the init, unless it is also hull's (then there is nothing to join,
 * and setns() into one's own user namespace even fails). */
static int open_ns(pid_t pid, int which, int *out, struct hull_err *err)
{
	char path[64];
	struct stat mine, theirs;
	snprintf(path, sizeof path, "/proc/self/ns/%s", ns_list[which].name);
	if (stat(path, &mine) < 0) {
		if (errno == ENOENT)
			return 0; /* a kernel without that kind of namespace */
		return hull_error(err, errno, "stat %s", path);
	}
	snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, ns_list[which].name);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &theirs) < 0)
		return hull_error(err, errno, "open the container's %s namespace",
				  ns_list[which].name);
	if (mine.st_dev != theirs.st_dev || mine.st_ino != theirs.st_ino)
		*out = steal_fd(&fd);
	return 0;
}

static int open_namespaces(const struct container *c, struct exec_ctx *x, struct hull_err *err)
{
	pid_t pid = c->st.pid;
	/* The pidfd pins which process the pid means: had the init exited and its pid been
	 * reused while we opened its /proc files, they would be someone else's. */
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 || proc_start_time(pid) != c->st.pid_start)
		return hull_error(err, 0, "cannot exec in container %s: it is stopped", c->st.id);
	for (int i = 0; i < NS_COUNT; i++)
		if (open_ns(pid, i, &x->ns_fd[i], err) < 0)
			return -1;
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	if (poll(&p, 1, 0) != 0)
		return hull_error(err, 0, "cannot exec in container %s: it is stopped", c->st.id);
	return 0;
}

/* '%' and ';' are the escapes of the saved form (see cgroup_saved_format). */
static struct cgroup *open_cgroup(const struct container *c, const char *sub, struct hull_err *err)
{
	if (c->st.cgroup == NULL)
		return hull_error(err, 0, "container %s: no cgroup recorded", c->st.id), NULL;
	if (sub == NULL)
		return cgroup_open(c->st.cgroup, err);
	return cgroup_open_sub(c->st.cgroup, sub, err);
}

static int exec_prepare(struct container *c, struct exec_ctx *x, struct hull_err *err)
{
	if (container_load_spec(c, err) < 0)
		return -1;
	x->spec = &c->spec;
	x->cg = open_cgroup(c, x->req->sub_cgroup, err);
	if (x->cg == NULL)
		return -1;
	/* Checked again, now from the cgroup: a frozen one holds the child (and, in a v1
	 * freezer, hull itself while it steps in) until `resume`. That is what
	 * --ignore-paused asks for; `resume` and `delete` need the state lock meanwhile. */
	if (cgroup_is_frozen(x->cg) && !x->req->ignore_paused)
		return hull_error(err, 0,
				  "cannot exec in a paused container (use --ignore-paused)");
	if (x->req->ignore_paused)
		state_dir_unlock(c->dir_fd);
	if (open_namespaces(c, x, err) < 0)
		return -1;
	if (x->req->console_socket &&
	    (x->console_fd = console_connect(x->req->console_socket, err)) < 0)
		return -1;
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return hull_error(err, errno, "socketpair");
	x->sock = pair[0];
	x->child_sock = pair[1];
	x->close_fds[0] = c->dir_fd;
	x->close_fds[1] = c->root_fd;
	x->close_fds[2] = x->sock;
	return 0;
}

static void exec_entry(void *x)
{
	exec_child(x);
}

static pid_t spawn_child(struct exec_ctx *x, struct hull_err *err)
{
	struct spawn s = {.what = "the process to exec",
			  .cg = x->cg,
			  .pidns_fd = x->ns_fd[NS_PID],
			  .child = exec_entry,
			  .arg = x};
	return spawn_into_cgroup(&s, err);
}

/* Let the child go and wait for its execve (end of file) or its error. */
static int supervise(struct exec_ctx *x, int *pty, struct hull_err *err)
{
	if (sync_send(x->sock, SYNC_GO, 0, NULL, err) < 0)
		return -1;
	for (;;) {
		struct sync_msg msg;
		struct hull_err eof = {0};
		if (sync_recv(x->sock, &msg, &eof) < 0) {
			bool ran = eof.code == EPIPE;
			hull_err_clear(&eof);
			return ran ? 0 : hull_error(err, EPROTO, "lost the process to exec");
		}
		if (msg.type == SYNC_ERROR)
			return hull_error(err, msg.code, "%s", msg.text);
		if (msg.type != SYNC_PTY)
			return hull_error(err, EPROTO,
					  "unexpected message from the exec'd process");
		*pty = console_recv_fd(x->sock, err);
		if (*pty < 0)
			return -1;
	}
}

static int exec_start(struct exec_ctx *x, pid_t *pid, int *pty, struct hull_err *err)
{
	*pid = spawn_child(x, err);
	if (*pid < 0)
		return -1;
	close(steal_fd(&x->child_sock));
	if (x->console_fd >= 0)
		close(steal_fd(&x->console_fd));
	int r = supervise(x, pty, err);
	if (r == 0 && x->req->pid_file)
		r = state_write_pid_file(x->req->pid_file, *pid, err);
	if (r < 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		if (*pty >= 0)
			close(steal_fd(pty));
	}
	return r;
}

/* Everything up to the process running; the setup's fds are closed on return. */
static int exec_spawn(struct container *c, const struct exec_req *req, pid_t *pid, int *pty,
		      struct hull_err *err)
{
	__attribute__((cleanup(exec_ctx_free))) struct exec_ctx x = {
	    .req = req, .sock = -1, .child_sock = -1, .console_fd = -1};
	for (int i = 0; i < NS_COUNT; i++)
		x.ns_fd[i] = -1;
	for (size_t i = 0; i < sizeof x.close_fds / sizeof x.close_fds[0]; i++)
		x.close_fds[i] = -1;
	if (exec_prepare(c, &x, err) < 0)
		return -1;
	return exec_start(&x, pid, pty, err);
}

int exec_run(struct container *c, const struct exec_req *req, struct hull_err *err)
{
	pid_t pid = -1;
	int pty = -1;
	if (exec_spawn(c, req, &pid, &pty, err) < 0)
		return -1;
	/* args[0] only: the rest may hold secrets. */
	log_msg(LOG_DEBUG, "exec: container %s: %s, pid %d", c->st.id,
		req->proc->n_args ? req->proc->args[0] : "", pid);
	if (req->detach) {
		if (pty >= 0)
			close(pty);
		return 0;
	}
	/* `state`, `kill`, `delete` and other execs must work while we wait. */
	state_dir_unlock(c->dir_fd);
	c->pid = pid;
	c->pty_master = pty;
	return container_wait(c);
}
