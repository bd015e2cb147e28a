/* Private to src/runtime: the container lifecycle shared by the commands. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "cli.h"
#include "common/err.h"
#include "common/oci.h"
#include "vm_mode.h"

/* --- state.c: one directory per container under --root, locked with flock(2) --- */

struct container_state {
	char *oci_version;
	char *id;
	pid_t pid;
	unsigned long long pid_start; /* /proc/PID/stat starttime, to spot pid reuse */
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339 */
	char *owner;
	char *cgroup;		/* cgroup_path() of the container's cgroup */
	char *annotations_json; /* the config's annotations as a JSON object text */
	bool created_ok;	/* create finished; a dir without it is a create that died */
	bool no_new_keyring;	/* created with --no-new-keyring: exec keeps the caller's too */
};

int state_validate_id(const char *id, struct hull_err *err);
/* The --root directory, created 0700 when missing. */
int state_root_open(const char *root, struct hull_err *err);
/* New container dir, locked exclusively; fails when the id is taken. */
int state_dir_create(int root_fd, const char *id, struct hull_err *err);
/* Existing container dir, locked (exclusive or shared). */
int state_dir_open(int root_fd, const char *id, bool exclusive, struct hull_err *err);
/* Let other commands in while we only wait (foreground run), then take it back; the
 * relock fails with "does not exist" when a delete came in meanwhile. */
void state_dir_unlock(int dir_fd);
int state_dir_relock(int dir_fd, const char *id, struct hull_err *err);
int state_dir_remove(int root_fd, const char *id, struct hull_err *err);
/* --pid-file: written whole or not at all (a temporary file renamed into place). */
int state_write_pid_file(const char *path, pid_t pid, struct hull_err *err);
int state_write(int dir_fd, const struct container_state *st, struct hull_err *err);
int state_read(int dir_fd, struct container_state *st, struct hull_err *err);
void state_free(struct container_state *st);
/* "created", "running", "paused" or "stopped", from the process, the exec fifo and the
 * freezer ("creating" while create has not finished). */
const char *state_status(int dir_fd, const struct container_state *st);
bool state_pid_alive(const struct container_state *st);
unsigned long long proc_start_time(pid_t pid);
/* The OCI state JSON for hooks and `state` (malloc'd). */
char *state_oci_json(const struct container_state *st, const char *status, bool pretty);

#define STATE_FILE  "state.json"
#define CONFIG_COPY "config.json"
#define EXEC_FIFO   "exec.fifo"

/* --- hooks.c --- */
/* Run every hook of one kind with state_json on its stdin. Returns <0 on the first failure. */
int hooks_run(const struct oci_hook_list *list, const char *kind, const char *state_json,
	      struct hull_err *err);
/* Run them and only warn on failure (poststart, poststop). */
void hooks_run_warn(const struct oci_hook_list *list, const char *kind, const char *state_json);

/* --- selfclone.c: CVE-2019-5736 --- */
/* Re-exec hull from a sealed memfd copy unless already running from one, so that no
 * container process can reach the host's hull binary through /proc/self/exe. */
int selfclone_ensure(char **argv, struct hull_err *err);

/* --- container.c: create, start, delete --- */

/* --net, --publish, --ip of create and run (network.c) */
struct net_opts {
	const char *mode; /* none, host, bridge[:NAME], or NULL */
	struct cli_strings ports;
	const char *ip;
};

struct create_opts {
	const char *id;
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
	int preserve_fds;
	bool no_pivot;
	bool foreground; /* `run` without -d: keep the init as our child, relay a terminal */
	bool no_new_keyring;
	struct net_opts net;
};

/* The options `create` and `run` share, as entries of a struct cli_opt table; written
 * once so the two commands cannot drift apart. --no-new-keyring sets o.no_new_keyring;
 * the keyring argument is no longer used (kept until every caller drops it). */
#define CREATE_CLI_OPTS(o)                                                                         \
	{"bundle", 'b', CLI_STRING, &(o).bundle}, {"pid-file", 0, CLI_STRING, &(o).pid_file},      \
	    {"console-socket", 0, CLI_STRING, &(o).console_socket},                                \
	    {"preserve-fds", 0, CLI_INT, &(o).preserve_fds},                                       \
	    {"no-pivot", 0, CLI_FLAG, &(o).no_pivot}, {"net", 0, CLI_STRING, &(o).net.mode},       \
	    {"publish", 'p', CLI_STRINGS, &(o).net.ports}, {"ip", 0, CLI_STRING, &(o).net.ip},     \
	{                                                                                          \
		"no-new-keyring", 0, CLI_FLAG, &(o).no_new_keyring                                 \
	}

struct cgroup;

/* An open container: its state directory locked, its state read. */
struct container {
	const struct hull_globals *g;
	struct oci_spec spec;
	bool have_spec;
	struct container_state st;
	int root_fd, dir_fd;
	struct cgroup *cg;
	pid_t pid;	/* the init, while we are its parent (create, run) */
	int pty_master; /* foreground run with a terminal, else -1 */
	struct vm_plan vm;
};

int container_create(const struct hull_globals *g, const struct create_opts *o, struct container *c,
		     struct hull_err *err);
/* Open an existing container; exclusive for commands that change it. */
int container_open(const struct hull_globals *g, const char *id, bool exclusive,
		   struct container *c, struct hull_err *err);
/* The config saved at create time (for hooks after create). */
int container_load_spec(struct container *c, struct hull_err *err);
const char *container_status(const struct container *c);
int container_start(struct container *c, struct hull_err *err);
/* Kill what runs (only with force when running), remove cgroup and state, poststop. */
int container_delete(struct container *c, bool force, struct hull_err *err);
/* Wait for our child init, forwarding signals and relaying the pty; 128+N on signal N. */
int container_wait(struct container *c);
void container_close(struct container *c);
/* "cannot VERB container ID: container not running": runc's words, which containerd's
 * shim matches to tell a finished container from a failure. */
int container_not_running(const char *verb, const char *id, struct hull_err *err);

/* --- image_run.c: `run --image`, over the image store of src/images --- */
struct image_run {
	const char *image; /* SOURCE[:REF] */
	char **cmd;	   /* replaces the image's Cmd when n_cmd > 0 */
	int n_cmd;
	bool terminal; /* -t */
	bool rm;       /* --rm: the container's writes go with it */
};
/* Store the image (or find it stored), make the container's directory in the store
 * with its overlay root and config.json; *bundle gets that directory (malloc'd) and
 * *lock_fd its lock, to hold until the create is done. */
int image_run_prepare(const struct hull_globals *g, const char *id, const struct image_run *o,
		      char **bundle, int *lock_fd, struct hull_err *err);
/* Undo image_run_prepare after the create failed. */
void image_run_abort(const struct hull_globals *g, const char *id, int lock_fd);
/* Unmount and remove the image root of container id; 1 when it has none. Without
 * wait, a `run` still making it is an EBUSY error. */
int image_run_remove(const struct hull_globals *g, const char *id, bool wait, struct hull_err *err);
/* `image ls`, `image rm`, `image prune` (cmd_image_store.c). */
int cmd_image_ls(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_image_rm(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_image_prune(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);

/* --- network*.c: the container's network (src/netsetup underneath) --- */
/* Before clone(): decide, allocate and save the plan in the state dir; may change the
 * spec's namespaces and mounts (in memory). */
int network_prepare(struct container *c, const struct net_opts *o, struct hull_err *err);
/* After clone(), before SYNC_GO: links, addresses, routes, ports in the init's netns. */
int network_setup(struct container *c, struct hull_err *err);
/* linux.netDevices back to the host, while the init (and its netns) still lives. */
void network_detach_devices(struct container *c);
/* Everything else the plan allocated; safe to repeat, and after a crash. */
int network_teardown(struct container *c, struct hull_err *err);

/* --- spawn.c --- */
struct spawn {
	const char *what;	  /* for errors: "the container's init" */
	unsigned long flags;	  /* CLONE_NEW* to create with the child */
	const struct cgroup *cg;  /* the child starts in it, in every hierarchy */
	int pidns_fd;		  /* pid namespace to start in, -1 for ours */
	void (*child)(void *arg); /* the child's entry; must not return */
	void *arg;
};
/* Clone s->child into s->cg and the pid namespace; the child's pid. */
pid_t spawn_into_cgroup(const struct spawn *s, struct hull_err *err);

/* --- init.c: the container's init before execve --- */
struct init_ctx;
/* The clone()d child's entry; never returns. */
__attribute__((noreturn)) void init_main(struct init_ctx *ctx);

/* --- process.c: the final process's attributes --- */
int process_apply_limits(const struct oci_process *p, struct hull_err *err);
int process_set_user(const struct oci_process *p, struct hull_err *err);
/* process.apparmorProfile / selinuxLabel: fail unless the host runs that LSM (as runc
 * does; a label must not be dropped silently). Looks at the host's /sys. */
int process_check_exec_labels(const struct oci_process *p, struct hull_err *err);
/* Write them for the next execve (after process_check_exec_labels). */
int process_write_exec_labels(const struct oci_process *p, struct hull_err *err);
/* Both, for a process set up on the host's /proc and /sys (exec). */
int process_set_exec_labels(const struct oci_process *p, struct hull_err *err);
/* One warning naming the capabilities left out of p (unknown to libcap or the kernel). */
void process_warn_unknown_caps(const struct oci_process *p);
/* process.env plus HOME from the container's /etc/passwd when env has none (as runc
 * does); malloc'd, NULL-terminated. Run inside the container root. */
char **process_env(const struct oci_process *p);
/* Resolve args[0] against PATH from env, inside the container root; malloc'd. */
char *process_find_executable(const struct oci_process *p, struct hull_err *err);

/* --- units.c: runc's value formats --- */
/* A Go duration ("5s", "1m30s", "500ms"), 1 ms or more; in ms, rounded up. */
int units_duration_ms(const char *text, long long *ms, struct hull_err *err);
/* A memory size as runc's update takes it: "-1", or bytes with an optional binary unit
 * (512, 512k, 64m, 1.5g, 64MiB). */
int units_bytes(const char *text, int64_t *v, struct hull_err *err);

/* --- events_json.c: `hull events` lines (malloc'd, one line of JSON each) --- */
struct cgroup_stats;
char *events_stats_json(const char *id, const struct cgroup_stats *s);
char *events_oom_json(const char *id);

/* Everything from personality to no_new_privs, in the order the kernel and the spec
 * need (rlimits and LSM labels come before, from the caller). Fills *exe and *env. */
int process_prepare(const struct oci_process *p, const struct oci_linux *lx, char **exe,
		    char ***env, struct hull_err *err);
/* With no_new_privs the filter is loaded here, just before execve. */
int process_seccomp_last(const struct oci_process *p, const struct oci_linux *lx,
			 struct hull_err *err);
/* Only stdio and the --preserve-fds range reach the process. */
int process_seal_fds(int preserve_fds, struct hull_err *err);

/* --- console.c --- */
/* process.terminal: make the pty inside the container, send its master to console_fd
 * (--console-socket) or else to sync_fd as SYNC_PTY, and make the slave our terminal. */
int console_hand_over(const struct oci_process *p, int console_fd, int sync_fd,
		      struct hull_err *err);
/* Open a pty pair inside the container; returns the master, *slave gets the slave. */
int console_open(const struct oci_process *p, int *slave, struct hull_err *err);
int console_make_controlling(int slave, struct hull_err *err);
int console_send_fd(int sock, int fd, struct hull_err *err);
int console_recv_fd(int sock, struct hull_err *err);
int console_connect(const char *path, struct hull_err *err);
/* Copy between our stdio and the pty master until the master closes. */
void console_relay(int master);
