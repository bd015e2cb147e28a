/* The attributes of the container's process that are set just before execve. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime.h"
#include "security/security.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* glibc 2.36 has no sched_attr; this is the kernel's layout (sched_setattr(2)). */
struct sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

static int set_scheduler(const struct oci_scheduler *s, struct hull_err *err)
{
	struct sched_attr attr = {
	    .size = sizeof attr,
	    .sched_policy = (unsigned)s->policy,
	    .sched_flags = s->flags,
	    .sched_nice = s->nice,
	    .sched_priority = (unsigned)s->priority,
	    .sched_runtime = s->runtime,
	    .sched_deadline = s->deadline,
	    .sched_period = s->period,
	};
	if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
		return hull_error(err, errno, "process.scheduler");
	return 0;
}

static int set_io_priority(const struct oci_io_priority *p, struct hull_err *err)
{
	/* IOPRIO_PRIO_VALUE(class, data): the class sits above bit 13. */
	int value = (p->class << 13) | p->priority;
	if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, value) < 0)
		return hull_error(err, errno, "process.ioPriority");
	return 0;
}

int process_apply_limits(const struct oci_process *p, struct hull_err *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct oci_rlimit *r = &p->rlimits[i];
		struct rlimit lim = {.rlim_cur = r->soft, .rlim_max = r->hard};
		if (setrlimit(r->resource, &lim) < 0)
			return hull_error(err, errno, "process.rlimits[%zu]: setrlimit", i);
	}
	if (p->has_scheduler && set_scheduler(&p->scheduler, err) < 0)
		return -1;
	if (p->has_io_priority && set_io_priority(&p->io_priority, err) < 0)
		return -1;
	if (p->has_umask)
		umask(p->umask);
	return 0;
}

int process_set_user(const struct oci_process *p, struct hull_err *err)
{
	/* An empty list drops the groups hull itself was started with. */
	if (setgroups(p->n_additional_gids, p->additional_gids) < 0 &&
	    !(errno == EPERM && p->n_additional_gids == 0))
		return hull_error(err, errno, "process.user.additionalGids: setgroups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return hull_error(err, errno, "process.user.gid: setgid %u", p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return hull_error(err, errno, "process.user.uid: setuid %u", p->uid);
	return 0;
}

/* The home directory of uid in the container's /etc/passwd, or "/". Parsed by hand:
 * getpwuid() could load NSS modules from the container's own files. */
static char *home_of(uid_t uid)
{
	_cleanup_close_ int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	/* A fifo or a device there could block or feed us forever. */
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return strdup("/");
	_cleanup_fclose_ FILE *f = fdopen(steal_fd(&fd), "r");
	char line[4096];
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		char *fields[7] = {0}, *cursor = line;
		for (int i = 0; i < 7; i++)
			fields[i] = strsep(&cursor, ":");
		if (fields[5] != NULL && fields[2] != NULL && strtoul(fields[2], NULL, 10) == uid &&
		    fields[5][0] == '/')
			return strdup(fields[5]);
	}
	return strdup("/");
}

char **process_env(const struct oci_process *p)
{
	bool has_home = false;
	for (size_t i = 0; i < p->n_env; i++)
		has_home |= strncmp(p->env[i], "HOME=", 5) == 0;
	char **env = calloc(p->n_env + 2, sizeof *env);
	if (env == NULL)
		return p->env;
	memcpy(env, p->env, p->n_env * sizeof *env);
	if (!has_home) {
		_cleanup_free_ char *home = home_of(p->uid);
		if (home == NULL || asprintf(&env[p->n_env], "HOME=%s", home) < 0)
			env[p->n_env] = NULL;
	}
	return env;
}

void process_warn_unknown_caps(const struct oci_process *p)
{
	/* runc's words, in its Go list form */
	if (p->has_caps && p->caps.unknown != NULL)
		log_msg(LOG_WARN, "ignoring unknown or unavailable capabilities: [%s]",
			p->caps.unknown);
}

/* 1 when securityfs's list of active LSMs names it, 0 when not, -1 when there is no list
 * (securityfs is not mounted everywhere). */
static int lsm_listed(const char *name)
{
	char buf[256] = "";
	_cleanup_close_ int fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (char *cursor = buf, *tok; (tok = strsep(&cursor, ",\n")) != NULL;)
		if (strcmp(tok, name) == 0)
			return 1;
	return 0;
}

/* Without the list, what runc and go-selinux look at: AppArmor's module parameter, and
 * selinuxfs mounted where SELinux puts it. */
static bool lsm_enabled(const char *name)
{
	int listed = lsm_listed(name);
	if (listed >= 0)
		return listed == 1;
	if (strcmp(name, "apparmor") == 0) {
		char c = 0;
		_cleanup_close_ int fd =
		    open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
		return fd >= 0 && read(fd, &c, 1) == 1 && c == 'Y';
	}
	struct statfs st;
	return statfs("/sys/fs/selinux", &st) == 0 && st.f_type == SELINUX_MAGIC;
}

/* A user who asks for confinement must not silently run without it (runc fails too). */
int process_check_exec_labels(const struct oci_process *p, struct hull_err *err)
{
	if (p->apparmor_profile != NULL && p->apparmor_profile[0] != '\0' &&
	    !lsm_enabled("apparmor"))
		return hull_error(err, 0,
				  "process.apparmorProfile: AppArmor is not enabled on this host, "
				  "cannot apply profile \"%s\"",
				  p->apparmor_profile);
	if (p->selinux_label != NULL && p->selinux_label[0] != '\0' && !lsm_enabled("selinux"))
		return hull_error(err, 0,
				  "process.selinuxLabel: SELinux is not enabled on this host, "
				  "cannot apply label \"%s\"",
				  p->selinux_label);
	return 0;
}

/* The label the kernel applies at our next execve. */
static int write_attr(const char *attr, const char *text, const char *field, struct hull_err *err)
{
	_cleanup_close_ int fd = open(attr, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		return hull_error(err, errno, "%s: %s", field, text);
	return 0;
}

int process_write_exec_labels(const struct oci_process *p, struct hull_err *err)
{
	if (p->apparmor_profile != NULL && p->apparmor_profile[0] != '\0') {
		char profile[1024];
		snprintf(profile, sizeof profile, "exec %s", p->apparmor_profile);
		const char *field = "process.apparmorProfile";
		/* Linux 5.1 gave AppArmor its own directory; older kernels only have the
		 * shared file. */
		bool own = access("/proc/self/attr/apparmor/exec", F_OK) == 0;
		if (write_attr(own ? "/proc/self/attr/apparmor/exec" : "/proc/self/attr/exec",
			       profile, field, err) < 0)
			return -1;
	}
	if (p->selinux_label != NULL && p->selinux_label[0] != '\0')
		return write_attr("/proc/self/attr/exec", p->selinux_label, "process.selinuxLabel",
				  err);
	return 0;
}

int process_set_exec_labels(const struct oci_process *p, struct hull_err *err)
{
	if (process_check_exec_labels(p, err) < 0)
		return -1;
	return process_write_exec_labels(p, err);
}

static const char *env_path(const struct oci_process *p)
{
	for (size_t i = 0; i < p->n_env; i++)
		if (strncmp(p->env[i], "PATH=", 5) == 0)
			return p->env[i] + 5;
	return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

static bool is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *process_find_executable(const struct oci_process *p, struct hull_err *err)
{
	const char *name = p->args[0];
	if (strchr(name, '/') != NULL) {
		if (!is_executable_file(name)) {
			hull_error(err, errno, "process.args[0]: exec \"%s\"", name);
			return NULL;
		}
		return strdup(name);
	}
	/* An empty entry (leading, trailing, "::" or all of PATH) is the current directory,
	 * as execvp(3) takes it. */
	for (const char *dir = env_path(p);; dir += strcspn(dir, ":") + 1) {
		size_t len = strcspn(dir, ":");
		char *cand = NULL;
		if (asprintf(&cand, "%.*s/%s", len ? (int)len : 1, len ? dir : ".", name) < 0)
			break;
		if (is_executable_file(cand))
			return cand;
		free(cand);
		if (dir[len] == '\0')
			break;
	}
	hull_error(err, 0, "process.args[0]: exec \"%s\": executable file not found in $PATH",
		   name);
	return NULL;
}

/* keyrings(7) permission bits; keyutils.h has them, the kernel's uapi headers do not. */
#define KEY_USR_SEARCH 0x00080000U
#define KEY_OTH_SEARCH 0x00000008U

/* A key's permission mask, from KEYCTL_DESCRIBE's "type;uid;gid;perm;description". */
static int key_perm(long key, uint32_t *perm)
{
	char desc[2048] = "";
	if (syscall(SYS_keyctl, KEYCTL_DESCRIBE, key, desc, sizeof desc - 1) < 0)
		return -1;
	char *field = desc;
	for (int i = 0; i < 3 && field != NULL; i++) {
		field = strchr(field, ';');
		field = field ? field + 1 : NULL;
	}
	if (field == NULL)
		return errno = EINVAL, -1;
	*perm = (uint32_t)strtoul(field, NULL, 16);
	return 0;
}

static bool has_user_namespace(const struct oci_linux *lx)
{
	for (size_t i = 0; i < lx->n_namespaces; i++)
		if (lx->namespaces[i].type == CLONE_NEWUSER)
			return true;
	return false;
}

/* The caller's session keyring holds the host user's keys; the container gets its own,
 * "_ses.<id>", which `exec` joins by that name (runc's scheme). Its owner (other users,
 * in a user namespace) may search it, or the name lookup would not find it. */
static int join_session_keyring(const struct oci_process *p, const struct oci_linux *lx,
				struct hull_err *err)
{
	if (p->keyring_id == NULL)
		return 0;
	char name[1100];
	snprintf(name, sizeof name, "_ses.%s", p->keyring_id);
	long key = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name);
	/* A kernel without keyrings has none to leak either; runc goes on as well. */
	if (key < 0 && errno == ENOSYS)
		return 0;
	if (key < 0)
		return hull_error(
		    err, errno, "join the session keyring %s (--no-new-keyring keeps the caller's)",
		    name);
	uint32_t perm = 0;
	uint32_t search = has_user_namespace(lx) ? KEY_OTH_SEARCH : KEY_USR_SEARCH;
	if (key_perm(key, &perm) < 0 || syscall(SYS_keyctl, KEYCTL_SETPERM, key, perm | search) < 0)
		return hull_error(err, errno, "session keyring %s: set its permissions", name);
	return 0;
}

int process_prepare(const struct oci_process *p, const struct oci_linux *lx, char **exe,
		    char ***env, struct hull_err *err)
{
	/* Before seccomp, which may refuse keyctl(2), and setuid. */
	if (join_session_keyring(p, lx, err) < 0)
		return -1;
	if (lx->personality.present && personality(lx->personality.domain) < 0)
		return hull_error(err, errno, "linux.personality");
	/* "/" is the container's root by now, so cwd cannot leave it. */
	if (chdir(p->cwd) < 0)
		return hull_error(err, errno, "process.cwd: chdir %s", p->cwd);
	*exe = process_find_executable(p, err);
	if (*exe == NULL)
		return -1;
	*env = process_env(p);
	if (sec_caps_keep_on_setuid(err) < 0)
		return -1;
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still
	 * have it (runc does the same). With no_new_privs it waits until just before execve
	 * (process_seccomp_last), so that it need not allow what the setup calls. */
	if (!p->no_new_privileges && lx->seccomp && sec_seccomp_load(lx->seccomp, err) < 0)
		return -1;
	if (process_set_user(p, err) < 0)
		return -1;
	if (sec_caps_apply(p->has_caps ? &p->caps : NULL, err) < 0)
		return -1;
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hull_error(err, errno, "process.noNewPrivileges");
	return 0;
}

int process_seccomp_last(const struct oci_process *p, const struct oci_linux *lx,
			 struct hull_err *err)
{
	if (p->no_new_privileges && lx->seccomp)
		return sec_seccomp_load(lx->seccomp, err);
	return 0;
}

/* The --preserve-fds range is left as it is: an fd the caller passed is not
 * close-on-exec (it survived the exec into hull), while every fd hull opened is. Clearing
 * the flag there would hand hull's own fds (the host's /proc/<pid>/fd, the exec fifo) to
 * the container when the caller passed fewer fds than it announced. */
/* close_range's CLOSE_RANGE_CLOEXEC came with Linux 5.11: before it, one fcntl for each
 * descriptor below the open-files limit. */
static int seal_each(unsigned first, struct hull_err *err)
{
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
		return hull_error(err, errno, "getrlimit RLIMIT_NOFILE");
	for (rlim_t fd = first; fd < nofile.rlim_cur && fd <= INT_MAX; fd++)
		if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
			return hull_error(err, errno, "mark descriptor %d close-on-exec", (int)fd);
	return 0;
}

int process_seal_fds(int preserve_fds, struct hull_err *err)
{
	unsigned first = 3 + (unsigned)preserve_fds;
	if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	if (errno == ENOSYS || errno == EINVAL)
		return seal_each(first, err);
	return hull_error(err, errno, "close_range");
}
