/* The state directory: <root>/<id>/{state.json,config.json,exec.fifo}, locked with flock
 * on the directory itself so two hull commands on one id never interleave. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "runtime.h"

int state_validate_id(const char *id, struct hull_err *err)
{
	size_t len = strlen(id);
	if (len == 0 || len > 1024)
		return hull_error(err, 0,
				  "invalid container id \"%s\": must be 1 to 1024 characters", id);
	/* runc's rule: ids are used as file and cgroup names, so no '/' and no dot names. */
	for (const char *c = id; *c; c++)
		if (!isalnum((unsigned char)*c) && strchr("_+-.", *c) == NULL)
			return hull_error(
			    err, 0,
			    "invalid container id \"%s\": only letters, digits and _+-. "
			    "are allowed",
			    id);
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return hull_error(err, 0, "invalid container id \"%s\"", id);
	/* --root/images is the image store (run --image). */
	if (strcmp(id, "images") == 0)
		return hull_error(err, 0,
				  "invalid container id \"images\": the name of hull's image store "
				  "in --root");
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

int state_root_open(const char *root, struct hull_err *err)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : hull_error(err, errno, "--root: open %s", root);
	if (mkdir_p(root, 0700) < 0)
		return hull_error(err, errno, "--root: create %s", root);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : hull_error(err, errno, "--root: open %s", root);
}

/* A lock taken on a directory that a racing delete removed meanwhile is worthless. */
static int lock_dir(int fd, const char *id, bool exclusive, struct hull_err *err)
{
	if (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
		return hull_error(err, errno, "lock container %s", id);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error(err, errno, "stat container %s", id);
	if (st.st_nlink == 0)
		return hull_error(err, ENOENT, "container %s does not exist", id);
	return 0;
}

void state_dir_unlock(int dir_fd)
{
	flock(dir_fd, LOCK_UN);
}

int state_dir_relock(int dir_fd, const char *id, struct hull_err *err)
{
	return lock_dir(dir_fd, id, true, err);
}

int state_dir_create(int root_fd, const char *id, struct hull_err *err)
{
	if (mkdirat(root_fd, id, 0700) < 0) {
		if (errno == EEXIST)
			return hull_error(err, 0, "container %s already exists", id);
		return hull_error(err, errno, "create state directory for %s", id);
	}
	_cleanup_close_ int fd = openat(root_fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || lock_dir(fd, id, true, err) < 0) {
		if (fd < 0)
			hull_error(err, errno, "open state directory for %s", id);
		unlinkat(root_fd, id, AT_REMOVEDIR);
		return -1;
	}
	return steal_fd(&fd);
}

int state_dir_open(int root_fd, const char *id, bool exclusive, struct hull_err *err)
{
	if (state_validate_id(id, err) < 0)
		return -1;
	_cleanup_close_ int fd = openat(root_fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return hull_error(err, 0, "container %s does not exist", id);
		return hull_error(err, errno, "open state of container %s", id);
	}
	if (lock_dir(fd, id, exclusive, err) < 0)
		return -1;
	return steal_fd(&fd);
}

int state_dir_remove(int root_fd, const char *id, struct hull_err *err)
{
	_cleanup_close_ int fd = openat(root_fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		_cleanup_closedir_ DIR *d = fdopendir(dup(fd));
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlinkat(fd, e->d_name, 0);
	}
	if (unlinkat(root_fd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return hull_error(err, errno, "remove state of container %s", id);
	return 0;
}

unsigned long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: count fields after the last ')'. */
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	p += 2;
	for (int field = 3; field < 22 && p != NULL; field++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	return p ? strtoull(p, NULL, 10) : 0;
}

bool state_pid_alive(const struct container_state *st)
{
	if (st->pid <= 0)
		return false;
	if (kill(st->pid, 0) < 0 && errno == ESRCH)
		return false;
	unsigned long long start = proc_start_time(st->pid);
	if (start == 0 || start != st->pid_start)
		return false;
	/* A zombie has exited: it only waits for its parent to reap it. */
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", st->pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p == NULL || (p[2] != 'Z' && p[2] != 'X');
}

/* Paused is the container's frozen cgroup, not something we record: `hull pause` may
 * die before it could write a state, and the cgroup tells every reader the same. */
static bool state_paused(const struct container_state *st)
{
	if (st->cgroup == NULL)
		return false;
	struct hull_err ignored = {0};
	struct cgroup *cg = cgroup_open(st->cgroup, &ignored);
	bool frozen = cg != NULL && cgroup_is_frozen(cg);
	cgroup_free(cg);
	hull_err_clear(&ignored);
	return frozen;
}

const char *state_status(int dir_fd, const struct container_state *st)
{
	if (!st->created_ok)
		return "creating";
	if (!state_pid_alive(st))
		return "stopped";
	/* Before "created", as runc does: a created container can be paused too. */
	if (state_paused(st))
		return "paused";
	if (faccessat(dir_fd, EXEC_FIFO, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return "created";
	return "running";
}

int state_write_pid_file(const char *path, pid_t pid, struct hull_err *err)
{
	char tmp[4096], text[32];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return hull_error(err, ENAMETOOLONG, "--pid-file %s", path);
	int len = snprintf(text, sizeof text, "%d", pid);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, (size_t)len) != len || rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return hull_error(err, saved, "--pid-file: write %s", path);
	}
	return 0;
}
