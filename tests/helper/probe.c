/* hull-probe: a static helper copied into test root filesystems as /probe.
 *
 *   probe report              one JSON object of what the process sees from inside
 *   probe exit N              exit with status N
 *   probe sleep SECONDS [TAG] sleep (no signal handlers: a pid-namespace init ignores TERM);
 *                             TAG is ignored, it marks the process's command line
 *   probe write PATH TEXT     write TEXT to PATH (created 0644, truncated)
 *   probe cat PATH            copy PATH to stdout
 *   probe syscall NAME [ARG]  call NAME with up to six integer args, print ret/errno as JSON
 *   probe ls PATH             lstat PATH as JSON (exit 1 when it does not exist)
 *   probe signals             print "ready", then one line per signal; exit 0 on SIGTERM
 *   probe open-exe [SECONDS]  CVE-2019-5736 check, see open_exe()
 *   probe hook KIND DIR       an OCI hook: saves stdin (the state) and where it ran to
 *                             DIR/KIND.json
 *   probe keyring             the session keyring's serial and KEYCTL_DESCRIBE text as
 *                             JSON ({"errno": N} when keyctl fails)
 *
 * Only libc: this is linked -static and must run in a rootfs with nothing else in it.
 * Errors go to stderr as "probe: <what>: <strerror>" with exit status 1. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- A tiny JSON writer to stdout: keys and commas handled by a nesting stack. ---- */

static bool first[64];
static int depth;

static void str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\t')
			fputs("\\t", stdout);
		else if (*p < 0x20 || *p == 0x7f) /* bytes >= 0x80 pass: UTF-8 stays UTF-8 */
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void sep(const char *key)
{
	if (depth > 0 && !first[depth])
		putchar(',');
	first[depth] = false;
	if (key != NULL) {
		str(key);
		putchar(':');
	}
}

static void open_c(const char *key, char c)
{
	sep(key);
	putchar(c);
	first[++depth] = true;
}

static void close_c(char c)
{
	putchar(c);
	depth--;
}

#define obj(key)  open_c(key, '{')
#define arr(key)  open_c(key, '[')
#define end_obj() close_c('}')
#define end_arr() close_c(']')

static void kstr(const char *key, const char *v)
{
	sep(key);
	if (v == NULL)
		fputs("null", stdout);
	else
		str(v);
}

static void kint(const char *key, long long v)
{
	sep(key);
	printf("%lld", v);
}

static void kbool(const char *key, bool v)
{
	sep(key);
	fputs(v ? "true" : "false", stdout);
}

static void kdouble(const char *key, double v)
{
	sep(key);
	printf("%.6f", v);
}

static void kerrno(const char *key, int e)
{
	obj(key);
	kint("errno", e);
	kstr("error", strerror(e));
	end_obj();
}

/* ---- Small helpers ---- */

static int die(const char *what, const char *arg)
{
	fprintf(stderr, "probe: %s %s: %s (errno %d)\n", what, arg, strerror(errno), errno);
	return 1;
}

/* The value after "Name:" in /proc/self/status, or NULL. Static buffer. */
static const char *status_field(const char *name)
{
	static char line[512];
	size_t n = strlen(name);
	FILE *f = fopen("/proc/self/status", "re");
	if (f == NULL)
		return NULL;
	const char *found = NULL;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			char *v = line + n + 1;
			while (isspace((unsigned char)*v))
				v++;
			v[strcspn(v, "\n")] = '\0';
			found = v;
			break;
		}
	}
	fclose(f);
	return found;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *unescape(char *s)
{
	char *out = s;
	for (char *in = s; *in;) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] && in[3]) {
			*out++ = (char)strtol((char[]){in[1], in[2], in[3], 0}, NULL, 8);
			in += 4;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
	return s;
}

/* ---- probe report ---- */

static const struct {
	const char *name;
	int res;
} rlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},		  {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},	  {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},	  {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},	  {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},	  {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},	  {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},	  {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static void report_ids(void)
{
	kint("uid", getuid());
	kint("gid", getgid());
	kint("euid", geteuid());
	kint("egid", getegid());
	gid_t groups[NGROUPS_MAX];
	int n = getgroups(NGROUPS_MAX, groups);
	arr("groups");
	for (int i = 0; i < n; i++)
		kint(NULL, groups[i]);
	end_arr();
	const char *umask_s = status_field("Umask");
	kint("umask", umask_s ? strtol(umask_s, NULL, 8) : -1);
	char cwd[PATH_MAX];
	kstr("cwd", getcwd(cwd, sizeof(cwd)));
	struct utsname u;
	uname(&u);
	kstr("hostname", u.nodename);
	kstr("domainname", u.domainname);
	obj("uname");
	kstr("sysname", u.sysname);
	kstr("release", u.release);
	kstr("machine", u.machine);
	end_obj();
	kint("pid", getpid());
	kint("ppid", getppid());
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[len < 0 ? 0 : len] = '\0';
	kstr("exe", len < 0 ? NULL : exe);
}

static void report_args(int argc, char **argv)
{
	arr("argv");
	for (int i = 0; i < argc; i++)
		kstr(NULL, argv[i]);
	end_arr();
	arr("env");
	for (char **e = environ; e && *e; e++)
		kstr(NULL, *e);
	end_arr();
}

static void report_security(void)
{
	static const char *caps[][2] = {{"CapInh", "inheritable"},
					{"CapPrm", "permitted"},
					{"CapEff", "effective"},
					{"CapBnd", "bounding"},
					{"CapAmb", "ambient"}};
	obj("caps");
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		kstr(caps[i][1], status_field(caps[i][0]));
	end_obj();
	kint("no_new_privs", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	const char *s = status_field("Seccomp");
	kint("seccomp", s ? atoi(s) : -1);
	s = status_field("Seccomp_filters");
	kint("seccomp_filters", s ? atoi(s) : -1);
	obj("rlimits");
	for (size_t i = 0; i < sizeof(rlimits) / sizeof(rlimits[0]); i++) {
		struct rlimit r;
		getrlimit(rlimits[i].res, &r);
		obj(rlimits[i].name);
		kint("soft", r.rlim_cur == RLIM_INFINITY ? -1 : (long long)r.rlim_cur);
		kint("hard", r.rlim_max == RLIM_INFINITY ? -1 : (long long)r.rlim_max);
		end_obj();
	}
	end_obj();
	char buf[32] = "";
	FILE *f = fopen("/proc/self/oom_score_adj", "re");
	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	kint("oom_score_adj", buf[0] ? atoi(buf) : -10000);
}

static void report_namespaces(void)
{
	static const char *ns[] = {
	    "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children",
	    "user",   "uts"};
	obj("namespaces");
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		char path[64], target[128];
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		kstr(ns[i], target);
	}
	end_obj();
}

static void report_mounts(void)
{
	arr("mounts");
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		/* id parent maj:min root mountpoint options [optional...] - fstype source super */
		char *field[16];
		int n = 0;
		for (char *save, *t = strtok_r(line, " \n", &save); t && n < 16;
		     t = strtok_r(NULL, " \n", &save))
			field[n++] = t;
		int dash = 6;
		while (dash < n && strcmp(field[dash], "-") != 0)
			dash++;
		if (n < 7 || dash >= n)
			continue;
		obj(NULL);
		kstr("root", unescape(field[3]));
		kstr("mount_point", unescape(field[4]));
		kstr("options", field[5]);
		kstr("fstype", dash + 1 < n ? field[dash + 1] : "");
		kstr("source", dash + 2 < n ? unescape(field[dash + 2]) : "");
		kstr("super_options", dash + 3 < n ? field[dash + 3] : "");
		end_obj();
	}
	if (f != NULL)
		fclose(f);
	end_arr();
	arr("cgroup");
	f = fopen("/proc/self/cgroup", "re");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		kstr(NULL, line);
	}
	if (f != NULL)
		fclose(f);
	end_arr();
}

static const char *policy_name(int p)
{
	static const char *names[] = {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",	    "SCHED_BATCH",
				      "unknown",     "SCHED_IDLE", "SCHED_DEADLINE"};
	return p >= 0 && p < 7 ? names[p] : "unknown";
}

static void report_process(void)
{
	kint("personality", personality(0xffffffff));
	int policy = sched_getscheduler(0);
	struct sched_param sp = {0};
	sched_getparam(0, &sp);
	obj("scheduler");
	kstr("policy", policy < 0 ? NULL : policy_name(policy & ~SCHED_RESET_ON_FORK));
	kbool("reset_on_fork", policy >= 0 && (policy & SCHED_RESET_ON_FORK));
	kint("priority", sp.sched_priority);
	end_obj();
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	kint("nice", nice);
	long io = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
	obj("ioprio");
	kint("class", io < 0 ? -1 : io >> 13);
	kint("priority", io < 0 ? -1 : io & 0xff);
	end_obj();
	struct timespec mono, boot;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	obj("clocks");
	kdouble("monotonic", mono.tv_sec + mono.tv_nsec / 1e9);
	kdouble("boottime", boot.tv_sec + boot.tv_nsec / 1e9);
	end_obj();
	obj("tty");
	kbool("stdin", isatty(0));
	kbool("stdout", isatty(1));
	kstr("ttyname", isatty(0) ? ttyname(0) : NULL);
	struct winsize ws;
	if (isatty(0) && ioctl(0, TIOCGWINSZ, &ws) == 0) {
		kint("rows", ws.ws_row);
		kint("cols", ws.ws_col);
	}
	end_obj();
}

static void report_fds(void)
{
	/* The directory stream's own fd is left out so a clean process shows 0, 1, 2. */
	arr("fds");
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		char target[PATH_MAX];
		ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		obj(NULL);
		kint("fd", atoi(e->d_name));
		kstr("target", target);
		end_obj();
	}
	if (d != NULL)
		closedir(d);
	end_arr();
}

static int report(int argc, char **argv)
{
	obj(NULL);
	report_ids();
	report_args(argc, argv);
	report_security();
	report_namespaces();
	report_mounts();
	report_process();
	report_fds();
	end_obj();
	putchar('\n');
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- The small commands ---- */

static int do_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return die("open", path);
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		return die("write", path);
	if (close(fd) < 0)
		return die("close", path);
	return 0;
}

static int do_cat(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return die("open", path);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return die("write", "stdout");
	if (n < 0)
		return die("read", path);
	close(fd);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int do_ls(const char *path)
{
	struct stat st;
	obj(NULL);
	kstr("path", path);
	int rc = lstat(path, &st);
	if (rc < 0) {
		kint("errno", errno);
		kstr("error", strerror(errno));
	} else {
		const char *type = S_ISREG(st.st_mode)	  ? "f"
				   : S_ISDIR(st.st_mode)  ? "d"
				   : S_ISLNK(st.st_mode)  ? "l"
				   : S_ISCHR(st.st_mode)  ? "c"
				   : S_ISBLK(st.st_mode)  ? "b"
				   : S_ISFIFO(st.st_mode) ? "p"
							  : "s";
		kstr("type", type);
		kint("mode", st.st_mode & 07777);
		kint("uid", st.st_uid);
		kint("gid", st.st_gid);
		kint("size", st.st_size);
		kint("major", major(st.st_rdev));
		kint("minor", minor(st.st_rdev));
		char target[PATH_MAX];
		ssize_t n = S_ISLNK(st.st_mode) ? readlink(path, target, sizeof(target) - 1) : -1;
		if (n >= 0) {
			target[n] = '\0';
			kstr("target", target);
		}
	}
	end_obj();
	putchar('\n');
	return rc < 0 ? 1 : 0;
}

static const struct {
	const char *name;
	long nr;
} syscalls[] = {
    {"getppid", SYS_getppid}, {"getpid", SYS_getpid},		{"getuid", SYS_getuid},
    {"getpgid", SYS_getpgid}, {"personality", SYS_personality}, {"umask", SYS_umask},
    {"uname", SYS_uname},     {"sched_yield", SYS_sched_yield}, {"getpriority", SYS_getpriority},
    {"kill", SYS_kill},	      {"unshare", SYS_unshare},		{"mkdir", SYS_mkdir},
    {"chdir", SYS_chdir},     {"getcwd", SYS_getcwd},		{"sync", SYS_sync},
};

/* Integer arguments only (decimal, 0x hex, 0 octal); a bare string argument is passed as
 * a pointer to it, so `probe syscall mkdir /tmp/x 0755` works too. */
static int do_syscall(int argc, char **argv)
{
	long nr = -1;
	for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++)
		if (strcmp(syscalls[i].name, argv[0]) == 0)
			nr = syscalls[i].nr;
	if (nr < 0) {
		fprintf(stderr, "probe: syscall: unknown name: %s\n", argv[0]);
		return 2;
	}
	long a[6] = {0};
	for (int i = 1; i < argc && i <= 6; i++) {
		char *end;
		a[i - 1] = (long)strtoull(argv[i], &end, 0);
		if (*end != '\0')
			a[i - 1] = (long)argv[i];
	}
	errno = 0;
	long ret = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	int e = ret == -1 ? errno : 0;
	obj(NULL);
	kstr("syscall", argv[0]);
	kint("ret", ret);
	kint("errno", e);
	kstr("error", e ? strerror(e) : NULL);
	end_obj();
	putchar('\n');
	return 0;
}

static int do_signals(void)
{
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			return die("sigwaitinfo", "");
		}
		const char *name = sigabbrev_np(sig);
		printf("signal %d %s\n", sig, name ? name : "RT");
		fflush(stdout);
		if (sig == SIGTERM)
			return 0;
	}
}

static void open_result(const char *key, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0) {
		kerrno(key, errno);
		return;
	}
	struct stat st;
	fstat(fd, &st);
	obj(key);
	kint("errno", 0);
	kint("dev_major", major(st.st_dev));
	kint("dev_minor", minor(st.st_dev));
	kint("ino", (long long)st.st_ino);
	end_obj();
	close(fd);
}

/* CVE-2019-5736: a container process held an O_PATH fd on the runtime's /proc/PID/exe and
 * reopened it for writing once the runtime had exec'd away, overwriting the host binary.
 * This tries exactly that against pid 1 of its pid namespace (run it in a container that
 * shares the pid namespace of a created container), never writing a byte: it only reports
 * whether the reopen succeeded and which file (device, inode) it got. */
static int open_exe(int seconds)
{
	obj(NULL);
	kstr("event", "ready");
	open_result("self_write", "/proc/self/exe", O_WRONLY);
	open_result("init_write", "/proc/1/exe", O_WRONLY);
	int path_fd = open("/proc/1/exe", O_PATH | O_CLOEXEC);
	if (path_fd < 0)
		kerrno("init_path", errno);
	end_obj();
	putchar('\n');
	fflush(stdout);
	char fdpath[64];
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", path_fd);
	int fd = -1, last = 0;
	for (long i = 0; path_fd >= 0 && i < seconds * 100L; i++) {
		fd = open(fdpath, O_WRONLY | O_CLOEXEC);
		if (fd >= 0)
			break;
		last = errno;
		usleep(10000);
	}
	obj(NULL);
	kstr("event", "result");
	if (fd >= 0) {
		struct stat st;
		fstat(fd, &st);
		kbool("reopened", true);
		kint("dev_major", major(st.st_dev));
		kint("dev_minor", minor(st.st_dev));
		kint("ino", (long long)st.st_ino);
		close(fd);
	} else {
		kbool("reopened", false);
		kint("errno", path_fd < 0 ? -1 : last);
	}
	end_obj();
	putchar('\n');
	return fflush(stdout) == 0 ? 0 : 1;
}

static int do_hook(int argc, char **argv)
{
	static char state[1 << 16];
	size_t n = fread(state, 1, sizeof(state) - 1, stdin);
	state[n] = '\0';
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s.json", argv[3], argv[2]);
	if (freopen(path, "we", stdout) == NULL)
		return die("open", path);
	obj(NULL);
	kstr("kind", argv[2]);
	kstr("state", state);
	report_ids();
	report_args(argc, argv);
	report_namespaces();
	end_obj();
	putchar('\n');
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Raw keyctl(2): no libkeyutils in a static helper. */
static int do_keyring(void)
{
	enum { GET_KEYRING_ID = 0, DESCRIBE = 6, SPEC_SESSION = -3 };
	char desc[512] = "";
	long id = syscall(SYS_keyctl, GET_KEYRING_ID, SPEC_SESSION, 0);
	long n = id < 0 ? -1 : syscall(SYS_keyctl, DESCRIBE, SPEC_SESSION, desc, sizeof(desc) - 1);
	obj(NULL);
	if (n < 0) {
		kint("errno", errno);
	} else {
		kint("id", id);
		kstr("description", desc);
	}
	end_obj();
	putchar('\n');
	return fflush(stdout) == 0 && n >= 0 ? 0 : 1;
}

/* Take MB mebibytes (0: without end), touching every page so it is really charged;
 * under a memory limit the kernel's OOM killer ends us. */
static int memhog(long mb)
{
	for (long i = 0; mb == 0 || i < mb; i++) {
		char *chunk = malloc(1 << 20);
		if (chunk == NULL)
			return 3;
		memset(chunk, (int)i | 1, 1 << 20);
	}
	return 0;
}

static int usage(void)
{
	fputs("usage: probe report|exit N|sleep S|write PATH TEXT|cat PATH|syscall NAME [ARG...]|"
	      "ls PATH|signals|open-exe [S]|hook KIND DIR|memhog MB|keyring\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	if (strcmp(cmd, "report") == 0)
		return report(argc, argv);
	if (strcmp(cmd, "exit") == 0 && argc == 3)
		return atoi(argv[2]);
	if (strcmp(cmd, "sleep") == 0 && (argc == 3 || argc == 4)) {
		struct timespec ts = {atol(argv[2]), 0};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return 0;
	}
	if (strcmp(cmd, "write") == 0 && argc == 4)
		return do_write(argv[2], argv[3]);
	if (strcmp(cmd, "cat") == 0 && argc == 3)
		return do_cat(argv[2]);
	if (strcmp(cmd, "ls") == 0 && argc == 3)
		return do_ls(argv[2]);
	if (strcmp(cmd, "syscall") == 0 && argc >= 3)
		return do_syscall(argc - 2, argv + 2);
	if (strcmp(cmd, "signals") == 0)
		return do_signals();
	if (strcmp(cmd, "open-exe") == 0)
		return open_exe(argc > 2 ? atoi(argv[2]) : 10);
	if (strcmp(cmd, "hook") == 0 && argc == 4)
		return do_hook(argc, argv);
	if (strcmp(cmd, "keyring") == 0)
		return do_keyring();
	if (strcmp(cmd, "memhog") == 0 && argc == 3)
		return memhog(atol(argv[2]));
	return usage();
}
