/* What the parent hands the container's init across clone(). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "common/cgroup_view.h"
#include "common/oci.h"
#include "vm_mode.h"

struct init_ctx {
	const struct oci_spec *spec;
	int sync_fd;	    /* init's end of the socketpair */
	int fifo_fd;	    /* O_PATH of the exec fifo */
	int console_fd;	    /* connected --console-socket, or -1 */
	bool pty_to_parent; /* foreground run relays the terminal itself */
	bool no_pivot;
	int preserve_fds;
	pid_t parent;
	unsigned long clone_flags;   /* namespaces clone() already made */
	unsigned long unshare_flags; /* made by init after joining the `path` ones */
	struct cgroup_view cgroups;
	int close_fds[4];	  /* the parent's fds init must not keep (locks, sockets) */
	const struct vm_plan *vm; /* micro-VM mode when vm->on */
};
