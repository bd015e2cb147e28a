/* Starting a process inside a container: cloned straight into its cgroups and its pid
 * namespace, so that it never runs, not even for an instant, outside them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "runtime.h"

static pid_t clone_child(const struct spawn *s, int cgroup_fd)
{
	struct clone_args args = {.flags = s->flags, .exit_signal = SIGCHLD};
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	fflush(NULL);
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
	if (pid == 0)
		s->child(s->arg);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* See cgroup_fork_begin for why the child is not moved after the fact. */
static pid_t clone_into_cgroup(const struct spawn *s, struct hull_err *err)
{
	struct cgroup_fork f;
	if (cgroup_fork_begin(s->cg, &f, err) < 0)
		return -1;
	pid_t pid = clone_child(s, f.clone_fd);
	int clone_errno = errno;
	bool enter_v2 = false;
	/* Kernels before 5.7 know no CLONE_INTO_CGROUP: move the child before it goes on. */
	if (pid < 0 && f.clone_fd >= 0 && (errno == EINVAL || errno == E2BIG)) {
		pid = clone_child(s, -1);
		clone_errno = errno;
		enter_v2 = true;
	}
	int back = cgroup_fork_end(&f, err);
	if (pid < 0)
		return hull_error(err, clone_errno, "clone %s", s->what);
	if (back < 0 || (enter_v2 && cgroup_enter(s->cg, pid, err) < 0)) {
		reap(pid);
		return -1;
	}
	return pid;
}

pid_t spawn_into_cgroup(const struct spawn *s, struct hull_err *err)
{
	if (s->pidns_fd < 0)
		return clone_into_cgroup(s, err);
	/* A pid namespace is entered by our children only: join it for the clone, then
	 * return to ours (hooks and the rest of hull run in the runtime's namespaces). */
	_cleanup_close_ int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return hull_error(err, errno, "open /proc/self/ns/pid");
	if (setns(s->pidns_fd, CLONE_NEWPID) < 0)
		return hull_error(err, errno, "join the container's pid namespace");
	pid_t pid = clone_into_cgroup(s, err);
	if (setns(own, CLONE_NEWPID) < 0) {
		int e = errno;
		if (pid > 0)
			reap(pid);
		return hull_error(err, e, "return to hull's pid namespace");
	}
	return pid;
}
