/* A container's cgroup: one directory in every hierarchy of the host, made, entered,
 * emptied and removed as one. */
#include "cgroups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/cleanup.h"
#include "layout.h"

#define DESTROY_TIMEOUT_MS 5000
#define POLL_MS		   10
#define KILL_ROUNDS	   100
#define MKDIR_ATTEMPTS	   5

struct pids {
	pid_t *v;
	size_t n, cap;
};

static void pids_free(struct pids *p)
{
	free(p->v);
}

static void cgroup_freep(struct cgroup **cg)
{
	cgroup_free(*cg);
}

#define _cleanup_pids_	 __attribute__((cleanup(pids_free)))
#define _cleanup_cgroup_ __attribute__((cleanup(cgroup_freep)))

/* ---- files ---- */

static int path_join(char out[PATH_MAX], const char *dir, const char *name, struct hull_err *err)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_MAX)
		return hull_error(err, ENAMETOOLONG, "%s/%s", dir, name);
	return 0;
}

int cgroup_write_at(const char *dir, const char *file, const char *text, struct hull_err *err)
{
	char path[PATH_MAX];
	if (path_join(path, dir, file, err) < 0)
		return -1;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "open %s", path);
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	if (n < 0 || (size_t)n != len)
		return hull_error(err, n < 0 ? errno : EIO, "write %s to %s", text, path);
	return 0;
}

/* dir/file, or *text NULL when it is gone: a cgroup removed meanwhile holds nothing. */
int cgroup_read_at(const char *dir, const char *file, char **text, struct hull_err *err)
{
	char path[PATH_MAX];
	if (path_join(path, dir, file, err) < 0)
		return -1;
	struct hull_err e = {0};
	*text = cgroup_read_text(path, &e);
	int r = 0;
	if (*text == NULL && e.code != ENOENT && e.code != ENODEV)
		r = hull_error(err, e.code, "%s", e.msg ? e.msg : path);
	hull_err_clear(&e);
	return r;
}

static bool has_word(const char *list, const char *word)
{
	size_t len = strlen(word);
	for (const char *p = list; *p != '\0';) {
		p += strspn(p, " \n");
		size_t n = strcspn(p, " \n");
		if (n == len && memcmp(p, word, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* ---- walking a cgroup and the cgroups a container made below it ---- */

typedef int (*tree_fn)(const char *dir, void *ctx, struct hull_err *err);

static bool is_dir(DIR *d, const struct dirent *e)
{
	struct stat st;
	if (e->d_type != DT_UNKNOWN)
		return e->d_type == DT_DIR;
	return fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* fn on dir and every cgroup below it, children first when post; a directory that
 * vanishes meanwhile is skipped. */
static int walk_tree(const char *dir, bool post, tree_fn fn, void *ctx, struct hull_err *err)
{
	if (!post && fn(dir, ctx, err) < 0)
		return -1;
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (d == NULL && errno != ENOENT && errno != ENODEV)
		return hull_error(err, errno, "open %s", dir);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || !is_dir(d, e))
			continue;
		char sub[PATH_MAX];
		if (path_join(sub, dir, e->d_name, err) < 0 ||
		    walk_tree(sub, post, fn, ctx, err) < 0)
			return -1;
	}
	return post ? fn(dir, ctx, err) : 0;
}

static int pids_add(struct pids *p, pid_t pid, struct hull_err *err)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		pid_t *v = realloc(p->v, cap * sizeof *v);
		if (v == NULL)
			return hull_error(err, ENOMEM, "cgroup pid list");
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = pid;
	return 0;
}

static bool pids_has(const struct pids *p, pid_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i] == pid)
			return true;
	return false;
}

static int collect_procs(const char *dir, void *ctx, struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read_at(dir, "cgroup.procs", &text, err) < 0)
		return -1;
	char *p = text, *end;
	for (long v; p != NULL && (v = strtol(p, &end, 10), end != p); p = end)
		if (v > 0 && !pids_has(ctx, (pid_t)v) && pids_add(ctx, (pid_t)v, err) < 0)
			return -1;
	return 0;
}

/* Processes in dir and below; one moving between child cgroups is listed once. */
static int tree_pids(const char *dir, struct pids *out, struct hull_err *err)
{
	out->n = 0;
	return walk_tree(dir, false, collect_procs, out, err);
}

/* ---- making the directories ---- */

typedef int (*level_fn)(char *dir, void *ctx, struct hull_err *err);

/* fn on each directory from the first below p's mount point down to p->dir; fn may cut
 * dir short while it runs, but must put it back. */
static int each_level(const struct cgroup_place *p, level_fn fn, void *ctx, struct hull_err *err)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof dir, "%s", p->dir) >= (int)sizeof dir)
		return hull_error(err, ENAMETOOLONG, "cgroup %s", p->dir);
	for (char *s = dir + strlen(p->h->mount) + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		int r = fn(dir, ctx, err);
		if (r != 0 || c == '\0')
			return r;
		*s = c;
	}
}

/* rmdir dir and then count-1 of its parents, deepest first. A parent still in use (a
 * shared "/hull" with other containers in it) stays; so does one already gone. */
static int remove_chain(char *dir, unsigned count, struct hull_err *err)
{
	for (unsigned i = 0; i < count; i++) {
		if (rmdir(dir) < 0 && errno != ENOENT && errno != EBUSY && errno != ENOTEMPTY)
			return hull_error(err, errno, "rmdir %s", dir);
		*strrchr(dir, '/') = '\0';
	}
	return 0;
}

/* 1 when a parent vanished under us: another container's destroy removing a shared
 * parent it made, just after our mkdir found it there. The caller starts over. */
static int mkdir_level(char *dir, void *ctx, struct hull_err *err)
{
	struct cgroup_place *p = ctx;
	if (mkdir(dir, 0755) == 0) {
		p->created++;
		return 0;
	}
	/* Only a trailing run of created levels can be recorded: something appearing inside
	 * a directory we just made is another process racing us for the same path. */
	if (errno == EEXIST && p->created == 0)
		return 0;
	int e = errno;
	if (e != ENOENT)
		hull_error(err, e, "mkdir %s", dir);
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", dir);
	*strrchr(parent, '/') = '\0';
	struct hull_err ignored = {0};
	remove_chain(parent, p->created, &ignored);
	hull_err_clear(&ignored);
	p->created = 0;
	return e == ENOENT ? 1 : -1;
}

static int make_dirs(struct cgroup_place *p, struct hull_err *err)
{
	for (int i = 0; i < MKDIR_ATTEMPTS; i++) {
		p->created = 0;
		int r = each_level(p, mkdir_level, p, err);
		if (r <= 0)
			return r;
	}
	return hull_error(err, ENOENT, "mkdir %s: its parent keeps vanishing", p->dir);
}

static int cpuset_copy_down(char *dir, const char *file, struct hull_err *err)
{
	_cleanup_free_ char *own = NULL, *parent = NULL;
	if (cgroup_read_at(dir, file, &own, err) < 0)
		return -1;
	if (own == NULL || own[strspn(own, " \n")] != '\0')
		return 0;
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	int r = cgroup_read_at(dir, file, &parent, err);
	*slash = '/';
	if (r < 0 || parent == NULL)
		return r;
	return cgroup_write_at(dir, file, parent, err);
}

/* A new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems, and adding a task
 * to it then fails with ENOSPC; fill each empty level from its parent, top down. */
static int cpuset_level(char *dir, void *ctx, struct hull_err *err)
{
	(void)ctx;
	if (cpuset_copy_down(dir, "cpuset.cpus", err) < 0)
		return -1;
	return cpuset_copy_down(dir, "cpuset.mems", err);
}

/* On cgroup2 a child gets only the controllers its parent lists in subtree_control.
 * Best effort: a parent with processes of its own (the no-internal-process rule) or a
 * controller it cannot pass on refuses, and the container just goes without it. */
static int delegate_level(char *dir, void *ctx, struct hull_err *err)
{
	(void)ctx, (void)err;
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	struct hull_err ignored = {0};
	_cleanup_free_ char *avail = NULL, *enabled = NULL;
	if (cgroup_read_at(dir, "cgroup.controllers", &avail, &ignored) == 0 &&
	    cgroup_read_at(dir, "cgroup.subtree_control", &enabled, &ignored) == 0 && avail &&
	    enabled) {
		char *save = NULL;
		for (char *c = strtok_r(avail, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
			char plus[64];
			if (!has_word(enabled, c) && snprintf(plus, sizeof plus, "+%s", c) < 64)
				cgroup_write_at(dir, "cgroup.subtree_control", plus, &ignored);
		}
	}
	hull_err_clear(&ignored);
	*slash = '/';
	return 0;
}

/* A cgroup that was there before us may be another container's: never adopt (and later
 * kill) processes we did not put there. */
static int check_adopted_empty(const struct cgroup_place *p, struct hull_err *err)
{
	_cleanup_pids_ struct pids found = {0};
	if (p->created > 0)
		return 0;
	if (tree_pids(p->dir, &found, err) < 0)
		return -1;
	if (found.n > 0)
		return hull_error(err, EBUSY, "cgroup %s already holds %zu process(es)", p->dir,
				  found.n);
	return 0;
}

static int make_place(const struct cgroup_layout *l, struct cgroup_place *p, struct hull_err *err)
{
	if (make_dirs(p, err) < 0 || check_adopted_empty(p, err) < 0)
		return -1;
	if (!p->h->v2 && cgroup_hier_has(p->h, "cpuset") &&
	    each_level(p, cpuset_level, NULL, err) < 0)
		return -1;
	if (p->h->v2 && !l->has_v1)
		each_level(p, delegate_level, NULL, err);
	return 0;
}

/* ---- removing them ---- */

struct rm_state {
	bool busy;
};

static int rmdir_fn(const char *dir, void *ctx, struct hull_err *err)
{
	if (rmdir(dir) == 0 || errno == ENOENT)
		return 0;
	/* Processes just killed can still pin a cgroup for a moment after they leave
	 * cgroup.procs (threads of an exiting group); the caller polls. */
	if (errno == EBUSY || errno == ENOTEMPTY) {
		((struct rm_state *)ctx)->busy = true;
		return 0;
	}
	return hull_error(err, errno, "rmdir %s", dir);
}

/* The container's directory and what was made below it, then the parents it created. */
static int remove_place(const struct cgroup_place *p, bool *busy, struct hull_err *err)
{
	struct rm_state st = {false};
	if (p->created == 0)
		return 0;
	if (walk_tree(p->dir, true, rmdir_fn, &st, err) < 0)
		return -1;
	if (st.busy) {
		*busy = true;
		return 0;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", p->dir);
	*strrchr(dir, '/') = '\0';
	return remove_chain(dir, p->created - 1, err);
}

static void undo_create(struct cgroup *cg)
{
	struct hull_err ignored = {0};
	bool busy = false;
	for (size_t i = cg->n; i-- > 0;)
		remove_place(&cg->places[i], &busy, &ignored);
	hull_err_clear(&ignored);
}

/* ---- the interface ---- */

/* The default parent "/hull" is hull's own, whoever made it: the last container to go
 * removes it (rmdir fails while others are in it), so containers created concurrently do
 * not leave it behind. A parent named in linux.cgroupsPath may be an admin's, with limits
 * on it, and is removed only by the container that made it. */
static void own_default_parent(struct cgroup_place *p)
{
	if (p->created == 1)
		p->created = 2;
}

struct cgroup *cgroup_create(const char *cgroups_path, const char *id, struct hull_err *err)
{
	const struct cgroup_layout *l = cgroup_layout_get(err);
	if (l == NULL)
		return NULL;
	if (l->n == 0)
		return hull_error(err, ENOENT, "no cgroup filesystem is mounted"), NULL;
	_cleanup_cgroup_ struct cgroup *cg = calloc(1, sizeof *cg);
	if (cg == NULL)
		return hull_error(err, ENOMEM, "cgroup"), NULL;
	if (cgroup_resolve(l, cgroups_path, id, &cg->arena, &cg->places, err) < 0)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		cg->n = i + 1;
		if (make_place(l, &cg->places[i], err) < 0) {
			undo_create(cg);
			return NULL;
		}
		if (cgroups_path == NULL || cgroups_path[0] == '\0')
			own_default_parent(&cg->places[i]);
	}
	cg->saved = cgroup_saved_format(cg->places, cg->n, &cg->arena);
	return steal_ptr(&cg);
}

struct cgroup *cgroup_open(const char *saved, struct hull_err *err)
{
	const struct cgroup_layout *l = cgroup_layout_get(err);
	if (l == NULL)
		return NULL;
	_cleanup_cgroup_ struct cgroup *cg = calloc(1, sizeof *cg);
	if (cg == NULL)
		return hull_error(err, ENOMEM, "cgroup"), NULL;
	if (cgroup_saved_parse(l, saved, &cg->arena, &cg->places, &cg->n, err) < 0)
		return NULL;
	cg->saved = arena_strdup(&cg->arena, saved);
	return steal_ptr(&cg);
}

const char *cgroup_path(const struct cgroup *cg)
{
	return cg->saved;
}

void cgroup_free(struct cgroup *cg)
{
	if (cg == NULL)
		return;
	arena_free(&cg->arena);
	free(cg);
}

int cgroup_enter(const struct cgroup *cg, pid_t pid, struct hull_err *err)
{
	char text[32];
	snprintf(text, sizeof text, "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++)
		if (cgroup_write_at(cg->places[i].dir, "cgroup.procs", text, err) < 0)
			return -1;
	return 0;
}

int cgroup_v2_dirfd(const struct cgroup *cg, struct hull_err *err)
{
	for (size_t i = 0; i < cg->n; i++) {
		if (!cg->places[i].h->v2)
			continue;
		int fd = open(cg->places[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return hull_error(err, errno, "open %s", cg->places[i].dir);
		return fd;
	}
	return hull_error(err, ENOENT, "this host has no cgroup2 hierarchy");
}

const struct cgroup_place *cgroup_v1_place(const struct cgroup *cg, const char *controller)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cgroup_hier_has(cg->places[i].h, controller))
			return &cg->places[i];
	return NULL;
}

const struct cgroup_place *cgroup_v2_place(const struct cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->places[i].h->v2)
			return &cg->places[i];
	return NULL;
}

/* Every hierarchy lists every process of the container (in sub-cgroups too); prefer
 * cgroup2, whose cgroup.kill and cgroup.freeze act on that same tree, then the v1
 * hierarchies that container hosts nearly always mount. */
static const struct cgroup_place *pid_place(const struct cgroup *cg)
{
	static const char *const order[] = {"pids", "name=systemd"};
	for (size_t i = 0; i < cg->n; i++)
		if (cg->places[i].h->v2)
			return &cg->places[i];
	for (size_t k = 0; k < sizeof order / sizeof *order; k++)
		for (size_t i = 0; i < cg->n; i++)
			if (cgroup_hier_has(cg->places[i].h, order[k]))
				return &cg->places[i];
	return &cg->places[0];
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int cgroup_pids(const struct cgroup *cg, pid_t **pids, size_t *n, struct hull_err *err)
{
	_cleanup_pids_ struct pids found = {0};
	if (tree_pids(pid_place(cg)->dir, &found, err) < 0)
		return -1;
	if (found.n > 1)
		qsort(found.v, found.n, sizeof *found.v, cmp_pid);
	*n = found.n;
	*pids = found.n ? steal_ptr(&found.v) : NULL;
	return 0;
}

/* ---- signals ---- */

static bool pid_in_place(const struct cgroup_place *p, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	struct hull_err ignored = {0};
	_cleanup_free_ char *text = cgroup_read_text(path, &ignored);
	hull_err_clear(&ignored);
	if (text == NULL)
		return false;
	struct arena a = {0};
	const char *rel = cgroup_proc_rel(p->h, text, &a);
	size_t n = strlen(p->rel);
	bool in = rel != NULL && strncmp(rel, p->rel, n) == 0 && (rel[n] == '\0' || rel[n] == '/');
	arena_free(&a);
	return in;
}

/* A pid read from cgroup.procs may exit and be reused by an unrelated process before we
 * signal it. A pidfd pins the pid, so checking membership after opening one and then
 * signalling through it hits only the container's processes. */
static int signal_pid(const struct cgroup_place *p, pid_t pid, int sig, struct hull_err *err)
{
	_cleanup_close_ int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 && (errno == ESRCH || errno == EINVAL))
		return 0;
	/* Before 5.3, or under a seccomp profile that refuses it: plain kill(), racy. */
	if (fd < 0 && errno != ENOSYS && errno != EPERM)
		return hull_error(err, errno, "pidfd_open %d", (int)pid);
	if (!pid_in_place(p, pid))
		return 0;
	long r = fd >= 0 ? syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) : kill(pid, sig);
	if (r < 0 && errno != ESRCH)
		return hull_error(err, errno, "kill %d", (int)pid);
	return 0;
}

static bool kill_by_file(const struct cgroup_place *p)
{
	/* cgroup.kill (5.14) kills the whole subtree at once, and forks racing it fail. */
	struct hull_err ignored = {0};
	int r = p->h->v2 ? cgroup_write_at(p->dir, "cgroup.kill", "1", &ignored) : -1;
	hull_err_clear(&ignored);
	return r == 0;
}

/* Each process once, also those forked meanwhile, until a pass finds none new: a second
 * SIGTERM or SIGINT can mean something else to the program than one. */
static int signal_tree(const struct cgroup_place *p, int sig, struct hull_err *err)
{
	_cleanup_pids_ struct pids seen = {0};
	_cleanup_pids_ struct pids now = {0};
	for (int round = 0; round < KILL_ROUNDS; round++) {
		if (tree_pids(p->dir, &now, err) < 0)
			return -1;
		size_t fresh = 0;
		for (size_t i = 0; i < now.n; i++) {
			if (pids_has(&seen, now.v[i]))
				continue;
			if (signal_pid(p, now.v[i], sig, err) < 0 ||
			    pids_add(&seen, now.v[i], err) < 0)
				return -1;
			fresh++;
		}
		if (fresh == 0)
			return 0;
	}
	return hull_error(err, EAGAIN, "cgroup %s: new processes keep appearing", p->dir);
}

int cgroup_kill(const struct cgroup *cg, int sig, struct hull_err *err)
{
	const struct cgroup_place *p = pid_place(cg);
	if (sig == SIGKILL && kill_by_file(p))
		return 0;
	return signal_tree(p, sig, err);
}

/* ---- destroy ---- */

/* v1 frozen tasks cannot act on SIGKILL until thawed, and a child cgroup frozen on its
 * own stays frozen when its parent thaws; cgroup2 lets fatal signals through, but an
 * unfrozen cgroup is what a later user of the directory expects. */
static int thaw_fn(const char *dir, void *ctx, struct hull_err *err)
{
	const struct cgroup_hier *h = ctx;
	const char *file = h->v2 ? "cgroup.freeze" : "freezer.state";
	_cleanup_free_ char *state = NULL;
	if (cgroup_read_at(dir, file, &state, err) < 0)
		return -1;
	if (state == NULL || strncmp(state, h->v2 ? "0" : "THAWED", h->v2 ? 1 : 6) == 0)
		return 0;
	return cgroup_write_at(dir, file, h->v2 ? "0" : "THAWED", err);
}

int cgroup_thaw(const struct cgroup *cg, struct hull_err *err)
{
	for (size_t i = 0; i < cg->n; i++) {
		const struct cgroup_place *p = &cg->places[i];
		if ((p->h->v2 || cgroup_hier_has(p->h, "freezer")) &&
		    walk_tree(p->dir, false, thaw_fn, (void *)p->h, err) < 0)
			return -1;
	}
	return 0;
}

/* SIGKILL in each hierarchy, not just one: a process moved in one v1 hierarchy only
 * would otherwise keep that directory busy. *busy names one still in use. */
static int kill_everywhere(const struct cgroup *cg, const char **busy, struct hull_err *err)
{
	_cleanup_pids_ struct pids now = {0};
	for (size_t i = 0; i < cg->n; i++) {
		const struct cgroup_place *p = &cg->places[i];
		if (tree_pids(p->dir, &now, err) < 0)
			return -1;
		if (now.n == 0)
			continue;
		*busy = p->dir;
		if (kill_by_file(p))
			continue;
		for (size_t k = 0; k < now.n; k++)
			if (signal_pid(p, now.v[k], SIGKILL, err) < 0)
				return -1;
	}
	return 0;
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static int empty_and_remove(const struct cgroup *cg, struct hull_err *err)
{
	struct timespec start, tick = {0, POLL_MS * 1000000L};
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		const char *busy = NULL;
		if (kill_everywhere(cg, &busy, err) < 0)
			return -1;
		for (size_t i = 0; busy == NULL && i < cg->n; i++) {
			bool in_use = false;
			if (remove_place(&cg->places[i], &in_use, err) < 0)
				return -1;
			busy = in_use ? cg->places[i].dir : NULL;
		}
		if (busy == NULL)
			return 0;
		if (elapsed_ms(&start) > DESTROY_TIMEOUT_MS)
			return hull_error(err, EBUSY, "cgroup %s: still in use after %d s", busy,
					  DESTROY_TIMEOUT_MS / 1000);
		nanosleep(&tick, NULL);
	}
}

int cgroup_destroy(struct cgroup *cg, struct hull_err *err)
{
	int r = cgroup_thaw(cg, err);
	if (r == 0)
		r = empty_and_remove(cg, err);
	cgroup_free(cg);
	return r;
}

/* ---- for the container's own /sys/fs/cgroup ---- */

static int view_entry(const struct cgroup_place *p, struct cgroup_view_entry *e)
{
	e->name = strdup(p->h->name);
	e->fstype = strdup(p->h->v2 ? "cgroup2" : "cgroup");
	e->fs_options = p->h->v2 ? NULL : strdup(p->h->controllers);
	e->host_dir = strdup(p->dir);
	bool ok = e->name && e->fstype && e->host_dir && (p->h->v2 || e->fs_options);
	return ok ? 0 : -1;
}

int cgroup_view(const struct cgroup *cg, struct cgroup_view *view, struct hull_err *err)
{
	*view = (struct cgroup_view){0};
	view->entries = calloc(cg->n ? cg->n : 1, sizeof *view->entries);
	if (view->entries == NULL)
		return hull_error(err, ENOMEM, "cgroup view");
	for (size_t i = 0; i < cg->n; i++) {
		view->n++;
		if (view_entry(&cg->places[i], &view->entries[i]) < 0) {
			cgroup_view_free(view);
			return hull_error(err, ENOMEM, "cgroup view");
		}
	}
	return 0;
}

const char *cgroup_host_layout(void)
{
	struct hull_err err = {0};
	const struct cgroup_layout *l = cgroup_layout_get(&err);
	hull_err_clear(&err);
	return l ? cgroup_layout_kind(l) : "none";
}
