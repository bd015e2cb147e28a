/* OCI hooks: each is run with the container state on stdin, with its own args, env and
 * timeout (runtime-spec config.md, "POSIX-platform Hooks"). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime.h"

static pid_t spawn_hook(const struct oci_hook *h, int stdin_fd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	dup2(stdin_fd, STDIN_FILENO);
	/* A hook writes to our stderr; our stdout may be a pipe a caller parses (state). */
	dup2(STDERR_FILENO, STDOUT_FILENO);
	char *const default_args[] = {h->path, NULL};
	char *const empty_env[] = {NULL};
	execve(h->path, h->args ? h->args : default_args, h->env ? h->env : empty_env);
	_exit(127);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait for the hook, killing it at its timeout. Returns its wait status or -1. */
static int wait_hook(pid_t pid, int timeout_s)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	long long deadline = timeout_s > 0 ? now_ms() + timeout_s * 1000LL : -1;
	while (pidfd >= 0) {
		int wait_ms = deadline < 0 ? -1 : (int)(deadline - now_ms());
		if (deadline >= 0 && wait_ms <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -1;
		}
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int r = poll(&p, 1, wait_ms);
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			break;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return status;
}

static int run_one(const struct oci_hook *h, const char *kind, const char *state_json,
		   struct hull_err *err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return hull_error(err, errno, "%s hook %s: pipe", kind, h->path);
	_cleanup_close_ int rd = fds[0], wr = fds[1];
	log_msg(LOG_DEBUG, "%s hook: %s", kind, h->path);
	pid_t pid = spawn_hook(h, rd);
	if (pid < 0)
		return hull_error(err, errno, "%s hook %s: fork", kind, h->path);
	close(steal_fd(&rd));
	/* A hook may not read its stdin: ignore EPIPE rather than die of SIGPIPE. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	sigaction(SIGPIPE, &ign, &old);
	ssize_t unused = write(wr, state_json, strlen(state_json));
	(void)unused;
	sigaction(SIGPIPE, &old, NULL);
	close(steal_fd(&wr));
	int status = wait_hook(pid, h->timeout);
	if (status < 0)
		return hull_error(err, ETIMEDOUT, "%s hook %s: timed out after %d s", kind, h->path,
				  h->timeout);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return hull_error(err, 0, "%s hook %s: could not be executed", kind, h->path);
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return hull_error(err, 0, "%s hook %s: exited with status %d", kind, h->path,
				  WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return hull_error(err, 0, "%s hook %s: killed by signal %d", kind, h->path,
				  WTERMSIG(status));
	return 0;
}

int hooks_run(const struct oci_hook_list *list, const char *kind, const char *state_json,
	      struct hull_err *err)
{
	for (size_t i = 0; i < list->n; i++)
		if (run_one(&list->hooks[i], kind, state_json, err) < 0)
			return -1;
	return 0;
}

void hooks_run_warn(const struct oci_hook_list *list, const char *kind, const char *state_json)
{
	/* The spec: a poststart or poststop failure is logged, and the lifecycle goes on. */
	for (size_t i = 0; i < list->n; i++) {
		struct hull_err err = {0};
		if (run_one(&list->hooks[i], kind, state_json, &err) < 0)
			log_msg(LOG_WARN, "%s", hull_err_text(&err));
		hull_err_clear(&err);
	}
}
