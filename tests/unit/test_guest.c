/* hull-guest-init's parts that run without being PID 1 (src/guest/): the control protocol,
 * the PATH search, and the main process's set-up and exec in forked children. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "guest/guest.h"
#include "microvm/virtio.h"
#include "unit.h"

static int ctl(const char *line, struct guest_ctl *c)
{
	return guest_ctl_parse(line, strlen(line), c);
}

static void test_ctl_parse(void)
{
	struct guest_ctl c;
	CHECK(ctl("signal 15", &c) == 0 && c.kind == GUEST_CTL_SIGNAL && c.signal == 15);
	CHECK(ctl("signal 64", &c) == 0 && c.signal == 64);
	CHECK(ctl("winsize 24 80", &c) == 0 && c.kind == GUEST_CTL_WINSIZE && c.rows == 24 &&
	      c.cols == 80);
	CHECK(ctl("winsize 0 65535", &c) == 0 && c.rows == 0 && c.cols == 65535);
	CHECK(ctl("eof 0", &c) == 0 && c.kind == GUEST_CTL_EOF && c.bytes == 0);
	CHECK(ctl("eof 108894", &c) == 0 && c.kind == GUEST_CTL_EOF && c.bytes == 108894);
	CHECK(ctl("eof 9223372036854775807", &c) == 0 && c.bytes == INT64_MAX);
	const char *bad[] = {"signal 0",
			     "signal 65",
			     "signal 015",
			     "signal 9 ",
			     "signal",
			     "signal ",
			     "signal -9",
			     "signal 9x",
			     "winsize 24",
			     "winsize 24 80 1",
			     "winsize 65536 1",
			     "winsize 24  80",
			     "winsize 24 080",
			     "kill 9",
			     "",
			     "SIGNAL 9",
			     "signal 1234567",
			     "eof",
			     "eof ",
			     " eof 1",
			     "EOF 1",
			     "eof\r",
			     "eof 1\r",
			     "eo",
			     "eofx",
			     "eof  1",
			     "eof 1 ",
			     "eof -1",
			     "eof +1",
			     "eof 01",
			     "eof 00",
			     "eof 1x",
			     "eof 0x10",
			     "eof 9223372036854775808",
			     "eof 18446744073709551615",
			     "eof 18446744073709551616",
			     "eof 99999999999999999999999",
			     "ready"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (ctl(bad[i], &c) == 0)
			printf("#   accepted \"%s\"\n", bad[i]);
		CHECK(ctl(bad[i], &c) < 0);
	}
}

/* What the guest sends, read by the VMM's own parser (src/microvm/control.c). */
static void test_guest_lines_parse_on_host(void)
{
	CHECK_STR(GUEST_CTL_READY, "ready\n");
	char line[32];
	size_t n = strlen(GUEST_CTL_READY);
	snprintf(line, sizeof line, "%.*s", (int)n - 1, GUEST_CTL_READY);
	struct vm_control_status st = {0};
	vm_control_parse_line(line, &st);
	CHECK(st.ready && !st.have);
	n = guest_report_format(W_EXITCODE(42, 0), line, sizeof line);
	CHECK(n > 0 && line[n - 1] == '\n');
	line[n - 1] = '\0';
	vm_control_parse_line(line, &st);
	CHECK(st.have && st.exited && st.code == 42);
}

struct seen {
	char lines[8][200];
	int n;
};

static void collect(void *ctx, const char *line, size_t len)
{
	struct seen *s = ctx;
	if (s->n < 8)
		snprintf(s->lines[s->n++], sizeof s->lines[0], "%.*s", (int)len, line);
}

static void test_lines(void)
{
	struct guest_lines l = {0};
	struct seen s = {0};
	guest_lines_feed(&l, "sig", 3, collect, &s);
	CHECK(s.n == 0);
	guest_lines_feed(&l, "nal 9\nwinsize 1 2\n\nsignal", 24, collect, &s);
	CHECK(s.n == 3);
	CHECK_STR(s.lines[0], "signal 9");
	CHECK_STR(s.lines[1], "winsize 1 2");
	CHECK_STR(s.lines[2], "");
	char big[300];
	memset(big, 'x', sizeof big);
	guest_lines_feed(&l, big, sizeof big, collect, &s); /* "signal" + 300 x: overlong */
	guest_lines_feed(&l, "\nsignal 2\n", 10, collect, &s);
	CHECK(s.n == 4);
	CHECK_STR(s.lines[3], "signal 2");
}

static void test_report_format(void)
{
	char buf[32];
	CHECK(guest_report_format(W_EXITCODE(0, 0), buf, sizeof buf) == 7);
	CHECK_STR(buf, "exit 0\n");
	guest_report_format(W_EXITCODE(255, 0), buf, sizeof buf);
	CHECK_STR(buf, "exit 255\n");
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	kill(pid, SIGKILL);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(guest_report_format(st, buf, sizeof buf) == 11);
	CHECK_STR(buf, "signaled 9\n");
	CHECK(guest_exec_status(ENOENT) == 127);
	CHECK(guest_exec_status(EACCES) == 126 && guest_exec_status(ENOEXEC) == 126);
}

static char tmp[] = "/tmp/hull-guest-XXXXXX";

static void put(const char *rel, const char *content, mode_t mode)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs(content, f);
		fclose(f);
	}
	chmod(path, mode);
}

static void test_find_executable(void)
{
	char *env[] = {"A=1", "PATH=/x:/y", NULL}, *noenv[] = {"A=1", NULL};
	CHECK_STR(guest_env_path(env), "/x:/y");
	CHECK_STR(guest_env_path(noenv), GUEST_DEFAULT_PATH);
	CHECK_STR(guest_env_path(NULL), GUEST_DEFAULT_PATH);
	char d1[300], d2[300], path[700], want[400];
	snprintf(d1, sizeof d1, "%s/d1", tmp);
	snprintf(d2, sizeof d2, "%s/d2", tmp);
	CHECK(mkdir(d1, 0755) == 0 && mkdir(d2, 0755) == 0);
	put("d1/plain", "x", 0644);
	put("d2/plain", "#!/bin/sh\n", 0755);
	put("d1/only", "x", 0644);
	CHECK(mkdir(strcat(strcpy(want, d1), "/dir"), 0755) == 0);
	put("d2/dir", "#!/bin/sh\n", 0755);
	snprintf(path, sizeof path, "/nonexistent:%s:%s", d1, d2);
	char *p = guest_find_executable("plain", path);
	snprintf(want, sizeof want, "%s/plain", d2);
	CHECK_STR(p, want); /* d1's is not executable: skipped */
	free(p);
	p = guest_find_executable("dir", path);
	snprintf(want, sizeof want, "%s/dir", d2);
	CHECK_STR(p, want); /* a directory is skipped */
	free(p);
	errno = 0;
	CHECK(guest_find_executable("only", path) == NULL && errno == EACCES);
	CHECK(guest_find_executable("nothing", path) == NULL && errno == ENOENT);
	CHECK(guest_find_executable("", path) == NULL && errno == ENOENT);
	p = guest_find_executable("./rel/x", path);
	CHECK_STR(p, "./rel/x"); /* with a slash: as is, execve decides */
	free(p);
	/* An empty PATH entry is the current directory. */
	char cwd[512];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(chdir(d2) == 0);
	p = guest_find_executable("plain", "/nonexistent::");
	CHECK_STR(p, "./plain");
	free(p);
	CHECK(chdir(cwd) == 0);
}

/* The relay between two pipes: "hvc0" (the host writes h[1], the relay reads h[0]) and the
 * process's stdin (the relay writes o[1], the process reads o[0]); the relay gets h[0] and
 * o[1], nonblocking as PID 1 opens them, and logs to lg[1] ("hvc1"). */
struct relay_case {
	struct guest_relay r;
	int h[2], o[2], lg[2];
};

static void relay_open(struct relay_case *c, int pipe_size)
{
	CHECK(pipe2(c->h, O_CLOEXEC) == 0 && pipe2(c->o, O_CLOEXEC) == 0);
	CHECK(pipe2(c->lg, O_CLOEXEC | O_NONBLOCK) == 0);
	CHECK(fcntl(c->h[0], F_SETFL, O_NONBLOCK) == 0 && fcntl(c->o[1], F_SETFL, O_NONBLOCK) == 0);
	CHECK(fcntl(c->o[0], F_SETFL, O_NONBLOCK) == 0); /* the test reads what is there */
	if (pipe_size > 0)
		CHECK(fcntl(c->o[1], F_SETPIPE_SZ, pipe_size) == pipe_size);
	guest_relay_init(&c->r, c->h[0], c->o[1], c->lg[1]);
	signal(SIGPIPE, SIG_IGN); /* as blocked in PID 1: a failed check, not a dead test */
}

/* What the relay logged so far. */
static void relay_log(struct relay_case *c, char *buf, size_t size)
{
	ssize_t n = read(c->lg[0], buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
}

static void relay_end(struct relay_case *c)
{
	char log[512];
	relay_log(c, log, sizeof log);
	if (log[0])
		printf("#   unchecked relay log: %s", log);
	CHECK(log[0] == '\0');
	guest_relay_close(&c->r);
	if (c->h[1] >= 0)
		close(c->h[1]);
	if (c->o[0] >= 0)
		close(c->o[0]);
	close(c->lg[0]);
	close(c->lg[1]);
	signal(SIGPIPE, SIG_DFL);
}

static void host_writes(struct relay_case *c, const char *data, size_t len)
{
	CHECK(write(c->h[1], data, len) == (ssize_t)len);
}

/* What the process can read now; -1 at end-of-file. */
static ssize_t process_reads(struct relay_case *c, char *buf, size_t size)
{
	ssize_t n = read(c->o[0], buf, size);
	if (n < 0 && errno == EAGAIN)
		return 0;
	return n == 0 ? -1 : n;
}

/* Everything the process can read now, appended at *have (buf has room to spare); true at
 * end-of-file. */
static bool process_drains(struct relay_case *c, char *buf, size_t size, size_t *have)
{
	for (;;) {
		CHECK(*have < size);
		if (*have >= size)
			return false;
		ssize_t n = process_reads(c, buf + *have, size - *have);
		if (n <= 0)
			return n == -1;
		*have += (size_t)n;
	}
}

static void test_relay_moves_bytes(void)
{
	struct relay_case c;
	relay_open(&c, 0);
	CHECK(guest_relay_in_events(&c.r) == POLLIN && guest_relay_out_events(&c.r) == 0);
	guest_relay_step(&c.r); /* nothing there: no blocking */
	host_writes(&c, "hello\n", 6);
	guest_relay_step(&c.r);
	char buf[64] = {0};
	CHECK(process_reads(&c, buf, sizeof buf) == 6);
	CHECK_STR(buf, "hello\n");
	CHECK(c.r.out_fd >= 0 && c.r.got == 6); /* no eof: stays open */
	relay_end(&c);
}

/* A process that does not read: the relay stops reading hvc0 once the pipe is full, keeps
 * at most its buffer, and later delivers every byte in order. */
static void test_relay_back_pressure(void)
{
	struct relay_case c;
	relay_open(&c, 4096);
	static char sent[3 * 4096 + 100], got[sizeof sent];
	for (size_t i = 0; i < sizeof sent; i++)
		sent[i] = (char)('a' + i % 23);
	host_writes(&c, sent, sizeof sent);
	guest_relay_step(&c.r);
	CHECK(guest_relay_in_events(&c.r) == 0 && guest_relay_out_events(&c.r) == POLLOUT);
	int unread = 0;
	CHECK(ioctl(c.h[0], FIONREAD, &unread) == 0 && unread > 0); /* left in "hvc0" */
	guest_relay_step(&c.r);
	size_t have = 0;
	for (int rounds = 0; have < sizeof sent && rounds < 100; rounds++) {
		ssize_t n = process_reads(&c, got + have, sizeof got - have);
		CHECK(n >= 0);
		have += n > 0 ? (size_t)n : 0;
		guest_relay_step(&c.r);
	}
	CHECK(have == sizeof sent && memcmp(got, sent, sizeof sent) == 0);
	CHECK(guest_relay_in_events(&c.r) == POLLIN && guest_relay_out_events(&c.r) == 0);
	relay_end(&c);
}

/* "eof N" after the bytes: the pipe closes once all N are in it, not before. */
static void test_relay_eof_after_data(void)
{
	struct relay_case c;
	relay_open(&c, 4096);
	static char sent[4096 + 10], got[sizeof sent + 10];
	memset(sent, 'x', sizeof sent);
	host_writes(&c, sent, sizeof sent);
	guest_relay_step(&c.r); /* the pipe takes 4096: 10 bytes wait in the relay */
	guest_relay_eof(&c.r, sizeof sent);
	guest_relay_step(&c.r);
	CHECK(c.r.out_fd >= 0 && guest_relay_out_events(&c.r) == POLLOUT); /* bytes pending */
	size_t have = 0;
	CHECK(!process_drains(&c, got, sizeof got, &have) && have == 4096);
	guest_relay_step(&c.r);
	CHECK(c.r.out_fd < 0); /* closed: end-of-file for the process */
	CHECK(process_drains(&c, got, sizeof got, &have) && have == sizeof sent);
	CHECK(c.r.in_fd >= 0 && guest_relay_in_events(&c.r) == POLLIN); /* still drained */
	relay_end(&c);
}

/* "eof N" overtakes the bytes (the guest kernel's hvc driver hands hvc0's input over late):
 * the pipe stays open until the N-th byte is in it, with no timer. */
static void test_relay_eof_before_data(void)
{
	struct relay_case c;
	relay_open(&c, 0);
	guest_relay_eof(&c.r, 10);
	guest_relay_step(&c.r);
	CHECK(c.r.out_fd >= 0 && guest_relay_in_events(&c.r) == POLLIN);
	host_writes(&c, "01234", 5);
	guest_relay_step(&c.r);
	CHECK(c.r.out_fd >= 0);
	host_writes(&c, "5678", 4);
	guest_relay_step(&c.r);
	CHECK(c.r.out_fd >= 0); /* one byte short */
	char got[32] = {0};
	size_t have = 0;
	CHECK(!process_drains(&c, got, sizeof got, &have) && have == 9);
	host_writes(&c, "9", 1);
	guest_relay_step(&c.r);
	CHECK(c.r.out_fd < 0 && process_drains(&c, got, sizeof got, &have) && have == 10);
	CHECK_STR(got, "0123456789");
	relay_end(&c);

	/* No stdin at all: the host's "eof 0" right after "ready" closes the pipe at once. */
	relay_open(&c, 0);
	guest_relay_step(&c.r);
	CHECK(c.r.out_fd >= 0);
	guest_relay_eof(&c.r, 0);
	guest_relay_step(&c.r);
	CHECK(c.r.out_fd < 0 && process_reads(&c, got, sizeof got) == -1);
	relay_end(&c);
}

/* Many small pieces, the "eof" line somewhere among them: every byte arrives, in order, and
 * the pipe closes exactly with the last one. */
static void test_relay_many_pieces(void)
{
	struct relay_case c;
	relay_open(&c, 4096);
	static char sent[100000], got[sizeof sent + 16];
	for (size_t i = 0; i < sizeof sent; i++)
		sent[i] = (char)(i * 7 + i / 251);
	size_t off = 0, have = 0;
	bool early_end = false;
	for (unsigned piece = 0; off < sizeof sent; piece++) {
		size_t k = 1 + (piece * 13) % 37;
		if (k > sizeof sent - off)
			k = sizeof sent - off;
		host_writes(&c, sent + off, k);
		off += k;
		if (off >= sizeof sent / 2 && !c.r.eof)
			guest_relay_eof(&c.r, sizeof sent);
		guest_relay_step(&c.r);
		if (off < sizeof sent)
			early_end |= c.r.out_fd < 0 || process_drains(&c, got, sizeof got, &have);
	}
	CHECK(!early_end);
	for (int rounds = 0; c.r.out_fd >= 0 && rounds < 100; rounds++) {
		process_drains(&c, got, sizeof got, &have);
		guest_relay_step(&c.r);
	}
	CHECK(c.r.out_fd < 0 && process_drains(&c, got, sizeof got, &have));
	CHECK(have == sizeof sent && memcmp(got, sent, sizeof sent) == 0);
	relay_end(&c);
}

/* Bytes past N are the host's mistake: dropped, with one line on "hvc1". */
static void test_relay_past_the_count(void)
{
	struct relay_case c;
	relay_open(&c, 0);
	guest_relay_eof(&c.r, 5);
	host_writes(&c, "helloEXTRA", 10); /* read in one piece with the last good bytes */
	guest_relay_step(&c.r);
	char got[32] = {0}, log[256];
	size_t have = 0;
	CHECK(c.r.out_fd < 0 && process_drains(&c, got, sizeof got, &have) && have == 5);
	CHECK_STR(got, "hello");
	host_writes(&c, "more", 4); /* after the close: still drained, not logged again */
	guest_relay_step(&c.r);
	CHECK(c.r.excess == 9 && guest_relay_in_events(&c.r) == POLLIN);
	relay_log(&c, log, sizeof log);
	CHECK_STR(log, "hull-guest-init: stdin: more bytes than the host's \"eof 5\"; the rest "
		       "is dropped\n");
	relay_end(&c);

	/* The line comes while read bytes still wait for room in the pipe: those past N go. */
	relay_open(&c, 4096);
	static char sent[4096 + 10], big[sizeof sent];
	memset(sent, 'y', sizeof sent);
	host_writes(&c, sent, sizeof sent);
	guest_relay_step(&c.r);
	guest_relay_eof(&c.r, 4100);
	have = 0;
	process_drains(&c, big, sizeof big, &have);
	guest_relay_step(&c.r);
	CHECK(c.r.out_fd < 0 && process_drains(&c, big, sizeof big, &have) && have == 4100);
	CHECK(c.r.excess == 6);
	relay_log(&c, log, sizeof log);
	CHECK_CONTAINS(log, "\"eof 4100\"");
	relay_end(&c);
}

/* hvc0 hung up (the host is gone): what was read goes, then end-of-file at once, with or
 * without the host's count. */
static void test_relay_hangup(void)
{
	struct relay_case c;
	relay_open(&c, 0);
	host_writes(&c, "bye", 3);
	close(c.h[1]);
	c.h[1] = -1;
	guest_relay_step(&c.r);
	char buf[16] = {0};
	CHECK(c.r.eof && c.r.in_fd < 0 && c.r.out_fd < 0);
	CHECK(process_reads(&c, buf, sizeof buf) == 3 && process_reads(&c, buf, sizeof buf) == -1);
	relay_end(&c);

	relay_open(&c, 0);
	guest_relay_eof(&c.r, 10);
	host_writes(&c, "bye", 3);
	close(c.h[1]);
	c.h[1] = -1;
	guest_relay_step(&c.r);
	CHECK(c.r.in_fd < 0 && c.r.out_fd < 0);
	CHECK(process_reads(&c, buf, sizeof buf) == 3 && process_reads(&c, buf, sizeof buf) == -1);
	relay_end(&c);
}

/* The process closed its stdin: the relay gives up (EPIPE, not SIGPIPE: PID 1 blocks it)
 * and stops reading hvc0. */
static void test_relay_reader_gone(void)
{
	struct relay_case c;
	relay_open(&c, 0);
	close(c.o[0]);
	c.o[0] = -1;
	host_writes(&c, "unread", 6);
	guest_relay_step(&c.r);
	CHECK(c.r.in_fd < 0 && c.r.out_fd < 0);
	CHECK(guest_relay_in_events(&c.r) == 0 && guest_relay_out_events(&c.r) == 0);
	guest_relay_eof(&c.r, 6);
	guest_relay_step(&c.r);
	CHECK(c.r.in_fd < 0 && c.r.out_fd < 0);
	relay_end(&c);
}

/* Runs fn in a forked child; returns the child's wait status and what it wrote to fd 1/2. */
static int in_child(void (*fn)(void *), void *arg, char *out, size_t out_size)
{
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 1);
		dup2(p[1], 2);
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	size_t len = 0;
	ssize_t n;
	while (len + 1 < out_size && (n = read(p[0], out + len, out_size - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	int st = -1;
	CHECK(waitpid(pid, &st, 0) == pid);
	return st;
}

static void report_state(void *arg)
{
	struct guestcfg *cfg = arg;
	struct hull_err err = {0};
	if (guest_apply_config(cfg, &err) < 0) {
		printf("error: %s\n", hull_err_text(&err));
		fflush(stdout);
		_exit(1);
	}
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	char cwd[512];
	gid_t groups[8];
	int ng = getgroups(8, groups);
	mode_t m = umask(0);
	printf("uid=%d gid=%d groups=%d:%d,%d nofile=%lu/%lu umask=%03o nnp=%d cwd=%s\n",
	       (int)getuid(), (int)getgid(), ng, ng > 0 ? (int)groups[0] : -1,
	       ng > 1 ? (int)groups[1] : -1, (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max,
	       (unsigned)m, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), getcwd(cwd, sizeof cwd));
	fflush(stdout);
}

static void test_apply_config(void)
{
	if (geteuid() != 0) {
		printf("# SKIP test_apply_config: needs root for setuid/setgroups\n");
		return;
	}
	uint32_t groups[] = {5, 6};
	struct guestcfg_rlimit rl[] = {{RLIMIT_NOFILE, 100, 200}};
	char *args[] = {"x", NULL};
	struct guestcfg cfg = {.args = args,
			       .n_args = 1,
			       .cwd = tmp,
			       .uid = 1000,
			       .gid = 1001,
			       .groups = groups,
			       .n_groups = 2,
			       .has_umask = true,
			       .umask = 027,
			       .rlimits = rl,
			       .n_rlimits = 1,
			       .no_new_privs = true};
	char out[1024], want[1024];
	int st = in_child(report_state, &cfg, out, sizeof out);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(want, sizeof want,
		 "uid=1000 gid=1001 groups=2:5,6 nofile=100/200 umask=027 nnp=1 cwd=%s\n", tmp);
	CHECK_STR(out, want);
	cfg.cwd = "/nonexistent/dir";
	st = in_child(report_state, &cfg, out, sizeof out);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	CHECK_CONTAINS(out, "error: chdir /nonexistent/dir: No such file or directory");
	struct guestcfg_rlimit bad[] = {{RLIMIT_NOFILE, 1ULL << 40, 1ULL << 40}};
	cfg.cwd = "/";
	cfg.rlimits = bad;
	st = in_child(report_state, &cfg, out, sizeof out);
	CHECK_CONTAINS(out, "error: setrlimit 7");
}

struct run_case {
	struct guestcfg *cfg;
	int in_fd, fd;
};

static void run_child(void *arg)
{
	struct run_case *rc = arg;
	guest_child_run(rc->cfg, rc->in_fd, rc->fd, rc->fd);
}

/* guest_child_run: stdio on the channels, exit statuses of the shell's kind. */
static void test_child_run(void)
{
	char *env[] = {"PATH=/usr/bin:/bin", "GREETING=hi there", NULL};
	char *sh[] = {"sh", "-c", "echo \"$GREETING\" from $(pwd); echo err >&2; exit 3", NULL};
	struct guestcfg cfg = {.args = sh, .n_args = 3, .env = env, .n_env = 2, .cwd = tmp};
	char out[1024], want[512];
	/* The child's stdio is the fd given as the channels: here the test's pipe (fd 1). */
	struct run_case rc = {&cfg, 1, 1};
	int st = in_child(run_child, &rc, out, sizeof out);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	snprintf(want, sizeof want, "hi there from %s\nerr\n", tmp);
	CHECK_STR(out, want);

	char *missing[] = {"no-such-command", NULL};
	cfg.args = missing;
	cfg.n_args = 1;
	st = in_child(run_child, &rc, out, sizeof out);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 127);
	CHECK_STR(out, "hull-guest-init: exec no-such-command: No such file or directory\n");

	put("noexec", "#!/bin/sh\n", 0644);
	char path[400];
	snprintf(path, sizeof path, "%s/noexec", tmp);
	char *noexec[] = {path, NULL};
	cfg.args = noexec;
	st = in_child(run_child, &rc, out, sizeof out);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 126);
	CHECK_CONTAINS(out, "Permission denied");

	cfg.args = sh;
	cfg.cwd = "/nonexistent";
	st = in_child(run_child, &rc, out, sizeof out);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 126);
	CHECK_STR(out, "hull-guest-init: chdir /nonexistent: No such file or directory\n");

	/* No env at all: an empty environment, the default PATH. */
	char *envcheck[] = {"/bin/sh", "-c", "test -z \"$GREETING\" && env | wc -l", NULL};
	cfg = (struct guestcfg){.args = envcheck, .n_args = 3, .cwd = "/"};
	st = in_child(run_child, &rc, out, sizeof out);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(atoi(out) <= 3); /* what sh itself sets: PWD, SHLVL, _ */
}

/* Without a terminal the process's stdin is the relay's pipe: it sees end-of-file. */
static void test_child_stdin(void)
{
	char *cat[] = {"cat", NULL};
	char *env[] = {"PATH=/usr/bin:/bin", NULL};
	struct guestcfg cfg = {.args = cat, .n_args = 1, .env = env, .n_env = 1, .cwd = "/"};
	int p[2];
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	CHECK(write(p[1], "from the host\n", 14) == 14);
	close(p[1]);
	struct run_case rc = {&cfg, p[0], 1};
	char out[256];
	int st = in_child(run_child, &rc, out, sizeof out);
	close(p[0]);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_STR(out, "from the host\n");
}

/* ---- privs.c ---- */

static void test_capset_data(void)
{
	struct guestcfg_caps c = {.effective = UINT64_C(0x8000010000000021),
				  .permitted = UINT64_C(0x0000010000000001),
				  .inheritable = UINT64_C(1) << 40};
	struct __user_cap_data_struct d[2];
	guest_capset_data(&c, 40, d);
	CHECK(d[0].effective == 0x21 && d[1].effective == 0x100); /* bit 63: above last */
	CHECK(d[0].permitted == 1 && d[1].permitted == 0x100);
	CHECK(d[0].inheritable == 0 && d[1].inheritable == 0x100);
	guest_capset_data(&c, 39, d);
	CHECK(d[1].effective == 0 && d[1].permitted == 0 && d[1].inheritable == 0);
	CHECK(guest_caps_known(UINT64_MAX, 63) == UINT64_MAX);
	CHECK(guest_caps_known(UINT64_MAX, 0) == 1);
	CHECK(guest_caps_known(UINT64_MAX, -1) == 0);
	int last = guest_last_cap();
	CHECK(last >= 37 && last < 63); /* CAP_AUDIT_READ is 37 since Linux 3.16 */
}

#define CAP_BIT(n) (UINT64_C(1) << (n))
#define CHOWN_KILL (CAP_BIT(0) | CAP_BIT(5))
#define NET_BIND   CAP_BIT(10)

static char *cap_status[] = {"/bin/sh", "-c", "grep ^Cap /proc/self/status", NULL};

/* The capability lines of /proc/self/status of a process run under cfg. */
static int caps_seen(struct guestcfg *cfg, char *out, size_t size)
{
	struct run_case rc = {cfg, 1, 1};
	int st = in_child(run_child, &rc, out, size);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_caps_applied(void)
{
	if (geteuid() != 0) {
		printf("# SKIP test_caps_applied: needs root to drop and set capabilities\n");
		return;
	}
	char *env[] = {"PATH=/usr/bin:/bin", NULL};
	char out[1024];
	/* Root: after execve its permitted and effective sets are bounding | inheritable. */
	struct guestcfg cfg = {.args = cap_status,
			       .n_args = 3,
			       .env = env,
			       .n_env = 1,
			       .cwd = "/",
			       .has_caps = true,
			       .caps = {.bounding = CHOWN_KILL | CAP_BIT(63),
					.effective = CHOWN_KILL,
					.permitted = CHOWN_KILL}};
	CHECK(caps_seen(&cfg, out, sizeof out) == 0);
	CHECK_STR(out, "CapInh:\t0000000000000000\nCapPrm:\t0000000000000021\n"
		       "CapEff:\t0000000000000021\nCapBnd:\t0000000000000021\n"
		       "CapAmb:\t0000000000000000\n");
	/* A user with an ambient capability keeps it across execve. */
	cfg.uid = cfg.gid = 1000;
	cfg.caps = (struct guestcfg_caps){.bounding = CHOWN_KILL | NET_BIND,
					  .effective = NET_BIND,
					  .permitted = NET_BIND,
					  .inheritable = NET_BIND,
					  .ambient = NET_BIND | CAP_BIT(1)};
	CHECK(caps_seen(&cfg, out, sizeof out) == 0);
	CHECK_STR(out, "CapInh:\t0000000000000400\nCapPrm:\t0000000000000400\n"
		       "CapEff:\t0000000000000400\nCapBnd:\t0000000000000421\n"
		       "CapAmb:\t0000000000000400\n");
	/* Empty sets: nothing at all, even as root. */
	cfg.uid = cfg.gid = 0;
	cfg.caps = (struct guestcfg_caps){0};
	CHECK(caps_seen(&cfg, out, sizeof out) == 0);
	CHECK_CONTAINS(out, "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n");
	/* Effective outside permitted: the kernel refuses, the process does not run. */
	cfg.caps = (struct guestcfg_caps){.bounding = NET_BIND, .effective = NET_BIND};
	CHECK(caps_seen(&cfg, out, sizeof out) == 126);
	CHECK_STR(out, "hull-guest-init: capabilities: set effective, permitted and "
		       "inheritable: Operation not permitted\n");
}

#if defined(__x86_64__)
#define SECCOMP_ARCH_OFFSET offsetof(struct seccomp_data, arch)
/* mkdir and mkdirat fail with EPERM, everything else runs: what a profile rule
 * {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1} compiles to. */
static const struct sock_filter NO_MKDIR[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SECCOMP_ARCH_OFFSET),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdir, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdirat, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
};

static void test_seccomp_applied(void)
{
	if (geteuid() != 0) {
		printf("# SKIP test_seccomp_applied: needs root (the filter without "
		       "no_new_privs)\n");
		return;
	}
	char *env[] = {"PATH=/usr/bin:/bin", NULL};
	char cmd[600], out[1024], want[1024];
	snprintf(cmd, sizeof cmd, "mkdir %s/sx; echo rc=$?; echo other commands work", tmp);
	char *args[] = {"/bin/sh", "-c", cmd, NULL};
	unsigned char prog[sizeof NO_MKDIR];
	memcpy(prog, NO_MKDIR, sizeof prog);
	struct guestcfg cfg = {.args = args,
			       .n_args = 3,
			       .env = env,
			       .n_env = 1,
			       .cwd = "/",
			       .uid = 1000,
			       .gid = 1000,
			       .has_caps = true,
			       .seccomp = prog,
			       .seccomp_len = sizeof prog,
			       .seccomp_flags = SECCOMP_FILTER_FLAG_LOG};
	snprintf(want, sizeof want,
		 "mkdir: cannot create directory '%s/sx': Operation not permitted\nrc=1\n"
		 "other commands work\n",
		 tmp);
	/* Both places: before the user switch (no no_new_privs), and right before execve. */
	for (int nnp = 0; nnp < 2; nnp++) {
		cfg.no_new_privs = nnp;
		struct run_case rc = {&cfg, 1, 1};
		int st = in_child(run_child, &rc, out, sizeof out);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CHECK_STR(out, want);
	}
	/* A program the kernel refuses (a load past struct seccomp_data) ends in 126. */
	struct sock_filter bad[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4096),
				    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	cfg.seccomp = (unsigned char *)bad;
	cfg.seccomp_len = sizeof bad;
	struct run_case rc = {&cfg, 1, 1};
	int st = in_child(run_child, &rc, out, sizeof out);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 126);
	CHECK_STR(out, "hull-guest-init: seccomp: load the filter: Invalid argument\n");
}
#endif

static void test_read_config(void)
{
	char *args[] = {"true", NULL};
	struct guestcfg in = {.args = args, .n_args = 1, .cwd = "/", .hostname = "h"};
	char *buf;
	size_t len;
	CHECK(guestcfg_write(&in, &buf, &len, NULL) == 0);
	char path[300];
	snprintf(path, sizeof path, "%s/config", tmp);
	FILE *f = fopen(path, "w");
	fwrite(buf, 1, len, f);
	fclose(f);
	free(buf);
	struct guestcfg out;
	struct hull_err err = {0};
	CHECK(guest_read_config(path, &out, &err) == 0);
	CHECK_STR(out.hostname, "h");
	CHECK_STR(out.args[0], "true");
	guestcfg_free(&out);
	CHECK(guest_read_config("/nonexistent", &out, &err) < 0);
	CHECK_CONTAINS(err.msg, "open /nonexistent");
	CHECK(guest_read_config(tmp, &out, &err) < 0); /* a directory */
	CHECK_CONTAINS(err.msg, "not a regular file");
	put("bad", "hull-guest-config 1\nend 0:\n", 0644);
	snprintf(path, sizeof path, "%s/bad", tmp);
	CHECK(guest_read_config(path, &out, &err) < 0);
	CHECK_CONTAINS(err.msg, "guest config: missing \"arg\"");
	guestcfg_free(&out);
	hull_err_clear(&err);
}

static void test_set_raw(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0);
	int s = open(ptsname(m), O_RDWR | O_NOCTTY);
	CHECK(s >= 0);
	struct termios t;
	CHECK(tcgetattr(s, &t) == 0 && (t.c_lflag & ECHO) && (t.c_oflag & OPOST));
	CHECK(guest_set_raw(s, NULL) == 0);
	CHECK(tcgetattr(s, &t) == 0);
	CHECK(!(t.c_lflag & (ECHO | ICANON | ISIG)) && !(t.c_oflag & OPOST));
	CHECK(!(t.c_iflag & ICRNL));
	struct hull_err err = {0};
	CHECK(guest_set_raw(0 > 1 ? 0 : open("/dev/null", O_RDONLY), &err) < 0);
	CHECK_CONTAINS(err.msg, "tcgetattr");
	hull_err_clear(&err);
	close(s);
	close(m);
}

static void restore_in_chroot(void *dir)
{
	struct hull_err err = {0};
	if (chroot(dir) < 0 || chdir("/") < 0 || guest_restore_rootfs(&err) < 0) {
		printf("error: %s\n", err.msg ? hull_err_text(&err) : strerror(errno));
		fflush(stdout);
		_exit(1);
	}
}

/* /init and /.hull go; the rootfs's own /init (here a directory) comes back. */
static void test_restore_rootfs(void)
{
	if (geteuid() != 0) {
		printf("# SKIP test_restore_rootfs: needs root for chroot\n");
		return;
	}
	char root[300], cmd[2048], out[512];
	snprintf(root, sizeof root, "%s/root", tmp);
	snprintf(cmd, sizeof cmd,
		 "mkdir -p %s/.hull/rootfs-init/sub && echo ours >%s/init && "
		 "echo cfg >%s/.hull/config && echo theirs >%s/.hull/rootfs-init/sub/f",
		 root, root, root, root);
	CHECK(system(cmd) == 0);
	int st = in_child(restore_in_chroot, root, out, sizeof out);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_STR(out, "");
	snprintf(cmd, sizeof cmd,
		 "cd %s && test ! -e .hull && test -d init && grep -qx theirs init/sub/f", root);
	CHECK(system(cmd) == 0);
	/* Without a rootfs init: just ours removed. */
	snprintf(cmd, sizeof cmd, "rm -rf %s/init && mkdir %s/.hull && echo ours >%s/init", root,
		 root, root);
	CHECK(system(cmd) == 0);
	st = in_child(restore_in_chroot, root, out, sizeof out);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(cmd, sizeof cmd, "cd %s && test ! -e .hull && test ! -e init", root);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_ctl_parse);
	RUN(test_guest_lines_parse_on_host);
	RUN(test_lines);
	RUN(test_report_format);
	RUN(test_find_executable);
	RUN(test_apply_config);
	RUN(test_child_run);
	RUN(test_child_stdin);
	RUN(test_capset_data);
	RUN(test_caps_applied);
#if defined(__x86_64__)
	RUN(test_seccomp_applied);
#endif
	RUN(test_relay_moves_bytes);
	RUN(test_relay_back_pressure);
	RUN(test_relay_eof_after_data);
	RUN(test_relay_eof_before_data);
	RUN(test_relay_many_pieces);
	RUN(test_relay_past_the_count);
	RUN(test_relay_hangup);
	RUN(test_relay_reader_gone);
	RUN(test_read_config);
	RUN(test_set_raw);
	RUN(test_restore_rootfs);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
	return unit_done();
}
