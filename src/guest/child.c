/* The container's main process in the guest: from a fork of PID 1 to its execve. Testable
 * in a forked child of an ordinary process (tests/unit/test_guest.c). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"

const char *guest_env_path(char *const *env)
{
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		if (strncmp(env[i], "PATH=", 5) == 0)
			return env[i] + 5;
	return GUEST_DEFAULT_PATH;
}

/* 0 when path is an executable regular file; else an errno for it. */
static int executable(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	return access(path, X_OK) < 0 ? errno : 0;
}

char *guest_find_executable(const char *file, const char *path)
{
	if (file[0] == '\0') {
		errno = ENOENT;
		return NULL;
	}
	if (strchr(file, '/') != NULL)
		return strdup(file); /* execve reports what is wrong with it */
	int first_error = 0;
	for (const char *dir = path;; dir += strcspn(dir, ":") + 1) {
		size_t len = strcspn(dir, ":");
		char *cand = NULL;
		if (asprintf(&cand, "%.*s/%s", len ? (int)len : 1, len ? dir : ".", file) < 0)
			return NULL;
		int e = executable(cand);
		if (e == 0)
			return cand;
		free(cand);
		/* Like execvp: a directory we cannot search or a file we cannot run is
		 * remembered, a missing one is not. */
		if (first_error == 0 && e != ENOENT && e != ENOTDIR)
			first_error = e;
		if (dir[len] == '\0')
			break;
	}
	errno = first_error ? first_error : ENOENT;
	return NULL;
}

static int apply_rlimits(const struct guestcfg *cfg, struct hull_err *err)
{
	for (size_t i = 0; i < cfg->n_rlimits; i++) {
		const struct guestcfg_rlimit *r = &cfg->rlimits[i];
		struct rlimit rl = {.rlim_cur = r->soft, .rlim_max = r->hard};
		if (setrlimit(r->resource, &rl) < 0)
			return hull_error(err, errno, "setrlimit %d", r->resource);
	}
	return 0;
}

static int apply_ids(const struct guestcfg *cfg, struct hull_err *err)
{
	_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits on Linux");
	if (setgroups(cfg->n_groups, (const gid_t *)cfg->groups) < 0)
		return hull_error(err, errno, "setgroups");
	if (setresgid(cfg->gid, cfg->gid, cfg->gid) < 0)
		return hull_error(err, errno, "setgid %u", cfg->gid);
	if (setresuid(cfg->uid, cfg->uid, cfg->uid) < 0)
		return hull_error(err, errno, "setuid %u", cfg->uid);
	return 0;
}

int guest_apply_config(const struct guestcfg *cfg, struct hull_err *err)
{
	if (apply_rlimits(cfg, err) < 0)
		return -1;
	/* As root, before the user switch: the same order as hull's namespace containers. */
	if (chdir(cfg->cwd) < 0)
		return hull_error(err, errno, "chdir %s", cfg->cwd);
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while the
	 * process still has it, as runc and hull's other containers do. */
	if (cfg->seccomp != NULL && !cfg->no_new_privs && guest_seccomp_load(cfg, err) < 0)
		return -1;
	int last = guest_last_cap();
	if (guest_caps_before_user(cfg, last, err) < 0 || apply_ids(cfg, err) < 0 ||
	    guest_caps_after_user(cfg, last, err) < 0)
		return -1;
	if (cfg->has_umask)
		umask((mode_t)cfg->umask);
	if (cfg->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hull_error(err, errno, "no_new_privs");
	return 0;
}

__attribute__((noreturn)) static void die(int status, const struct hull_err *err)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "hull-guest-init: %s\n", hull_err_text(err));
	if (n > 0)
		(void)!write(STDERR_FILENO, line,
			     (size_t)n < sizeof line ? (size_t)n : sizeof line);
	_exit(status);
}

static int setup_stdio(const struct guestcfg *cfg, int in_fd, int hvc0, int hvc1,
		       struct hull_err *err)
{
	if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(hvc0, STDOUT_FILENO) < 0 ||
	    dup2(hvc1, STDERR_FILENO) < 0)
		return hull_error(err, errno, "dup2 of the console channels");
	if (setsid() < 0)
		return hull_error(err, errno, "setsid");
	/* With a terminal, hvc0 becomes the session's controlling terminal so that job
	 * control and ^C work (PID 1 opened it with O_NOCTTY and holds no session on it). */
	if (cfg->terminal && ioctl(STDOUT_FILENO, TIOCSCTTY, 0) < 0)
		return hull_error(err, errno, "TIOCSCTTY on %s", GUEST_HVC_STDIO);
	return 0;
}

void guest_child_run(const struct guestcfg *cfg, int in_fd, int hvc0, int hvc1)
{
	struct hull_err err = {0};
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setup_stdio(cfg, in_fd, hvc0, hvc1, &err) < 0 || guest_apply_config(cfg, &err) < 0)
		die(GUEST_EXIT_CANNOT_RUN, &err);
	char *exe = guest_find_executable(cfg->args[0], guest_env_path(cfg->env));
	if (exe == NULL) {
		int e = errno;
		hull_error(&err, e, "exec %s", cfg->args[0]);
		die(guest_exec_status(e), &err);
	}
	if (guest_seccomp_last(cfg, &err) < 0)
		die(GUEST_EXIT_CANNOT_RUN, &err);
	char *no_env[] = {NULL};
	execve(exe, cfg->args, cfg->env != NULL ? cfg->env : no_env);
	int e = errno;
	hull_error(&err, e, "exec %s", exe);
	die(guest_exec_status(e), &err);
}
