/* Operations on a container that exists: open, start, wait, delete. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "common/log.h"
#include "runtime.h"
#include "spec.h"

int container_open(const struct hull_globals *g, const char *id, bool exclusive,
		   struct container *c, struct hull_err *err)
{
	*c = (struct container){.g = g, .root_fd = -1, .dir_fd = -1, .pty_master = -1};
	c->root_fd = open(g->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->root_fd < 0) {
		if (errno == ENOENT)
			return hull_error(err, 0, "container %s does not exist", id);
		return hull_error(err, errno, "--root: open %s", g->root);
	}
	c->dir_fd = state_dir_open(c->root_fd, id, exclusive, err);
	if (c->dir_fd < 0)
		return -1;
	if (state_read(c->dir_fd, &c->st, err) < 0)
		return -1;
	if (c->st.id == NULL)
		c->st.id = strdup(id);
	return 0;
}

int container_load_spec(struct container *c, struct hull_err *err)
{
	if (c->have_spec)
		return 0;
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (json_read_fileat(c->dir_fd, CONFIG_COPY, &text, &len, err) < 0)
		return -1;
	if (spec_parse(text, len, c->st.bundle ? c->st.bundle : "/", &c->spec, err) < 0)
		return -1;
	c->have_spec = true;
	return 0;
}

const char *container_status(const struct container *c)
{
	return state_status(c->dir_fd, &c->st);
}

/* Wait up to timeout_ms for pid to exit; true when it did. Works for non-children. */
static bool wait_gone(pid_t pid, unsigned long long start, int timeout_ms)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 || proc_start_time(pid) != start)
		return true;
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	return poll(&p, 1, timeout_ms) > 0;
}

/* Open the fifo's read end without blocking, then wait for the init's byte: if the init
 * died meanwhile, a blocking open would wait forever. */
static int release_init(struct container *c, struct hull_err *err)
{
	_cleanup_close_ int fifo = openat(c->dir_fd, EXEC_FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0)
		return hull_error(err, errno, "open %s", EXEC_FIFO);
	for (;;) {
		char byte;
		ssize_t n = read(fifo, &byte, 1);
		if (n == 1)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return hull_error(err, errno, "read %s", EXEC_FIFO);
		if (!state_pid_alive(&c->st))
			return hull_error(err, 0, "container %s: its init exited before start",
					  c->st.id);
		struct pollfd p = {.fd = fifo, .events = POLLIN};
		poll(&p, 1, 50);
	}
	unlinkat(c->dir_fd, EXEC_FIFO, 0);
	return 0;
}

int container_start(struct container *c, struct hull_err *err)
{
	const char *status = container_status(c);
	if (strcmp(status, "created") != 0)
		return hull_error(err, 0, "cannot start container %s: it is %s (not created)",
				  c->st.id, status);
	if (container_load_spec(c, err) < 0 || release_init(c, err) < 0)
		return -1;
	log_msg(LOG_DEBUG, "start: container %s, init pid %d released", c->st.id, c->st.pid);
	_cleanup_free_ char *state = state_oci_json(&c->st, "running", false);
	hooks_run_warn(&c->spec.hooks[HOOK_POSTSTART], "poststart", state);
	return 0;
}

static int kill_init(struct container *c, struct cgroup *cg, bool paused, struct hull_err *err)
{
	if (cg != NULL)
		cgroup_kill(cg, SIGKILL, err);
	if (state_pid_alive(&c->st))
		kill(c->st.pid, SIGKILL);
	/* v1 frozen tasks act on SIGKILL only once thawed. */
	if (paused && cg != NULL && cgroup_freeze(cg, false, err) < 0)
		return -1;
	if (c->pid > 0) {
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	} else if (!wait_gone(c->st.pid, c->st.pid_start, 10000)) {
		return hull_error(err, ETIMEDOUT, "container %s: init %d does not exit", c->st.id,
				  c->st.pid);
	}
	return 0;
}

int container_delete(struct container *c, bool force, struct hull_err *err)
{
	const char *status = container_status(c);
	if ((strcmp(status, "running") == 0 || strcmp(status, "paused") == 0) && !force)
		return hull_error(err, 0,
				  "cannot delete container %s that is %s: stop it "
				  "first or use --force",
				  c->st.id, status);
	struct cgroup *cg = c->st.cgroup ? cgroup_open(c->st.cgroup, err) : NULL;
	if (c->st.cgroup != NULL && cg == NULL)
		return -1;
	bool alive = c->pid > 0 || state_pid_alive(&c->st);
	network_detach_devices(c);
	/* The network goes before the cgroup: its leases are the state that says what to undo. */
	if (kill_init(c, cg, strcmp(status, "paused") == 0, err) < 0 ||
	    network_teardown(c, err) < 0 ||
	    (cg != NULL && cgroup_destroy(steal_ptr(&cg), err) < 0)) {
		cgroup_free(cg);
		return -1;
	}
	struct hull_err spec_err = {0};
	bool have_spec = container_load_spec(c, &spec_err) == 0;
	hull_err_clear(&spec_err);
	/* The image root (run --image) goes before the state: a failed unmount leaves the
	 * container for another `delete` to finish. */
	if (image_run_remove(c->g, c->st.id, true, err) < 0 ||
	    state_dir_remove(c->root_fd, c->st.id, err) < 0)
		return -1;
	log_msg(LOG_DEBUG, "delete: container %s: init pid %d %s, cgroup %s, state removed",
		c->st.id, c->st.pid, alive ? "killed" : "already gone",
		c->st.cgroup ? "removed" : "none");
	if (have_spec && c->st.created_ok) {
		_cleanup_free_ char *state = state_oci_json(&c->st, "stopped", false);
		hooks_run_warn(&c->spec.hooks[HOOK_POSTSTOP], "poststop", state);
	}
	return 0;
}

static volatile sig_atomic_t forward_to;

static void forward_signal(int sig)
{
	if (forward_to > 0)
		kill(forward_to, sig);
}

int container_wait(struct container *c)
{
	static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	forward_to = c->pid;
	struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaction(forwarded[i], &sa, NULL);
	if (c->pty_master >= 0) {
		console_relay(c->pty_master);
		close(steal_fd(&c->pty_master));
	}
	int status = 0;
	while (waitpid(c->pid, &status, 0) < 0)
		if (errno != EINTR)
			return 255;
	c->pid = 0;
	forward_to = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

void container_close(struct container *c)
{
	if (c->have_spec)
		spec_free(&c->spec);
	c->have_spec = false;
	state_free(&c->st);
	if (c->dir_fd >= 0)
		close(steal_fd(&c->dir_fd));
	if (c->root_fd >= 0)
		close(steal_fd(&c->root_fd));
	if (c->pty_master >= 0)
		close(steal_fd(&c->pty_master));
	cgroup_free(c->cg);
	c->cg = NULL;
}

int container_not_running(const char *verb, const char *id, struct hull_err *err)
{
	return hull_error(err, 0, "cannot %s container %s: container not running", verb, id);
}
