/* cgroups: parsing of canned /proc text for v1, v2, hybrid and co-mounted hosts, path
 * resolution, the saved string; then real cgroups on this host (needs root), each test
 * removing what it made even when a check fails. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "cgroups/layout.h"
#include "unit.h"

/* ---- canned hosts ---- */

static const char V2_MOUNTINFO[] =
    "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
    "25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n"
    "90 22 0:23 / /var/lib/x/rootfs/sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n";
static const char V2_CGROUP[] = "0::/user.slice/user-0.slice/session-1.scope\n";

/* CentOS 7 style: co-mounted pairs, flags among the super options, a named hierarchy on
 * a path with a space, and a bind mount of one hierarchy into a rootfs. */
static const char V1_MOUNTINFO[] =
    "25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:22 / /sys/fs/cgroup/systemd rw,nosuid shared:9 - cgroup cgroup "
    "rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
    "29 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct\n"
    "30 25 0:26 / /sys/fs/cgroup/net_cls,net_prio rw shared:13 - cgroup cgroup "
    "rw,net_prio,net_cls\n"
    "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory\n"
    "32 25 0:28 / /sys/fs/cgroup/cpuset rw shared:15 - cgroup cgroup rw,cpuset,clone_children\n"
    "33 22 0:29 / /mnt/my\\040cgroups rw - cgroup none rw,name=test\n"
    "91 22 0:27 / /var/lib/x/rootfs/sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
static const char V1_CGROUP[] = "6:name=test:/\n"
				"5:cpuset:/\n"
				"4:memory:/user.slice\n"
				"3:net_cls,net_prio:/\n"
				"2:cpu,cpuacct:/user.slice\n"
				"1:name=systemd:/user.slice/user-0.slice/session-1.scope\n"
				"0::/\n";

/* This machine: separate v1 mounts plus cgroup2 on /sys/fs/cgroup/unified. */
static const char HYBRID_MOUNTINFO[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char HYBRID_CGROUP[] = "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n"
				    "5:devices:/\n4:memory:/process_api/99924a66\n3:cpuset:/\n"
				    "2:cpuacct:/\n1:cpu:/\n0::/\n";

static const struct cgroup_hier *hier(const struct cgroup_layout *l, const char *controllers)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->h[i].controllers, controllers) == 0)
			return &l->h[i];
	return NULL;
}

static void test_parse_pure_v2(void)
{
	struct cgroup_layout l;
	struct hull_err err = {0};
	CHECK(cgroup_layout_parse(V2_MOUNTINFO, V2_CGROUP, &l, &err) == 0);
	CHECK(l.n == 1);
	CHECK_STR(cgroup_layout_kind(&l), "v2");
	if (l.n == 1) {
		CHECK(l.h[0].v2);
		CHECK_STR(l.h[0].mount, "/sys/fs/cgroup");
		CHECK_STR(l.h[0].name, "");
		CHECK_STR(l.h[0].own, "/user.slice/user-0.slice/session-1.scope");
	}
	cgroup_layout_free(&l);
}

static void test_parse_pure_v1_comounted(void)
{
	struct cgroup_layout l;
	struct hull_err err = {0};
	CHECK(cgroup_layout_parse(V1_MOUNTINFO, V1_CGROUP, &l, &err) == 0);
	CHECK_STR(cgroup_layout_kind(&l), "v1");
	CHECK(l.n == 6); /* the bind mount of memory and "0::" add nothing */
	const struct cgroup_hier *cpu = hier(&l, "cpu,cpuacct"), *sd = hier(&l, "name=systemd");
	const struct cgroup_hier *net = hier(&l, "net_prio,net_cls"), *t = hier(&l, "name=test");
	CHECK(cpu != NULL && sd != NULL && net != NULL && t != NULL);
	if (cpu && sd && net && t) {
		CHECK_STR(cpu->mount, "/sys/fs/cgroup/cpu,cpuacct");
		CHECK_STR(cpu->name, "cpu,cpuacct");
		CHECK_STR(cpu->own, "/user.slice");
		CHECK(cgroup_hier_has(cpu, "cpuacct") && !cgroup_hier_has(cpu, "cpuset"));
		CHECK_STR(sd->own, "/user.slice/user-0.slice/session-1.scope");
		CHECK_STR(net->own, "/"); /* matched though the kernel lists it the other way */
		CHECK_STR(t->mount, "/mnt/my cgroups");
		CHECK_STR(t->name, "test");
	}
	const struct cgroup_hier *mem = hier(&l, "memory"), *cs = hier(&l, "cpuset");
	CHECK(mem && strcmp(mem->mount, "/sys/fs/cgroup/memory") == 0);
	CHECK(cs && strcmp(cs->controllers, "cpuset") == 0); /* clone_children is a flag */
	cgroup_layout_free(&l);
}

static void test_parse_hybrid(void)
{
	struct cgroup_layout l;
	struct hull_err err = {0};
	CHECK(cgroup_layout_parse(HYBRID_MOUNTINFO, HYBRID_CGROUP, &l, &err) == 0);
	CHECK_STR(cgroup_layout_kind(&l), "hybrid");
	CHECK(l.n == 10);
	const struct cgroup_hier *mem = hier(&l, "memory"), *uni = hier(&l, "");
	CHECK(mem && uni && uni->v2);
	if (mem && uni) {
		CHECK_STR(mem->own, "/process_api/99924a66");
		CHECK_STR(uni->mount, "/sys/fs/cgroup/unified");
		CHECK_STR(uni->name, "unified");
		CHECK_STR(uni->own, "/");
	}
	cgroup_layout_free(&l);
}

static void test_parse_nothing_mounted(void)
{
	struct cgroup_layout l;
	struct hull_err err = {0};
	CHECK(cgroup_layout_parse("22 1 253:1 / / rw - ext4 /dev/vda1 rw\n", "0::/\n", &l, &err) ==
	      0);
	CHECK(l.n == 0);
	CHECK_STR(cgroup_layout_kind(&l), "none");
	cgroup_layout_free(&l);
}

static void test_proc_rel(void)
{
	struct cgroup_layout l;
	struct arena a = {0};
	cgroup_layout_parse(V1_MOUNTINFO, V1_CGROUP, &l, NULL);
	const char *proc = "4:memory:/user.slice/c1\n2:cpu,cpuacct:/c1/sub\n0::/\n";
	CHECK_STR(cgroup_proc_rel(hier(&l, "memory"), proc, &a), "/user.slice/c1");
	CHECK_STR(cgroup_proc_rel(hier(&l, "cpu,cpuacct"), proc, &a), "/c1/sub");
	CHECK(cgroup_proc_rel(hier(&l, "cpuset"), proc, &a) == NULL);
	arena_free(&a);
	cgroup_layout_free(&l);
}

/* ---- path resolution ---- */

static struct cgroup_place *resolve(const struct cgroup_layout *l, const char *path,
				    struct arena *a, struct hull_err *err)
{
	struct cgroup_place *p = NULL;
	return cgroup_resolve(l, path, "abc", a, &p, err) == 0 ? p : NULL;
}

static void test_resolve_default_and_absolute(void)
{
	struct cgroup_layout l;
	struct arena a = {0};
	struct hull_err err = {0};
	cgroup_layout_parse(HYBRID_MOUNTINFO, HYBRID_CGROUP, &l, &err);
	struct cgroup_place *p = resolve(&l, NULL, &a, &err);
	CHECK(p != NULL);
	for (size_t i = 0; p && i < l.n; i++) {
		CHECK_STR(p[i].rel, "/hull/abc");
		CHECK(p[i].h == &l.h[i] && p[i].created == 0);
	}
	if (p)
		CHECK_STR(p[3].dir, "/sys/fs/cgroup/memory/hull/abc");
	p = resolve(&l, "//a/./b//c/", &a, &err);
	for (size_t i = 0; p && i < l.n; i++)
		CHECK_STR(p[i].rel, "/a/b/c");
	if (p)
		CHECK_STR(p[9].dir, "/sys/fs/cgroup/unified/a/b/c");
	arena_free(&a);
	cgroup_layout_free(&l);
}

static void test_resolve_relative_to_own_cgroup(void)
{
	struct cgroup_layout l;
	struct arena a = {0};
	struct hull_err err = {0};
	cgroup_layout_parse(V1_MOUNTINFO, V1_CGROUP, &l, &err);
	struct cgroup_place *p = resolve(&l, "ctr/x", &a, &err);
	CHECK(p != NULL);
	for (size_t i = 0; p && i < l.n; i++) {
		if (p[i].h == hier(&l, "memory"))
			CHECK_STR(p[i].dir, "/sys/fs/cgroup/memory/user.slice/ctr/x");
		if (p[i].h == hier(&l, "cpuset"))
			CHECK_STR(p[i].rel, "/ctr/x");
		if (p[i].h == hier(&l, "name=systemd"))
			CHECK_STR(p[i].rel, "/user.slice/user-0.slice/session-1.scope/ctr/x");
	}
	arena_free(&a);
	cgroup_layout_free(&l);
}

/* A bind-mounted subtree (mount root not "/"): relative paths go below the caller's
 * cgroup as seen through the mount, and a caller outside the mount is an error. */
static void test_resolve_mount_root(void)
{
	const char *mi = "25 22 0:23 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	struct cgroup_layout l;
	struct arena a = {0};
	struct hull_err err = {0};
	cgroup_layout_parse(mi, "0::/docker/abc/init\n", &l, &err);
	struct cgroup_place *p = resolve(&l, "ctr", &a, &err);
	CHECK(p && strcmp(p[0].dir, "/sys/fs/cgroup/init/ctr") == 0);
	p = resolve(&l, "/ctr", &a, &err);
	CHECK(p && strcmp(p[0].dir, "/sys/fs/cgroup/ctr") == 0);
	cgroup_layout_free(&l);
	cgroup_layout_parse(mi, "0::/elsewhere\n", &l, &err);
	CHECK(resolve(&l, "ctr", &a, &err) == NULL);
	CHECK_CONTAINS(err.msg, "not visible below its mount");
	hull_err_clear(&err);
	arena_free(&a);
	cgroup_layout_free(&l);
}

static void test_resolve_rejects(void)
{
	struct cgroup_layout l;
	struct arena a = {0};
	struct hull_err err = {0};
	cgroup_layout_parse(V2_MOUNTINFO, V2_CGROUP, &l, &err);
	const char *bad[] = {"/a/../b", "../x", "a/..", ".."};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK(resolve(&l, bad[i], &a, &err) == NULL);
		CHECK_STR(err.msg, "linux.cgroupsPath: must not contain \"..\"");
		CHECK(err.code == EINVAL);
	}
	CHECK(resolve(&l, "/", &a, &err) == NULL);
	CHECK_CONTAINS(err.msg, "names no cgroup");
	struct cgroup_place *p = NULL;
	CHECK(cgroup_resolve(&l, NULL, "a/b", &a, &p, &err) < 0);
	CHECK(cgroup_resolve(&l, "", "..", &a, &p, &err) < 0);
	CHECK_CONTAINS(err.msg, "not usable as a cgroup name");
	hull_err_clear(&err);
	arena_free(&a);
	cgroup_layout_free(&l);
}

/* ---- the saved string ---- */

static void test_saved_all_alike(void)
{
	struct cgroup_layout l;
	struct arena a = {0};
	struct hull_err err = {0};
	cgroup_layout_parse(HYBRID_MOUNTINFO, HYBRID_CGROUP, &l, &err);
	struct cgroup_place *p = resolve(&l, NULL, &a, &err), *q = NULL;
	for (size_t i = 0; i < l.n; i++)
		p[i].created = 2;
	const char *saved = cgroup_saved_format(p, l.n, &a);
	CHECK_STR(saved, "*:2:/hull/abc");
	size_t n = 0;
	CHECK(cgroup_saved_parse(&l, saved, &a, &q, &n, &err) == 0);
	CHECK(n == l.n);
	for (size_t i = 0; q && i < n; i++) {
		CHECK(q[i].h == p[i].h && q[i].created == 2);
		CHECK_STR(q[i].dir, p[i].dir);
	}
	arena_free(&a);
	cgroup_layout_free(&l);
}

static void test_saved_per_hierarchy_and_escapes(void)
{
	struct cgroup_layout l;
	struct arena a = {0};
	struct hull_err err = {0};
	cgroup_layout_parse(V1_MOUNTINFO, V1_CGROUP, &l, &err);
	struct cgroup_place *p = resolve(&l, "c;1%", &a, &err), *q = NULL;
	for (size_t i = 0; i < l.n; i++)
		p[i].created = (unsigned)(i % 2);
	const char *saved = cgroup_saved_format(p, l.n, &a);
	CHECK_STR(saved, "name=systemd:0:/user.slice/user-0.slice/session-1.scope/c%3B1%25;"
			 "cpu,cpuacct:1:/user.slice/c%3B1%25;net_prio,net_cls:0:/c%3B1%25;"
			 "memory:1:/user.slice/c%3B1%25;cpuset:0:/c%3B1%25;name=test:1:/c%3B1%25");
	size_t n = 0;
	CHECK(cgroup_saved_parse(&l, saved, &a, &q, &n, &err) == 0);
	CHECK(n == l.n);
	for (size_t i = 0; q && i < n; i++) {
		CHECK(q[i].h == p[i].h && q[i].created == p[i].created);
		CHECK_STR(q[i].rel, p[i].rel);
		CHECK_STR(q[i].dir, p[i].dir);
	}
	CHECK(n > 3 && strcmp(q[3].dir, "/sys/fs/cgroup/memory/user.slice/c;1%") == 0);
	arena_free(&a);
	cgroup_layout_free(&l);
}

static void test_saved_skips_unknown_and_rejects_malformed(void)
{
	struct cgroup_layout l;
	struct arena a = {0};
	struct hull_err err = {0};
	struct cgroup_place *q = NULL;
	size_t n = 0;
	cgroup_layout_parse(V1_MOUNTINFO, V1_CGROUP, &l, &err);
	CHECK(cgroup_saved_parse(&l, "hugetlb:1:/a;cpuacct,cpu:1:/a", &a, &q, &n, &err) == 0);
	CHECK(n == 1 && q[0].h == hier(&l, "cpu,cpuacct"));
	const char *bad[] = {"",
			     "junk",
			     "*:x:/a",
			     "*:1:/a/../b",
			     "*:3:/a/b",
			     "*:1:rel",
			     "*:1:/a;cpuset:1:/b",
			     "memory:1:/a;memory:1:/b",
			     "*:1:/a%zz",
			     "*:1:/a%00",
			     ":1:/a"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		bool failed = cgroup_saved_parse(&l, bad[i], &a, &q, &n, &err) < 0;
		if (!failed)
			printf("#   accepted \"%s\"\n", bad[i]);
		CHECK(failed);
	}
	hull_err_clear(&err);
	arena_free(&a);
	cgroup_layout_free(&l);
}

/* ---- real cgroups on this host ---- */

struct mounts {
	char mp[32][256];
	size_t n;
	bool v1, v2;
};

/* Read independently of layout.c, so the two can disagree. */
static void host_mounts(struct mounts *m)
{
	memset(m, 0, sizeof *m);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], mp[256];
	while (f && fgets(line, sizeof line, f) && m->n < 32) {
		bool v2 = strstr(line, " - cgroup2 ") != NULL,
		     v1 = strstr(line, " - cgroup ") != NULL;
		if ((v1 || v2) && sscanf(line, "%*s %*s %*s %*s %255s", mp) == 1 &&
		    strstr(mp, "/rootfs/") == NULL) {
			strcpy(m->mp[m->n++], mp);
			m->v1 |= v1;
			m->v2 |= v2;
		}
	}
	if (f)
		fclose(f);
}

static bool is_dir_at(const char *mount, const char *rel)
{
	char path[1024];
	struct stat st;
	snprintf(path, sizeof path, "%s%s", mount, rel);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static size_t count_dirs(const struct mounts *m, const char *rel)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n; i++)
		n += is_dir_at(m->mp[i], rel);
	return n;
}

/* Mounts where rel is a cgroup with no cgroup below it. */
static size_t empty_dirs(const struct mounts *m, const char *rel)
{
	size_t n = 0;
	char path[1024];
	for (size_t i = 0; i < m->n; i++) {
		snprintf(path, sizeof path, "%s%s", m->mp[i], rel);
		DIR *d = opendir(path);
		bool empty = d != NULL;
		for (struct dirent *e; d && (e = readdir(d));)
			empty &= e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
				 strcmp(e->d_name, "..") == 0;
		if (d)
			closedir(d);
		n += empty;
	}
	return n;
}

/* Lines of /proc/<pid>/cgroup whose path is want (per line: own cgroup + want when
 * relative). */
static size_t count_proc_lines(pid_t pid, const char *want, bool relative)
{
	char path[64], line[1024], own[1024];
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re"), *self = fopen("/proc/self/cgroup", "re");
	size_t n = 0;
	while (f && self && fgets(line, sizeof line, f) && fgets(own, sizeof own, self)) {
		line[strcspn(line, "\n")] = own[strcspn(own, "\n")] = '\0';
		char expect[2100];
		const char *base = strchr(strchr(own, ':') + 1, ':') + 1;
		if (!relative)
			snprintf(expect, sizeof expect, "%s", want);
		else if (strcmp(want, "/") == 0)
			snprintf(expect, sizeof expect, "%s", base);
		else
			snprintf(expect, sizeof expect, "%s%s", strcmp(base, "/") ? base : "",
				 want);
		n += strcmp(strchr(strchr(line, ':') + 1, ':') + 1, expect) == 0;
	}
	if (f)
		fclose(f);
	if (self)
		fclose(self);
	return n;
}

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0)
		for (;;)
			pause();
	return pid;
}

static int waited_signal(pid_t *pid)
{
	int status = 0;
	if (*pid <= 0 || waitpid(*pid, &status, 0) != *pid)
		return -1;
	*pid = -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* What a failed check may have left: the children, the cgroup, the directories. */
static void reap(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = -1;
	}
}

static int rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	return 0;
}

static void sweep(const struct mounts *m, const char *rel)
{
	char path[2048];
	for (size_t i = 0; i < m->n; i++) {
		snprintf(path, sizeof path, "%s%s", m->mp[i], rel);
		nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	}
}

static void finish(struct cgroup **cg, const struct mounts *m, const char *rel)
{
	struct hull_err err = {0};
	if (*cg != NULL && cgroup_destroy(*cg, &err) < 0)
		printf("#   cleanup: %s\n", hull_err_text(&err));
	*cg = NULL;
	hull_err_clear(&err);
	sweep(m, rel);
}

static char test_top[64]; /* "/hull-test-<pid>": every real test works below it */

static void test_real_host_layout(void)
{
	struct mounts m;
	host_mounts(&m);
	CHECK_STR(cgroup_host_layout(), m.v1 && m.v2 ? "hybrid" : m.v2 ? "v2" : "v1");
}

static void test_real_default_path_lifecycle(void)
{
	struct mounts m;
	struct hull_err err = {0};
	host_mounts(&m);
	char id[80], rel[96];
	snprintf(id, sizeof id, "%s-d", test_top + 1);
	snprintf(rel, sizeof rel, "/hull/%s", id);
	size_t hull_before = count_dirs(&m, "/hull");
	pid_t child = -1;
	struct cgroup *cg = cgroup_create(NULL, id, &err), *again = NULL;
	CHECK(cg != NULL);
	if (cg != NULL) {
		CHECK(count_dirs(&m, rel) == m.n);
		char saved[128];
		snprintf(saved, sizeof saved, "*:2:%s", rel); /* "/hull" is always hull's */
		CHECK_STR(cgroup_path(cg), saved);
		child = spawn_sleeper();
		CHECK(cgroup_enter(cg, child, &err) == 0);
		CHECK(count_proc_lines(child, rel, false) == m.n);
		pid_t *pids = NULL;
		size_t n = 0;
		CHECK(cgroup_pids(cg, &pids, &n, &err) == 0 && n == 1 && pids[0] == child);
		free(pids);
		again = cgroup_open(cgroup_path(cg), &err);
		struct cgroup_view v1 = {0}, v2 = {0};
		CHECK(again && cgroup_view(cg, &v1, &err) == 0 &&
		      cgroup_view(again, &v2, &err) == 0);
		CHECK(v1.n == m.n && v2.n == m.n);
		for (size_t i = 0; i < v1.n && i < v2.n; i++)
			CHECK_STR(v1.entries[i].host_dir, v2.entries[i].host_dir);
		cgroup_view_free(&v1);
		cgroup_view_free(&v2);
		cgroup_free(again);
		CHECK(cgroup_destroy(steal_ptr(&cg), &err) == 0);
		CHECK(waited_signal(&child) == SIGKILL);
		CHECK(count_dirs(&m, rel) == 0);
		/* Removed once empty, whoever made it; a concurrent run's container may be
		 * just between its own rmdirs, so give it a moment. */
		for (int i = 0; i < 100 && empty_dirs(&m, "/hull") > 0; i++)
			nanosleep(&(struct timespec){0, 10000000}, NULL);
		CHECK(empty_dirs(&m, "/hull") == 0);
	}
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	hull_err_clear(&err);
	reap(&child);
	finish(&cg, &m, rel);
	if (hull_before == 0)
		sweep(&m, "/hull");
}

/* Our test's name below each of our own cgroups, in every mount: the relative test's
 * directories, wherever the resolution put them. */
static void sweep_own_relative(const struct mounts *m, const char *name)
{
	FILE *self = fopen("/proc/self/cgroup", "re");
	char line[1024], path[1100];
	while (self && fgets(line, sizeof line, self)) {
		line[strcspn(line, "\n")] = '\0';
		const char *own = strchr(strchr(line, ':') + 1, ':') + 1;
		snprintf(path, sizeof path, "%s/%s", strcmp(own, "/") ? own : "", name);
		sweep(m, path);
	}
	if (self)
		fclose(self);
}

static void test_real_relative_path(void)
{
	struct mounts m;
	struct hull_err err = {0};
	host_mounts(&m);
	char rel[96], want[100];
	snprintf(rel, sizeof rel, "%s/rel", test_top + 1); /* no leading '/' */
	snprintf(want, sizeof want, "/%s", rel);
	pid_t child = -1;
	struct cgroup *cg = cgroup_create(rel, "x", &err);
	CHECK(cg != NULL);
	if (cg != NULL) {
		child = spawn_sleeper();
		CHECK(cgroup_enter(cg, child, &err) == 0);
		CHECK(count_proc_lines(child, want, true) == m.n);
		CHECK(cgroup_destroy(steal_ptr(&cg), &err) == 0);
		CHECK(waited_signal(&child) == SIGKILL);
		CHECK(count_proc_lines(getpid(), "/", true) == m.n); /* we stay where we were */
	}
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	hull_err_clear(&err);
	reap(&child);
	finish(&cg, &m, test_top);
	sweep_own_relative(&m, test_top + 1);
}

/* Two containers below parents the first one made: the parents stay while the second
 * is there, and go with the first once they are empty. A container never removes a
 * parent it did not make (it may be an admin's, with limits on it), so in the other
 * order the empty parents stay behind. */
static void test_real_shared_parent_kept(void)
{
	struct mounts m;
	struct hull_err err = {0};
	host_mounts(&m);
	char a[96], b[96], par[96];
	snprintf(a, sizeof a, "%s/shared/a", test_top);
	snprintf(b, sizeof b, "%s/shared/b", test_top);
	snprintf(par, sizeof par, "%s/shared", test_top);
	struct cgroup *ca = cgroup_create(a, "a", &err), *cb = cgroup_create(b, "b", &err);
	CHECK(ca != NULL && cb != NULL);
	if (ca != NULL && cb != NULL) {
		CHECK(cgroup_destroy(steal_ptr(&cb), &err) == 0);
		CHECK(count_dirs(&m, b) == 0);
		CHECK(count_dirs(&m, a) == m.n && count_dirs(&m, par) == m.n);
		CHECK(cgroup_destroy(steal_ptr(&ca), &err) == 0);
		CHECK(count_dirs(&m, par) == 0 && count_dirs(&m, test_top) == 0);
	}
	finish(&ca, &m, test_top);
	finish(&cb, &m, test_top);
	ca = cgroup_create(a, "a", &err);
	cb = cgroup_create(b, "b", &err);
	CHECK(ca != NULL && cb != NULL);
	if (ca != NULL && cb != NULL) {
		CHECK(cgroup_destroy(steal_ptr(&ca), &err) == 0);
		CHECK(count_dirs(&m, a) == 0 && count_dirs(&m, b) == m.n);
		CHECK(cgroup_destroy(steal_ptr(&cb), &err) == 0);
		CHECK(count_dirs(&m, b) == 0 && count_dirs(&m, par) == m.n);
	}
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	hull_err_clear(&err);
	finish(&ca, &m, test_top);
	finish(&cb, &m, test_top);
}

/* The first cgroup2 (else "pids") mount: where cgroup_pids looks. */
static const char *pid_mount(const struct mounts *m)
{
	static char best[256];
	best[0] = '\0';
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], mp[256];
	while (f && fgets(line, sizeof line, f)) {
		bool v2 = strstr(line, " - cgroup2 ") != NULL;
		if (sscanf(line, "%*s %*s %*s %*s %255s", mp) == 1 &&
		    strstr(mp, "/rootfs/") == NULL &&
		    (v2 || (strstr(line, " - cgroup ") && strstr(line, ",pids") && !best[0])))
			strcpy(best, mp);
		if (v2)
			break;
	}
	if (f)
		fclose(f);
	return best[0] ? best : m->mp[0];
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	bool ok = f && fputs(text, f) >= 0;
	return (f == NULL || fclose(f) == 0) && ok;
}

/* cgroup_kill signals processes in cgroups the container made below its own, and
 * destroy removes those too. */
static void test_real_kill_nested(void)
{
	struct mounts m;
	struct hull_err err = {0};
	host_mounts(&m);
	char rel[96], sub[512], procs[600], num[32];
	snprintf(rel, sizeof rel, "%s/k", test_top);
	pid_t c1 = -1, c2 = -1;
	struct cgroup *cg = cgroup_create(rel, "k", &err);
	CHECK(cg != NULL);
	if (cg != NULL) {
		c1 = spawn_sleeper();
		c2 = spawn_sleeper();
		CHECK(cgroup_enter(cg, c1, &err) == 0 && cgroup_enter(cg, c2, &err) == 0);
		snprintf(sub, sizeof sub, "%s%s/sub", pid_mount(&m), rel);
		snprintf(procs, sizeof procs, "%s/cgroup.procs", sub);
		snprintf(num, sizeof num, "%d", (int)c2);
		CHECK(mkdir(sub, 0755) == 0 && write_file(procs, num));
		pid_t *pids = NULL;
		size_t n = 0;
		CHECK(cgroup_pids(cg, &pids, &n, &err) == 0 && n == 2);
		free(pids);
		CHECK(cgroup_kill(cg, SIGTERM, &err) == 0);
		CHECK(waited_signal(&c1) == SIGTERM && waited_signal(&c2) == SIGTERM);
		CHECK(cgroup_destroy(steal_ptr(&cg), &err) == 0);
		CHECK(count_dirs(&m, rel) == 0);
	}
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	hull_err_clear(&err);
	reap(&c1);
	reap(&c2);
	finish(&cg, &m, test_top);
}

static bool wait_state(const char *path, const char *want)
{
	for (int i = 0; i < 500; i++) {
		char buf[64] = "";
		FILE *f = fopen(path, "re");
		if (f && fgets(buf, sizeof buf, f) && strncmp(buf, want, strlen(want)) == 0) {
			fclose(f);
			return true;
		}
		if (f)
			fclose(f);
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	return false;
}

/* A frozen container still goes away: destroy thaws before it kills. */
static void test_real_destroy_frozen(void)
{
	struct mounts m;
	struct hull_err err = {0};
	host_mounts(&m);
	char rel[96], path[600];
	snprintf(rel, sizeof rel, "%s/f", test_top);
	pid_t child = -1;
	struct cgroup *cg = cgroup_create(rel, "f", &err);
	CHECK(cg != NULL);
	if (cg != NULL) {
		child = spawn_sleeper();
		CHECK(cgroup_enter(cg, child, &err) == 0);
		size_t frozen = 0;
		for (size_t i = 0; i < m.n; i++) {
			snprintf(path, sizeof path, "%s%s/freezer.state", m.mp[i], rel);
			if (access(path, W_OK) == 0 && write_file(path, "FROZEN"))
				frozen += wait_state(path, "FROZEN");
			snprintf(path, sizeof path, "%s%s/cgroup.freeze", m.mp[i], rel);
			if (access(path, W_OK) == 0 && write_file(path, "1"))
				frozen++;
		}
		CHECK(frozen > 0);
		CHECK(cgroup_destroy(steal_ptr(&cg), &err) == 0);
		CHECK(waited_signal(&child) == SIGKILL);
		CHECK(count_dirs(&m, rel) == 0);
	}
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	hull_err_clear(&err);
	reap(&child);
	finish(&cg, &m, test_top);
}

/* An existing cgroup with processes is not adopted, and the failed create leaves what
 * was there as it was. */
static void test_real_busy_cgroup_refused(void)
{
	struct mounts m;
	struct hull_err err = {0};
	host_mounts(&m);
	char rel[96];
	snprintf(rel, sizeof rel, "%s/busy", test_top);
	pid_t child = -1;
	struct cgroup *cg = cgroup_create(rel, "b", &err), *twin = NULL;
	CHECK(cg != NULL);
	if (cg != NULL) {
		child = spawn_sleeper();
		CHECK(cgroup_enter(cg, child, &err) == 0);
		twin = cgroup_create(rel, "b", &err);
		CHECK(twin == NULL);
		CHECK_CONTAINS(err.msg, "already holds 1 process");
		CHECK(count_dirs(&m, rel) == m.n);
	}
	hull_err_clear(&err);
	finish(&twin, &m, test_top);
	CHECK(cg == NULL || cgroup_destroy(steal_ptr(&cg), &err) == 0);
	reap(&child);
	finish(&cg, &m, test_top);
}

/* A create failing in the last hierarchy removes what it made in the others. */
static void test_real_failed_create_leaves_nothing(void)
{
	struct mounts m;
	struct hull_err err = {0};
	host_mounts(&m);
	char rel[96], dir[600], procs[700], num[32], top[96];
	snprintf(rel, sizeof rel, "%s-p/leaf", test_top);
	snprintf(top, sizeof top, "%s-p", test_top);
	const char *last = m.mp[m.n - 1]; /* layout.c works in mountinfo order */
	snprintf(dir, sizeof dir, "%s%s", last, top);
	pid_t child = spawn_sleeper();
	bool ready = mkdir(dir, 0755) == 0;
	snprintf(dir, sizeof dir, "%s%s", last, rel);
	snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
	snprintf(num, sizeof num, "%d", (int)child);
	ready = ready && mkdir(dir, 0755) == 0 && write_file(procs, num);
	CHECK(ready);
	struct cgroup *cg = cgroup_create(rel, "p", &err);
	CHECK(cg == NULL);
	CHECK_CONTAINS(err.msg, "already holds");
	CHECK(count_dirs(&m, top) == 1 && count_dirs(&m, rel) == 1);
	hull_err_clear(&err);
	reap(&child);
	finish(&cg, &m, top);
}

/* No directory of this run outlives it, in any hierarchy. */
static int leftover_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (type == FTW_D && strstr(path, test_top + 1) != NULL) {
		printf("#   left behind: %s\n", path);
		unit_case_failed = 1;
	}
	return 0;
}

static void test_real_nothing_left(void)
{
	struct mounts m;
	host_mounts(&m);
	for (size_t i = 0; i < m.n; i++)
		nftw(m.mp[i], leftover_cb, 16, FTW_PHYS);
}

int main(void)
{
	RUN(test_parse_pure_v2);
	RUN(test_parse_pure_v1_comounted);
	RUN(test_parse_hybrid);
	RUN(test_parse_nothing_mounted);
	RUN(test_proc_rel);
	RUN(test_resolve_default_and_absolute);
	RUN(test_resolve_relative_to_own_cgroup);
	RUN(test_resolve_mount_root);
	RUN(test_resolve_rejects);
	RUN(test_saved_all_alike);
	RUN(test_saved_per_hierarchy_and_escapes);
	RUN(test_saved_skips_unknown_and_rejects_malformed);

	struct mounts m;
	host_mounts(&m);
	if (geteuid() != 0 || m.n == 0) {
		printf("# skipping real cgroup tests: need root and a cgroup mount\n");
		return unit_done();
	}
	snprintf(test_top, sizeof test_top, "/hull-test-%d", (int)getpid());
	RUN(test_real_host_layout);
	RUN(test_real_default_path_lifecycle);
	RUN(test_real_relative_path);
	RUN(test_real_shared_parent_kept);
	RUN(test_real_kill_nested);
	RUN(test_real_destroy_frozen);
	RUN(test_real_busy_cgroup_refused);
	RUN(test_real_failed_create_leaves_nothing);
	RUN(test_real_nothing_left);
	return unit_done();
}
