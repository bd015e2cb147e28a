/* hull ps [-f table|json] ID [PS OPTIONS]: the processes in a container's cgroup, as a
 * JSON array of host pids, or as the host's ps(1) prints them (runc's two formats). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "runtime.h"

extern char **environ;

struct pid_list {
	pid_t *v;
	size_t n;
};

static int container_pids(const struct hull_globals *g, const char *id, struct pid_list *out,
			  struct hull_err *err)
{
	struct container c;
	int r = container_open(g, id, false, &c, err);
	if (r == 0 && c.st.cgroup != NULL) {
		struct cgroup *cg = cgroup_open(c.st.cgroup, err);
		r = cg != NULL ? cgroup_pids(cg, &out->v, &out->n, err) : -1;
		cgroup_free(cg);
	}
	container_close(&c);
	return r;
}

static void print_json(const struct pid_list *p)
{
	fputc('[', stdout);
	for (size_t i = 0; i < p->n; i++)
		printf("%s%d", i ? "," : "", (int)p->v[i]);
	fputs("]\n", stdout);
}

/* Everything until EOF, NUL-terminated; reads on after an error so the writer never
 * blocks on a full pipe. */
static char *read_all(int fd)
{
	size_t cap = 16384, len = 0;
	_cleanup_free_ char *buf = malloc(cap);
	int e = buf ? 0 : ENOMEM;
	for (;;) {
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : e;
			break;
		}
		if (e == 0 && len + (size_t)n + 1 > cap) {
			char *bigger = realloc(buf, cap = 2 * cap + (size_t)n);
			e = bigger ? 0 : ENOMEM;
			buf = bigger ? bigger : buf;
		}
		if (e != 0)
			continue;
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
	}
	if (e != 0) {
		errno = e;
		return NULL;
	}
	buf[len] = '\0';
	return steal_ptr(&buf);
}

/* argv[0] "ps" and the rest, NULL-terminated; its whole stdout into *out. */
static int spawn_ps(char **argv, char **out, struct hull_err *err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return hull_error(err, errno, "ps: pipe");
	_cleanup_close_ int rd = fds[0];
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	pid_t pid;
	int e = posix_spawnp(&pid, "ps", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (e != 0)
		return hull_error(err, e, "ps: run ps");
	*out = read_all(rd);
	int read_errno = errno, status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return hull_error(err, 0, "ps: ps %s failed", argv[1]);
	if (*out == NULL)
		return hull_error(err, read_errno, "ps: read the output of ps");
	return 0;
}

/* ps(1) with args, -ef when there are none. */
static int run_ps(char **args, int n_args, char **out, struct hull_err *err)
{
	char **argv = calloc((size_t)n_args + 3, sizeof *argv);
	if (argv == NULL)
		return hull_error(err, ENOMEM, "ps");
	argv[0] = "ps";
	argv[1] = "-ef";
	if (n_args > 0)
		memcpy(argv + 1, args, (size_t)n_args * sizeof *argv);
	int r = spawn_ps(argv, out, err);
	free(argv);
	return r;
}

/* The index of the PID column in ps's header line, or -1. */
static int pid_column(const char *header, size_t len)
{
	int col = 0;
	for (size_t i = 0; i < len; col++) {
		i += strspn(header + i, " \t");
		size_t n = strcspn(header + i, " \t\n");
		if (n == 0)
			break;
		if (n == 3 && memcmp(header + i, "PID", 3) == 0)
			return col;
		i += n;
	}
	return -1;
}

static long field_at(const char *line, int col)
{
	for (int c = 0;; c++) {
		line += strspn(line, " \t");
		if (*line == '\0' || *line == '\n')
			return -1;
		if (c == col) {
			char *end;
			long v = strtol(line, &end, 10);
			return end != line && strchr(" \t\n", *end) ? v : -1;
		}
		line += strcspn(line, " \t\n");
	}
}

static bool has_pid(const struct pid_list *p, long pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i] == pid)
			return true;
	return false;
}

/* runc's rule: the header, then the lines whose PID column names a pid of the cgroup. */
static int print_table(const struct pid_list *p, const char *text, struct hull_err *err)
{
	size_t hlen = strcspn(text, "\n");
	int col = pid_column(text, hlen);
	if (col < 0)
		return hull_error(err, 0, "ps: no PID column in the output of ps");
	printf("%.*s\n", (int)hlen, text);
	for (const char *l = text + hlen; *l == '\n' && l[1] != '\0';) {
		l++;
		size_t n = strcspn(l, "\n");
		if (has_pid(p, field_at(l, col)))
			printf("%.*s\n", (int)n, l);
		l += n;
	}
	return 0;
}

int cmd_ps(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	const char *format = "table";
	const struct cli_opt opts[] = {{"format", 'f', CLI_STRING, &format}, {0}};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0)
		return -1;
	if (first >= argc)
		return hull_error(err, 0, "ps: missing container id");
	bool json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "table") != 0)
		return hull_error(err, 0, "ps: --format must be table or json, not \"%s\"", format);
	if (json && argc - first > 1)
		return hull_error(err, 0, "ps: ps options are only for --format table");
	struct pid_list pids = {0};
	_cleanup_free_ char *out = NULL;
	int r = container_pids(g, argv[first], &pids, err);
	if (r == 0 && json)
		print_json(&pids);
	else if (r == 0 && (r = run_ps(argv + first + 1, argc - first - 1, &out, err)) == 0)
		r = print_table(&pids, out, err);
	free(pids.v);
	return r;
}
