/* Private to src/runtime: `exec`, between its command line (cmd_exec.c) and the joining
 * and running of the new process (exec.c). */
#pragma once
#include <stdbool.h>

#include "common/err.h"
#include "common/oci.h"

struct container;

struct exec_req {
	const struct oci_process *proc; /* the final process: args, env, user, caps, ... */
	const char *console_socket;	/* with proc->terminal: where the pty master goes */
	const char *pid_file;
	const char *sub_cgroup; /* --cgroup: below the container's cgroup, or NULL */
	int preserve_fds;
	bool detach;
	bool ignore_paused; /* go on into a frozen cgroup; the process runs at `resume` */
};

/* Fails unless the container can take a new process now: created or running, or paused
 * with ignore_paused. */
int exec_check_state(struct container *c, bool ignore_paused, struct hull_err *err);

/* Run req->proc in the container c (see exec_check_state), in its namespaces and cgroups,
 * with its seccomp filter. Returns 0 once the process runs (detach), else its exit status
 * (128+N when killed by signal N); <0 with err set when it never ran, leaving nothing
 * behind. */
int exec_run(struct container *c, const struct exec_req *req, struct hull_err *err);
