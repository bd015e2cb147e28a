/* One interface over cgroup v1, v2 and hybrid hosts. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

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

/* For `features`: "v1", "v2" or "hybrid" ("none" when no cgroup filesystem is mounted). */
const char *cgroup_host_layout(void);
