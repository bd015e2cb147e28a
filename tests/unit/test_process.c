/* process_find_executable: PATH search as execvp does it, run in a scratch directory; and
 * process_seal_fds on a kernel without close_range's CLOSE_RANGE_CLOEXEC. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/oci.h"
#include "runtime/runtime.h"
#include "unit.h"

/* A name that exists in no system directory, only in the scratch cwd. */
#define PROBE "hull-unit-path-probe"

static char scratch[] = "/tmp/hull-unit-process-XXXXXX";
static char *old_cwd;

static void enter_scratch(void)
{
	old_cwd = getcwd(NULL, 0);
	if (mkdtemp(scratch) == NULL || chdir(scratch) < 0) {
		perror("scratch directory");
		exit(1);
	}
	int fd = open(PROBE, O_WRONLY | O_CREAT | O_EXCL, 0755);
	if (fd < 0 || write(fd, "#!/bin/sh\n", 10) != 10 || close(fd) < 0) {
		perror(PROBE);
		exit(1);
	}
}

static void leave_scratch(void)
{
	unlink(PROBE);
	if (chdir(old_cwd) < 0 || rmdir(scratch) < 0)
		perror("scratch directory");
	free(old_cwd);
}

/* args[0] resolved with env's PATH; NULL with *msg set when not found. */
static char *find(const char *name, char *path_var, char **msg)
{
	char *args[] = {(char *)name, NULL};
	char *env[] = {path_var};
	struct oci_process p = {.args = args, .n_args = 1, .env = env, .n_env = 1};
	struct hull_err err = {0};
	char *exe = process_find_executable(&p, &err);
	*msg = err.msg != NULL ? strdup(err.msg) : NULL;
	hull_err_clear(&err);
	return exe;
}

static void check_finds(char *path_var, const char *want)
{
	char *msg = NULL;
	char *exe = find(PROBE, path_var, &msg);
	if (exe == NULL || strcmp(exe, want) != 0)
		printf("#   %s: got %s (%s)\n", path_var, exe ? exe : "(null)", msg ? msg : "");
	CHECK_STR(exe, want);
	free(exe);
	free(msg);
}

/* An empty entry is the current directory, wherever it stands (execvp(3), POSIX XBD 8.3). */
static void test_empty_path_entry_is_cwd(void)
{
	check_finds("PATH=:/nonexistent", "./" PROBE);
	check_finds("PATH=/nonexistent::/also-nonexistent", "./" PROBE);
	check_finds("PATH=/nonexistent:", "./" PROBE);
	check_finds("PATH=", "./" PROBE);
}

static void test_directories_in_order(void)
{
	char var[512], want[512];
	snprintf(var, sizeof var, "PATH=/nonexistent:%s::", scratch);
	snprintf(want, sizeof want, "%s/" PROBE, scratch);
	check_finds(var, want);
	/* The same file through the empty entry first: the earlier entry wins. */
	snprintf(var, sizeof var, "PATH=:%s", scratch);
	check_finds(var, "./" PROBE);
}

static void test_not_found(void)
{
	char *msg = NULL;
	CHECK(find(PROBE, "PATH=/nonexistent:/also-nonexistent", &msg) == NULL);
	CHECK_CONTAINS(msg, "executable file not found in $PATH");
	free(msg);
	/* Not executable: skipped like execvp does. */
	CHECK(chmod(PROBE, 0644) == 0);
	CHECK(find(PROBE, "PATH=:", &msg) == NULL);
	free(msg);
	CHECK(chmod(PROBE, 0755) == 0);
}

static void test_name_with_slash_is_not_searched(void)
{
	char *msg = NULL;
	char *exe = find("./" PROBE, "PATH=/nonexistent", &msg);
	CHECK_STR(exe, "./" PROBE);
	free(exe);
	free(msg);
}

/* In a child whose seccomp filter answers close_range with ENOSYS, as a kernel older
 * than 5.9 would: descriptors from 3 + preserve_fds on end up close-on-exec, those below
 * keep their flags. Exit status: 0 when all holds. */
static int seal_without_close_range(void)
{
	close_range(3, ~0U, 0); /* 3 and 4 must be free; the filter below forbids this */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
			     seccomp_syscall_resolve_name("close_range"), 0) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0 || seccomp_load(ctx) < 0)
		return 10;
	seccomp_release(ctx);
	int kept = open("/dev/null", O_RDONLY), sealed = open("/dev/null", O_RDONLY);
	if (kept != 3 || sealed != 4)
		return 11;
	struct hull_err err = {0};
	if (process_seal_fds(1, &err) < 0)
		return 12;
	if (fcntl(kept, F_GETFD) != 0 || fcntl(sealed, F_GETFD) != FD_CLOEXEC)
		return 13;
	return 0;
}

static void test_seal_fds_without_close_range(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(seal_without_close_range());
	int status = -1;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 0);
}

int main(void)
{
	enter_scratch();
	RUN(test_empty_path_entry_is_cwd);
	RUN(test_directories_in_order);
	RUN(test_not_found);
	RUN(test_name_with_slash_is_not_searched);
	leave_scratch();
	RUN(test_seal_fds_without_close_range);
	return unit_done();
}
