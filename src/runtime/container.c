/* `create`: everything up to the container's init waiting on its exec fifo. The parent
 * prepares (state dir, cgroup, fifo), clones the init into its namespaces, writes its id
 * maps and moves it into the cgroup, runs the runtime-side hooks when the init asks, and
 * records the state. Any failure undoes all of it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "init.h"
#include "namespaces/namespaces.h"
#include "runtime.h"
#include "spec.h"
#include "sync.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Namespaces clone() can make at once; cgroup and time come later, from the init. */
#define CLONE_AT_ONCE                                                                              \
	(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWUSER)

static bool ns_new(const struct oci_spec *spec, int type)
{
	const struct oci_namespace *ns = oci_namespace(spec, type);
	return ns != NULL && ns->path == NULL;
}

/* Decide which namespaces clone() makes and which the init makes after joining others. */
static int plan_namespaces(const struct oci_spec *spec, struct init_ctx *ctx, struct hull_err *err)
{
	unsigned long fresh = 0;
	bool other_paths = false;
	for (size_t i = 0; i < spec->linux_cfg.n_namespaces; i++) {
		const struct oci_namespace *ns = &spec->linux_cfg.namespaces[i];
		if (ns->path == NULL)
			fresh |= (unsigned long)ns->type & CLONE_AT_ONCE;
		else if (ns->type != CLONE_NEWUSER && ns->type != CLONE_NEWPID)
			other_paths = true;
	}
	if (!ns_new(spec, CLONE_NEWNS))
		return hull_error(err, 0, "linux.namespaces: hull needs a new mount namespace");
	const struct oci_namespace *user = oci_namespace(spec, CLONE_NEWUSER);
	if (user != NULL && user->path != NULL) {
		/* A pid namespace must be made after the user namespace that will own it. */
		if (fresh & CLONE_NEWPID)
			return hull_error(err, 0,
					  "linux.namespaces: a new pid namespace inside a "
					  "joined user namespace is not supported yet");
		ctx->unshare_flags = fresh;
		return 0;
	}
	if (user != NULL && other_paths)
		return hull_error(err, 0,
				  "linux.namespaces: joining namespaces by path together "
				  "with a new user namespace is not supported yet");
	ctx->clone_flags = fresh;
	return 0;
}

static void log_namespaces(const struct oci_spec *spec)
{
	for (size_t i = 0; i < spec->linux_cfg.n_namespaces; i++) {
		const struct oci_namespace *ns = &spec->linux_cfg.namespaces[i];
		if (ns->path == NULL)
			log_msg(LOG_DEBUG, "namespace %s: new", ns_name(ns->type));
		else
			log_msg(LOG_DEBUG, "namespace %s: join %s", ns_name(ns->type), ns->path);
	}
}

static char *annotations_json(const struct oci_spec *spec)
{
	yajl_gen g = json_gen_new(0);
	yajl_gen_map_open(g);
	for (size_t i = 0; i < spec->n_annotations; i++)
		json_key_str(g, spec->annotations[i].key, spec->annotations[i].value);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

static void fill_state(struct container *c, const char *id)
{
	char created[64];
	clock_rfc3339_now(created, sizeof created);
	c->st.oci_version = strdup(c->spec.oci_version);
	c->st.id = strdup(id);
	c->st.bundle = strdup(c->spec.bundle);
	c->st.rootfs = strdup(c->spec.root_path);
	c->st.created = strdup(created);
	c->st.owner = strdup("");
	c->st.annotations_json = annotations_json(&c->spec);
}

static int write_file_at(int dir_fd, const char *name, const char *text, mode_t mode,
			 struct hull_err *err)
{
	_cleanup_close_ int fd =
	    openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return hull_error(err, errno, "write %s", name);
	return 0;
}

static void init_entry(void *ctx)
{
	init_main(ctx);
}

static pid_t spawn_init(struct init_ctx *ctx, const struct cgroup *cg, struct hull_err *err)
{
	const struct oci_namespace *pidns = oci_namespace(ctx->spec, CLONE_NEWPID);
	_cleanup_close_ int pidns_fd = -1;
	if (pidns != NULL && pidns->path != NULL) {
		pidns_fd = open(pidns->path, O_RDONLY | O_CLOEXEC);
		if (pidns_fd < 0)
			return hull_error(err, errno, "linux.namespaces: pid: open %s",
					  pidns->path);
	}
	struct spawn s = {.what = "the container's init",
			  .flags = ctx->clone_flags,
			  .cg = cg,
			  .pidns_fd = pidns_fd,
			  .child = init_entry,
			  .arg = ctx};
	return spawn_into_cgroup(&s, err);
}

static int write_oom_score_adj(const struct oci_spec *spec, pid_t pid, struct hull_err *err)
{
	if (!spec->process.has_oom_score_adj)
		return 0;
	char path[64], text[16];
	snprintf(path, sizeof path, "/proc/%d/oom_score_adj", pid);
	snprintf(text, sizeof text, "%d", spec->process.oom_score_adj);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		return hull_error(err, errno, "process.oomScoreAdj");
	return 0;
}

static int run_runtime_hooks(struct container *c, int sock, struct hull_err *err)
{
	_cleanup_free_ char *state = state_oci_json(&c->st, "creating", false);
	_cleanup_free_ char *created = state_oci_json(&c->st, "created", false);
	if (hooks_run(&c->spec.hooks[HOOK_PRESTART], "prestart", state, err) < 0 ||
	    hooks_run(&c->spec.hooks[HOOK_CREATE_RUNTIME], "createRuntime", state, err) < 0)
		return -1;
	if (sync_send(sock, SYNC_HOOKS_DONE, 0, state, err) < 0)
		return -1;
	return sync_send(sock, SYNC_STATE_CREATED, 0, created, err);
}

/* Answer the init until it is ready (or fails: its message becomes ours). */
static int supervise_setup(struct container *c, int sock, struct hull_err *err)
{
	if (oci_namespace(&c->spec, CLONE_NEWUSER) &&
	    !oci_namespace(&c->spec, CLONE_NEWUSER)->path &&
	    ns_write_id_maps(c->pid, &c->spec, err) < 0)
		return -1;
	if (write_oom_score_adj(&c->spec, c->pid, err) < 0 || network_setup(c, err) < 0)
		return -1;
	if (sync_send(sock, SYNC_GO, 0, NULL, err) < 0)
		return -1;
	for (;;) {
		struct sync_msg msg;
		if (sync_recv(sock, &msg, err) < 0)
			return -1;
		switch (msg.type) {
		case SYNC_CREATE_RUNTIME:
			if (run_runtime_hooks(c, sock, err) < 0)
				return -1;
			break;
		case SYNC_PTY:
			c->pty_master = console_recv_fd(sock, err);
			if (c->pty_master < 0)
				return -1;
			break;
		case SYNC_READY:
			return 0;
		case SYNC_ERROR:
			return hull_error(err, msg.code, "%s", msg.text);
		default:
			return hull_error(err, EPROTO, "unexpected message from container init");
		}
	}
}

static int check_terminal(const struct oci_spec *spec, const struct create_opts *o,
			  struct hull_err *err)
{
	if (!spec->has_process)
		return hull_error(err, 0, "config.json: process: required to create a container");
	if (spec->process.terminal && o->console_socket == NULL && !o->foreground)
		return hull_error(err, 0,
				  "--console-socket is required when process.terminal "
				  "is true");
	if (!spec->process.terminal && o->console_socket != NULL)
		return hull_error(err, 0, "--console-socket given but process.terminal is false");
	return 0;
}

/* Undo a create that failed at any step. */
static void create_abort(struct container *c)
{
	struct hull_err ignored = {0};
	if (c->dir_fd >= 0 && c->pid > 0)
		network_detach_devices(c);
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
	if (c->cg != NULL) {
		cgroup_destroy(c->cg, &ignored);
		c->cg = NULL;
	}
	if (c->dir_fd >= 0 && network_teardown(c, &ignored) < 0)
		log_msg(LOG_WARN, "%s", hull_err_text(&ignored));
	if (c->dir_fd >= 0 && c->st.id != NULL)
		state_dir_remove(c->root_fd, c->st.id, &ignored);
	hull_err_clear(&ignored);
}

/* The systemd driver places a container by asking systemd over D-Bus; doing it by hand
 * instead would leave systemd's view of the cgroup tree wrong, so refuse clearly. */
static int check_cgroup_driver(const struct hull_globals *g, struct hull_err *err)
{
	if (!g->systemd_cgroup)
		return 0;
	if (access("/run/systemd/system", F_OK) < 0)
		return hull_error(err, 0,
				  "--systemd-cgroup: this host is not run by systemd (no "
				  "/run/systemd/system), so there is no systemd D-Bus to "
				  "place the container; leave the flag out to use cgroupfs");
	return hull_error(err, 0,
			  "--systemd-cgroup: placing containers through systemd's "
			  "D-Bus is not supported yet; leave the flag out to use cgroupfs");
}

/* Everything before clone(): spec, state dir, cgroup, the fifo. */
static int create_prepare(struct container *c, const struct create_opts *o, char **raw,
			  struct hull_err *err)
{
	if (state_validate_id(o->id, err) < 0)
		return -1;
	if (spec_load(o->bundle ? o->bundle : ".", &c->spec, raw, err) < 0)
		return -1;
	c->have_spec = true;
	log_msg(LOG_DEBUG, "create: container %s from bundle %s", o->id, c->spec.bundle);
	process_warn_unknown_caps(&c->spec.process);
	if (check_terminal(&c->spec, o, err) < 0 || check_cgroup_driver(c->g, err) < 0 ||
	    vm_mode_plan(&c->spec, c->g->as_hull_vm, &c->vm, err) < 0)
		return -1;
	if (c->vm.on)
		log_msg(LOG_DEBUG, "vm mode: kernel %s, %u cpus, %u MiB", c->vm.kernel, c->vm.cpus,
			c->vm.memory_mib);
	c->root_fd = state_root_open(c->g->root, err);
	if (c->root_fd < 0)
		return -1;
	c->dir_fd = state_dir_create(c->root_fd, o->id, err);
	if (c->dir_fd < 0)
		return -1;
	fill_state(c, o->id);
	c->st.no_new_keyring = o->no_new_keyring;
	c->spec.process.keyring_id = o->no_new_keyring ? NULL : c->st.id;
	c->cg = cgroup_create(c->spec.linux_cfg.cgroups_path, o->id, err);
	if (c->cg == NULL)
		return -1;
	c->st.cgroup = strdup(cgroup_path(c->cg));
	log_msg(LOG_DEBUG, "cgroup %s (%s)", c->st.cgroup, cgroup_host_layout());
	/* Limits hold before the init exists, so no user code ever runs unlimited. */
	if (c->spec.linux_cfg.resources &&
	    cgroup_apply(c->cg, c->spec.linux_cfg.resources, err) < 0)
		return -1;
	/* Saved now so that `delete --force` finds the cgroup if this process dies. */
	if (state_write(c->dir_fd, &c->st, err) < 0 ||
	    write_file_at(c->dir_fd, CONFIG_COPY, *raw, 0600, err) < 0 ||
	    network_prepare(c, &o->net, err) < 0)
		return -1;
	/* 0622: the init reopens it for writing after switching to the container's user. */
	if (mkfifoat(c->dir_fd, EXEC_FIFO, 0622) < 0 || fchmodat(c->dir_fd, EXEC_FIFO, 0622, 0) < 0)
		return hull_error(err, errno, "create %s", EXEC_FIFO);
	return 0;
}

static int create_spawn(struct container *c, const struct create_opts *o, struct hull_err *err)
{
	struct init_ctx ctx = {.spec = &c->spec,
			       .console_fd = -1,
			       .no_pivot = o->no_pivot,
			       .preserve_fds = o->preserve_fds,
			       .parent = getpid(),
			       .pty_to_parent = o->foreground && o->console_socket == NULL,
			       .vm = &c->vm,
			       .close_fds = {-1, -1, -1, -1}};
	if (plan_namespaces(&c->spec, &ctx, err) < 0)
		return -1;
	log_namespaces(&c->spec);
	_cleanup_close_ int console = -1, fifo = openat(c->dir_fd, EXEC_FIFO, O_PATH | O_CLOEXEC);
	if (fifo < 0)
		return hull_error(err, errno, "open %s", EXEC_FIFO);
	if (o->console_socket && (console = console_connect(o->console_socket, err)) < 0)
		return -1;
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return hull_error(err, errno, "socketpair");
	_cleanup_close_ int sock = pair[0], child_sock = pair[1];
	if (cgroup_view(c->cg, &ctx.cgroups, err) < 0)
		return -1;
	ctx.sync_fd = child_sock;
	ctx.fifo_fd = fifo;
	ctx.console_fd = console;
	ctx.close_fds[0] = c->dir_fd;
	ctx.close_fds[1] = c->root_fd;
	ctx.close_fds[2] = sock;
	c->pid = spawn_init(&ctx, c->cg, err);
	cgroup_view_free(&ctx.cgroups);
	if (c->pid < 0) {
		c->pid = 0;
		return -1;
	}
	close(steal_fd(&child_sock));
	c->st.pid = c->pid;
	c->st.pid_start = proc_start_time(c->pid);
	log_msg(LOG_DEBUG, "init pid %d", c->pid);
	return supervise_setup(c, sock, err);
}

static int create_steps(struct container *c, const struct create_opts *o, struct hull_err *err)
{
	_cleanup_free_ char *raw = NULL;
	if (create_prepare(c, o, &raw, err) < 0 || create_spawn(c, o, err) < 0)
		return -1;
	c->st.created_ok = true;
	if (state_write(c->dir_fd, &c->st, err) < 0)
		return -1;
	if (o->pid_file && state_write_pid_file(o->pid_file, c->pid, err) < 0)
		return -1;
	return 0;
}

int container_create(const struct hull_globals *g, const struct create_opts *o, struct container *c,
		     struct hull_err *err)
{
	*c = (struct container){.g = g, .root_fd = -1, .dir_fd = -1, .pty_master = -1};
	if (create_steps(c, o, err) < 0) {
		create_abort(c);
		return -1;
	}
	return 0;
}
