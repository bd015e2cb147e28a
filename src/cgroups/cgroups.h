/* One interface over cgroup v1, v2 and hybrid hosts. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "common/arena.h"
#include "common/cgroup_view.h"
#include "common/err.h"
#include "common/oci.h"
#include <stdint.h>

struct cgroup; /* opaque: the container's directory in every hierarchy of this host */

/* Create the container's cgroup. cgroups_path is linux.cgroupsPath (NULL = the default,
 * "/hull/<id>"); a relative path is taken relative to the caller's own cgroup. On error
 * nothing is left behind. */
struct cgroup *cgroup_create(const char *cgroups_path, const char *id, struct hull_err *err);

/* Re-open a cgroup made earlier, from the string cgroup_path() returned. */
struct cgroup *cgroup_open(const char *saved, struct hull_err *err);

/* The existing sub-cgroup SUB (relative, no "..") of a saved cgroup, in every hierarchy;
 * for `exec --cgroup`. Nothing of it is removed by cgroup_destroy. */
struct cgroup *cgroup_open_sub(const char *saved, const char *sub, struct hull_err *err);

/* The string to save in the state dir to cgroup_open() it later. Static to cg. */
const char *cgroup_path(const struct cgroup *cg);

/* Put the next child we clone into the container's cgroup without moving a process
 * afterwards. Moving another process (a pid written to cgroup.procs) takes the kernel's
 * global cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period: 5 to
 * 25 ms here, more than all of hull's other work. Instead the calling (single-threaded)
 * process steps into each v1 cgroup itself ("0" to `tasks` skips that lock), the child
 * goes into the cgroup2 one with clone3(CLONE_INTO_CGROUP), and we step back. */
struct cgroup_fork {
	int clone_fd;	/* cgroup2 directory for CLONE_INTO_CGROUP, or -1 */
	char *back[16]; /* v1 cgroup directories to return to */
	size_t n_back;
};
int cgroup_fork_begin(const struct cgroup *cg, struct cgroup_fork *f, struct hull_err *err);
/* Return to where we were; call whether or not the clone worked. */
int cgroup_fork_end(struct cgroup_fork *f, struct hull_err *err);

/* Move pid into the container's cgroup in every hierarchy. */
int cgroup_enter(const struct cgroup *cg, pid_t pid, struct hull_err *err);

/* The pids in the cgroup and the cgroups below it (malloc'd, sorted; NULL when none). */
int cgroup_pids(const struct cgroup *cg, pid_t **pids, size_t *n, struct hull_err *err);

/* Signal every process in the cgroup. */
int cgroup_kill(const struct cgroup *cg, int sig, struct hull_err *err);

/* Thaw, SIGKILL what remains, wait (up to 5 s) for it to go, remove the directories this
 * container made, deepest first; frees cg, also on failure (cgroup_open the saved string
 * again to retry). */
int cgroup_destroy(struct cgroup *cg, struct hull_err *err);

void cgroup_free(struct cgroup *cg);

/* Where the container's cgroups are, for mounting them inside the container. */
int cgroup_view(const struct cgroup *cg, struct cgroup_view *view, struct hull_err *err);

/* An O_DIRECTORY fd of the container's cgroup2 directory, for clone3(CLONE_INTO_CGROUP);
 * fails with err->code ENOENT when the host has no cgroup2 hierarchy. On a hybrid host
 * cgroup_enter is still needed for the v1 hierarchies. */
int cgroup_v2_dirfd(const struct cgroup *cg, struct hull_err *err);

/* Freeze (true) or thaw (false) every process of the container, and of the cgroups below
 * its own. Freezing uses the v1 freezer where the host mounts one (v1 and hybrid hosts),
 * else cgroup2's cgroup.freeze, and returns once the kernel reports the cgroup frozen;
 * when it does not get there within 2 s it thaws again and fails with EBUSY. Thawing
 * clears every freezer of the tree, as cgroup_destroy does. */
int cgroup_freeze(const struct cgroup *cg, bool frozen, struct hull_err *err);
/* The freezer cgroup_freeze uses reports the container frozen (false when the host has no
 * freezer or the cgroup is gone). */
bool cgroup_is_frozen(const struct cgroup *cg);

/* One line of memory.stat. */
struct cgroup_stat_kv {
	char *key;
	uint64_t value;
};

/* One memory counter, in bytes; limit UINT64_MAX or the kernel's huge value = unlimited. */
struct cgroup_mem_entry {
	uint64_t usage, max, limit, failcnt;
};

/* The v1 cpuset controller's files; zero on a host without it (runc reads no cpuset
 * stats from cgroup2). */
struct cgroup_cpuset {
	uint64_t *cpus, *mems; /* cpuset.cpus, cpuset.mems as lists of numbers */
	size_t n_cpus, n_mems;
	uint64_t cpu_exclusive, mem_hardwall, mem_exclusive, memory_migrate, memory_spread_page,
	    memory_spread_slab, memory_pressure, sched_load_balance;
	int64_t sched_relax_domain_level;
};

/* A snapshot of the container's cgroup; times in nanoseconds, memory in bytes. v2's
 * swap entry adds memory to swap, as v1's memsw does. A has_ flag is false when the
 * host or the cgroup has no such controller; its fields are then 0. */
struct cgroup_stats {
	struct arena arena; /* the arrays and strings below */
	bool has_cpu, has_memory, has_pids, has_oom_kills;
	struct {
		uint64_t total, kernel, user;
		uint64_t *percpu, *percpu_kernel, *percpu_user; /* v1 only */
		size_t n_percpu, n_percpu_kernel, n_percpu_user;
		uint64_t periods, throttled_periods, throttled_time;
	} cpu;
	struct cgroup_cpuset cpuset;
	struct {
		struct cgroup_mem_entry usage, swap, kernel, kernel_tcp;
		uint64_t cache;
		struct cgroup_stat_kv *raw; /* memory.stat as it is */
		size_t n_raw;
	} memory;
	struct {
		uint64_t current, limit; /* limit UINT64_MAX = "max" */
	} pids;
	uint64_t oom_kills;
};
int cgroup_stats(const struct cgroup *cg, struct cgroup_stats *s, struct hull_err *err);
void cgroup_stats_free(struct cgroup_stats *s);

/* A close-on-exec, non-blocking fd that polls readable after the memory controller
 * noted an OOM event: v1 an eventfd registered on memory.oom_control, v2 an inotify
 * watch on memory.events (which also fires on other memory events). After poll, read and
 * discard what it holds and compare cgroup_oom_count with the count before. */
int cgroup_oom_watch(const struct cgroup *cg, struct hull_err *err);
/* OOM kills in the container so far (v2 memory.events oom_kill, v1 memory.oom_control
 * oom_kill); fails with ENOTSUP when the kernel does not count them. */
int cgroup_oom_count(const struct cgroup *cg, uint64_t *count, struct hull_err *err);

/* For `features`: "v1", "v2" or "hybrid" ("none" when no cgroup filesystem is mounted). */
const char *cgroup_host_layout(void);

/* Write linux.resources (NULL: nothing) into the container's cgroup, each controller in
 * the hierarchy that has it. Only fields that are set are written, so it serves `update`
 * too; devices are left alone when r has no device rules. A value this host cannot apply
 * fails with a message naming the field ("linux.resources.hugepageLimits[0]: no hugetlb
 * controller on this host"), except those the runtime-spec deprecates or cgroup v2
 * cannot express and runc ignores (kernel memory limits; swappiness, disableOOMKiller,
 * useHierarchy and leaf weights on v2). On failure what was written stays written. */
int cgroup_apply(const struct cgroup *cg, const struct oci_resources *r, struct hull_err *err);
