/* What a container uses, read from its cgroup files: cpu, cpuset, memory, pids and OOM kills,
 * from the v1 hierarchy that has the controller, else from cgroup2. */
#include "cgroups.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "layout.h"
#include "statfile.h"

/* dir/file as a number; *v untouched when the file is absent or holds something else
 * (a controller not enabled, v1's "-1"): one odd file must not cost the whole snapshot. */
static int file_u64(const char *dir, const char *file, uint64_t *v, bool *found,
		    struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read_at(dir, file, &text, err) < 0)
		return -1;
	if (text != NULL && cgroup_parse_u64(text, v) == 0 && found != NULL)
		*found = true;
	return 0;
}

struct entry_files {
	const char *usage, *max, *limit, *failcnt;
};

static int read_entry(const char *dir, const struct entry_files *f, struct cgroup_mem_entry *e,
		      bool *found, struct hull_err *err)
{
	const char *names[] = {f->usage, f->max, f->limit, f->failcnt};
	uint64_t *dest[] = {&e->usage, &e->max, &e->limit, &e->failcnt};
	for (size_t i = 0; i < 4; i++)
		if (names[i] != NULL && file_u64(dir, names[i], dest[i], found, err) < 0)
			return -1;
	return 0;
}

/* ---- cpu ---- */

/* cpuacct.stat counts USER_HZ ticks; usage_user and usage_sys (4.12+) are nanoseconds. */
static int cpuacct_split(const char *dir, struct cgroup_stats *s, struct hull_err *err)
{
	bool user = false, sys = false;
	if (file_u64(dir, "cpuacct.usage_user", &s->cpu.user, &user, err) < 0 ||
	    file_u64(dir, "cpuacct.usage_sys", &s->cpu.kernel, &sys, err) < 0)
		return -1;
	if (user && sys)
		return 0;
	_cleanup_free_ char *text = NULL;
	if (cgroup_read_at(dir, "cpuacct.stat", &text, err) < 0)
		return -1;
	if (text == NULL)
		return 0;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t ns_per_tick = hz > 0 ? 1000000000ULL / (uint64_t)hz : 10000000ULL, v;
	if (cgroup_kv_get(text, "user", &v))
		s->cpu.user = v * ns_per_tick;
	if (cgroup_kv_get(text, "system", &v))
		s->cpu.kernel = v * ns_per_tick;
	return 0;
}

static int read_list(const char *dir, const char *file, struct arena *a, uint64_t **out, size_t *n,
		     struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read_at(dir, file, &text, err) < 0)
		return -1;
	*n = text ? cgroup_u64_list(text, a, out) : 0;
	return 0;
}

static int cpu_v1(const struct cgroup *cg, struct cgroup_stats *s, struct hull_err *err)
{
	const struct cgroup_place *acct = cgroup_v1_place(cg, "cpuacct");
	const struct cgroup_place *cpu = cgroup_v1_place(cg, "cpu");
	if (acct != NULL) {
		const char *d = acct->dir;
		if (file_u64(d, "cpuacct.usage", &s->cpu.total, &s->has_cpu, err) < 0 ||
		    cpuacct_split(d, s, err) < 0 ||
		    read_list(d, "cpuacct.usage_percpu", &s->arena, &s->cpu.percpu,
			      &s->cpu.n_percpu, err) < 0 ||
		    read_list(d, "cpuacct.usage_percpu_sys", &s->arena, &s->cpu.percpu_kernel,
			      &s->cpu.n_percpu_kernel, err) < 0 ||
		    read_list(d, "cpuacct.usage_percpu_user", &s->arena, &s->cpu.percpu_user,
			      &s->cpu.n_percpu_user, err) < 0)
			return -1;
	}
	_cleanup_free_ char *text = NULL;
	if (cpu == NULL)
		return 0;
	if (cgroup_read_at(cpu->dir, "cpu.stat", &text, err) < 0)
		return -1;
	if (text == NULL)
		return 0;
	s->has_cpu = true;
	cgroup_kv_get(text, "nr_periods", &s->cpu.periods);
	cgroup_kv_get(text, "nr_throttled", &s->cpu.throttled_periods);
	cgroup_kv_get(text, "throttled_time", &s->cpu.throttled_time);
	return 0;
}

/* cgroup2's cpu.stat counts microseconds; the usage keys are there even without the cpu
 * controller enabled. */
static int cpu_v2(const struct cgroup_place *p, struct cgroup_stats *s, struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read_at(p->dir, "cpu.stat", &text, err) < 0)
		return -1;
	if (text == NULL)
		return 0;
	const struct {
		const char *key;
		uint64_t *dest;
		uint64_t scale;
	} keys[] = {
	    {"usage_usec", &s->cpu.total, 1000},
	    {"user_usec", &s->cpu.user, 1000},
	    {"system_usec", &s->cpu.kernel, 1000},
	    {"nr_periods", &s->cpu.periods, 1},
	    {"nr_throttled", &s->cpu.throttled_periods, 1},
	    {"throttled_usec", &s->cpu.throttled_time, 1000},
	};
	uint64_t v;
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (cgroup_kv_get(text, keys[i].key, &v))
			*keys[i].dest = v * keys[i].scale;
	s->has_cpu = true;
	return 0;
}

/* ---- cpuset ---- */

static int cpuset_list(const char *dir, const char *file, struct arena *a, uint64_t **out,
		       size_t *n, struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read_at(dir, file, &text, err) < 0)
		return -1;
	if (text != NULL && cgroup_cpu_list(text, a, out, n) < 0)
		return hull_error(err, 0, "%s/%s: not a cpu list: %s", dir, file, text);
	return 0;
}

/* sched_relax_domain_level is -1 by default, the one signed file. */
static int relax_level(const char *dir, int64_t *v, struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read_at(dir, "cpuset.sched_relax_domain_level", &text, err) < 0)
		return -1;
	char *end;
	long long n = text ? strtoll(text, &end, 10) : 0;
	if (text != NULL && end != text)
		*v = n;
	return 0;
}

static int read_cpuset(const struct cgroup *cg, struct cgroup_stats *s, struct hull_err *err)
{
	const struct cgroup_place *p = cgroup_v1_place(cg, "cpuset");
	if (p == NULL)
		return 0;
	struct cgroup_cpuset *c = &s->cpuset;
	const struct {
		const char *file;
		uint64_t *dest;
	} flags[] = {
	    {"cpuset.cpu_exclusive", &c->cpu_exclusive},
	    {"cpuset.mem_hardwall", &c->mem_hardwall},
	    {"cpuset.mem_exclusive", &c->mem_exclusive},
	    {"cpuset.memory_migrate", &c->memory_migrate},
	    {"cpuset.memory_spread_page", &c->memory_spread_page},
	    {"cpuset.memory_spread_slab", &c->memory_spread_slab},
	    {"cpuset.memory_pressure", &c->memory_pressure},
	    {"cpuset.sched_load_balance", &c->sched_load_balance},
	};
	for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
		if (file_u64(p->dir, flags[i].file, flags[i].dest, NULL, err) < 0)
			return -1;
	if (cpuset_list(p->dir, "cpuset.cpus", &s->arena, &c->cpus, &c->n_cpus, err) < 0 ||
	    cpuset_list(p->dir, "cpuset.mems", &s->arena, &c->mems, &c->n_mems, err) < 0)
		return -1;
	return relax_level(p->dir, &c->sched_relax_domain_level, err);
}

/* ---- memory ---- */

static int memory_stat(const char *dir, const char *cache_key, struct cgroup_stats *s,
		       struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read_at(dir, "memory.stat", &text, err) < 0)
		return -1;
	if (text == NULL)
		return 0;
	s->memory.n_raw = cgroup_kv_all(text, &s->arena, &s->memory.raw);
	cgroup_kv_get(text, cache_key, &s->memory.cache);
	return 0;
}

static int oom_kills(const char *dir, bool v2, uint64_t *count, bool *found, struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read_at(dir, v2 ? "memory.events" : "memory.oom_control", &text, err) < 0)
		return -1;
	*found = text != NULL && cgroup_kv_get(text, "oom_kill", count);
	return 0;
}

static int memory_v1(const char *d, struct cgroup_stats *s, struct hull_err *err)
{
	static const struct entry_files usage = {"memory.usage_in_bytes",
						 "memory.max_usage_in_bytes",
						 "memory.limit_in_bytes", "memory.failcnt"};
	static const struct entry_files swap = {
	    "memory.memsw.usage_in_bytes", "memory.memsw.max_usage_in_bytes",
	    "memory.memsw.limit_in_bytes", "memory.memsw.failcnt"};
	static const struct entry_files kernel = {
	    "memory.kmem.usage_in_bytes", "memory.kmem.max_usage_in_bytes",
	    "memory.kmem.limit_in_bytes", "memory.kmem.failcnt"};
	static const struct entry_files tcp = {
	    "memory.kmem.tcp.usage_in_bytes", "memory.kmem.tcp.max_usage_in_bytes",
	    "memory.kmem.tcp.limit_in_bytes", "memory.kmem.tcp.failcnt"};
	if (read_entry(d, &usage, &s->memory.usage, &s->has_memory, err) < 0 ||
	    read_entry(d, &swap, &s->memory.swap, NULL, err) < 0 ||
	    read_entry(d, &kernel, &s->memory.kernel, NULL, err) < 0 ||
	    read_entry(d, &tcp, &s->memory.kernel_tcp, NULL, err) < 0)
		return -1;
	return memory_stat(d, "cache", s, err);
}

/* v2 has no failcnt; memory.events "max" counts the same thing (usage hit the limit).
 * Swap is reported as memory + swap, as v1's memsw is, so one reading fits both. */
static int memory_v2(const char *d, struct cgroup_stats *s, struct hull_err *err)
{
	static const struct entry_files usage = {"memory.current", "memory.peak", "memory.max",
						 NULL};
	static const struct entry_files swap = {"memory.swap.current", NULL, "memory.swap.max",
						NULL};
	struct cgroup_mem_entry *m = &s->memory.usage, *sw = &s->memory.swap;
	bool has_swap = false;
	if (read_entry(d, &usage, m, &s->has_memory, err) < 0 ||
	    read_entry(d, &swap, sw, &has_swap, err) < 0)
		return -1;
	_cleanup_free_ char *events = NULL;
	if (cgroup_read_at(d, "memory.events", &events, err) < 0)
		return -1;
	if (events != NULL)
		cgroup_kv_get(events, "max", &m->failcnt);
	if (has_swap) {
		sw->usage += m->usage;
		if (sw->limit != UINT64_MAX && m->limit != UINT64_MAX)
			sw->limit += m->limit;
		else
			sw->limit = UINT64_MAX;
	}
	return s->has_memory ? memory_stat(d, "file", s, err) : 0;
}

/* ---- the snapshot ---- */

static int read_pids(const struct cgroup *cg, struct cgroup_stats *s, struct hull_err *err)
{
	const struct cgroup_place *p = cgroup_v1_place(cg, "pids");
	if (p == NULL)
		p = cgroup_v2_place(cg);
	if (p == NULL)
		return 0;
	if (file_u64(p->dir, "pids.current", &s->pids.current, &s->has_pids, err) < 0)
		return -1;
	return s->has_pids ? file_u64(p->dir, "pids.max", &s->pids.limit, NULL, err) : 0;
}

static int read_cpu(const struct cgroup *cg, struct cgroup_stats *s, struct hull_err *err)
{
	if (cgroup_v1_place(cg, "cpuacct") != NULL || cgroup_v1_place(cg, "cpu") != NULL)
		return cpu_v1(cg, s, err);
	const struct cgroup_place *p = cgroup_v2_place(cg);
	return p ? cpu_v2(p, s, err) : 0;
}

static int read_memory(const struct cgroup *cg, struct cgroup_stats *s, struct hull_err *err)
{
	const struct cgroup_place *p = cgroup_v1_place(cg, "memory");
	bool v2 = p == NULL;
	if (v2)
		p = cgroup_v2_place(cg);
	if (p == NULL)
		return 0;
	if ((v2 ? memory_v2 : memory_v1)(p->dir, s, err) < 0)
		return -1;
	return oom_kills(p->dir, v2, &s->oom_kills, &s->has_oom_kills, err);
}

int cgroup_stats(const struct cgroup *cg, struct cgroup_stats *s, struct hull_err *err)
{
	*s = (struct cgroup_stats){0};
	if (read_cpu(cg, s, err) < 0 || read_cpuset(cg, s, err) < 0 ||
	    read_memory(cg, s, err) < 0 || read_pids(cg, s, err) < 0) {
		cgroup_stats_free(s);
		return -1;
	}
	return 0;
}

void cgroup_stats_free(struct cgroup_stats *s)
{
	arena_free(&s->arena);
	*s = (struct cgroup_stats){0};
}

/* ---- OOM ---- */

static const struct cgroup_place *memory_place(const struct cgroup *cg, bool *v2,
					       struct hull_err *err)
{
	const struct cgroup_place *p = cgroup_v1_place(cg, "memory");
	*v2 = p == NULL;
	if (p == NULL)
		p = cgroup_v2_place(cg);
	if (p == NULL)
		hull_error(err, ENOTSUP, "this host mounts no memory controller");
	return p;
}

int cgroup_oom_count(const struct cgroup *cg, uint64_t *count, struct hull_err *err)
{
	bool v2, found = false;
	const struct cgroup_place *p = memory_place(cg, &v2, err);
	if (p == NULL || oom_kills(p->dir, v2, count, &found, err) < 0)
		return -1;
	if (!found)
		return hull_error(err, ENOTSUP, "%s: the kernel does not count OOM kills", p->dir);
	return 0;
}

/* cgroup-v1/memory.rst, "Memory thresholds" and "OOM Control": an eventfd registered as
 * "<event_fd> <fd of memory.oom_control>" in cgroup.event_control. The kernel keeps the
 * registration for as long as the eventfd lives, so the control file's fd can go. */
static int watch_v1(const char *dir, struct hull_err *err)
{
	_cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return hull_error(err, errno, "eventfd");
	char path[PATH_MAX], line[64];
	snprintf(path, sizeof path, "%s/memory.oom_control", dir);
	_cleanup_close_ int ofd = open(path, O_RDONLY | O_CLOEXEC);
	if (ofd < 0)
		return hull_error(err, errno, "open %s", path);
	snprintf(line, sizeof line, "%d %d", efd, ofd);
	if (cgroup_write_at(dir, "cgroup.event_control", line, err) < 0)
		return -1;
	return steal_fd(&efd);
}

/* cgroup-v2.rst: "memory.events ... A value change in this file generates a file
 * modified event." */
static int watch_v2(const char *dir, struct hull_err *err)
{
	_cleanup_close_ int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		return hull_error(err, errno, "inotify_init1");
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/memory.events", dir);
	if (inotify_add_watch(fd, path, IN_MODIFY) < 0)
		return hull_error(err, errno, "inotify_add_watch %s", path);
	return steal_fd(&fd);
}

int cgroup_oom_watch(const struct cgroup *cg, struct hull_err *err)
{
	bool v2;
	const struct cgroup_place *p = memory_place(cg, &v2, err);
	if (p == NULL)
		return -1;
	return v2 ? watch_v2(p->dir, err) : watch_v1(p->dir, err);
}
