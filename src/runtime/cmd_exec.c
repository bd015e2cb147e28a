/* `exec`: run one more process in a created or running container. This file turns the
 * command line into the process to run (from --process FILE, or from the container's own
 * process with the options applied, as runc does); exec.c joins and runs it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "exec.h"
#include "common/log.h"
#include "runtime.h"
#include "security/security.h"
#include "spec.h"

struct exec_cli {
	const char *process_file, *console_socket, *pid_file, *cwd, *user, *cgroup;
	const char *apparmor, *label;
	struct cli_strings env, gids, caps;
	int preserve_fds;
	bool tty, detach, no_new_privs, ignore_paused;
	char **args; /* the command after the id, NULL-terminated (argv's tail) */
	size_t n_args;
};

static void exec_cli_free(struct exec_cli *o)
{
	free(o->env.items);
	free(o->gids.items);
	free(o->caps.items);
}

static void container_closep(struct container *c)
{
	container_close(c);
}

/* What only makes sense for a process built from the container's own. */
static bool has_process_options(const struct exec_cli *o)
{
	return o->tty || o->cwd || o->user || o->apparmor || o->label || o->no_new_privs ||
	       o->env.n || o->gids.n || o->caps.n;
}

static int check_combination(const struct exec_cli *o, struct hull_err *err)
{
	if (o->process_file != NULL && o->n_args > 0)
		return hull_error(err, 0, "exec: give either --process or a command, not both");
	if (o->process_file == NULL && o->n_args == 0)
		return hull_error(err, 0, "exec: missing command (or --process FILE)");
	/* The file describes the whole process. Clients send both anyway (podman: --process
	 * with --tty), and runc ignores the flags then: so do we, and say so in the log. */
	if (o->process_file != NULL && has_process_options(o))
		log_msg(LOG_DEBUG, "exec: --process given: -t, -e, --cwd, -u, -g, --cap, "
				   "--no-new-privs, --apparmor and --process-label are ignored");
	return 0;
}

/* "KEY=VALUE" replaces KEY where the config sets it, else is appended. */
static int apply_env(const struct exec_cli *o, struct arena *a, struct oci_process *p,
		     struct hull_err *err)
{
	char **env = arena_alloc(a, (p->n_env + (size_t)o->env.n + 1) * sizeof *env);
	memcpy(env, p->env, p->n_env * sizeof *env);
	size_t n = p->n_env;
	for (int i = 0; i < o->env.n; i++) {
		const char *kv = o->env.items[i], *eq = strchr(kv, '=');
		if (eq == NULL || eq == kv)
			return hull_error(err, 0, "--env: must be KEY=VALUE, not \"%s\"", kv);
		size_t klen = (size_t)(eq - kv) + 1, j = 0;
		while (j < n && strncmp(env[j], kv, klen) != 0)
			j++;
		env[j] = arena_strdup(a, kv);
		n += j == n;
	}
	p->env = env;
	p->n_env = n;
	return 0;
}

static int parse_id(const char *text, const char *what, uint32_t *out, struct hull_err *err)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	/* (uid_t)-1 means "unchanged" to setresuid(2): never a real id. */
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v >= UINT32_MAX)
		return hull_error(err, 0, "%s: not a numeric id: \"%s\"", what, text);
	*out = (uint32_t)v;
	return 0;
}

/* -u uid[:gid] (the config's gid stays without one) and -g appended, as in runc. */
static int apply_user(const struct exec_cli *o, struct arena *a, struct oci_process *p,
		      struct hull_err *err)
{
	if (o->user != NULL) {
		_cleanup_free_ char *copy = strdup(o->user);
		if (copy == NULL)
			return hull_error(err, ENOMEM, "--user");
		char *gid = strchr(copy, ':');
		if (gid != NULL)
			*gid++ = '\0';
		uint32_t id = 0;
		if (parse_id(copy, "--user", &id, err) < 0)
			return -1;
		p->uid = id;
		if (gid != NULL && parse_id(gid, "--user", &id, err) < 0)
			return -1;
		if (gid != NULL)
			p->gid = id;
	}
	if (o->gids.n == 0)
		return 0;
	gid_t *gids = arena_alloc(a, (p->n_additional_gids + (size_t)o->gids.n + 1) * sizeof *gids);
	memcpy(gids, p->additional_gids, p->n_additional_gids * sizeof *gids);
	for (int i = 0; i < o->gids.n; i++) {
		uint32_t id = 0;
		if (parse_id(o->gids.items[i], "--additional-gids", &id, err) < 0)
			return -1;
		gids[p->n_additional_gids++] = id;
	}
	p->additional_gids = gids;
	return 0;
}

/* --cap adds to bounding, effective and permitted. Not to inheritable (CVE-2022-29162:
 * that lets file capabilities grow at execve); to ambient only when the process already
 * has inheritable ones, as runc does since 1.2. */
static int apply_caps(const struct exec_cli *o, struct arena *a, struct oci_process *p)
{
	if (o->caps.n > 0 && !p->has_caps) {
		p->has_caps = true;
		p->caps = (struct oci_caps){0};
	}
	for (int i = 0; i < o->caps.n; i++) {
		const char *name = o->caps.items[i];
		char full[64];
		bool prefixed = strncasecmp(name, "CAP_", 4) == 0;
		snprintf(full, sizeof full, "%s%s", prefixed ? "" : "CAP_", name);
		int cap = sec_cap_from_name(full);
		if (cap < 0 || cap > 63) {
			spec_caps_note_unknown(a, &p->caps, full); /* warned of with the config's */
			continue;
		}
		uint64_t bit = UINT64_C(1) << cap;
		p->caps.bounding |= bit;
		p->caps.effective |= bit;
		p->caps.permitted |= bit;
		if (p->caps.inheritable != 0)
			p->caps.ambient |= bit;
	}
	return 0;
}

/* The container's process with the command line's changes. */
static int process_from_config(struct container *c, const struct exec_cli *o, struct arena *a,
			       struct oci_process *p, struct hull_err *err)
{
	if (container_load_spec(c, err) < 0)
		return -1;
	if (!c->spec.has_process)
		return hull_error(err, 0, "container %s: its config has no process to start from",
				  c->st.id);
	*p = c->spec.process;
	p->args = o->args;
	p->n_args = o->n_args;
	p->terminal = o->tty;
	if (o->cwd != NULL && o->cwd[0] != '/')
		return hull_error(err, 0, "--cwd: must be an absolute path, not \"%s\"", o->cwd);
	if (o->cwd != NULL)
		p->cwd = arena_strdup(a, o->cwd);
	if (apply_env(o, a, p, err) < 0 || apply_user(o, a, p, err) < 0 || apply_caps(o, a, p) < 0)
		return -1;
	p->no_new_privileges |= o->no_new_privs;
	if (o->apparmor != NULL)
		p->apparmor_profile = arena_strdup(a, o->apparmor);
	if (o->label != NULL)
		p->selinux_label = arena_strdup(a, o->label);
	return 0;
}

static int process_from_file(const char *path, struct arena *a, struct oci_process *p,
			     struct hull_err *err)
{
	_cleanup_free_ char *text = NULL, *what = NULL;
	size_t len = 0;
	if (json_read_file(path, &text, &len, err) < 0)
		return hull_error_wrap(err, "--process");
	if (memchr(text, '\0', len) != NULL)
		return hull_error(err, 0, "--process %s: invalid JSON: contains a NUL byte", path);
	if (asprintf(&what, "--process %s", path) < 0)
		return hull_error(err, ENOMEM, "--process");
	return spec_parse_process_text(text, what, a, p, err);
}

static int check_terminal(const struct exec_cli *o, const struct oci_process *p,
			  struct hull_err *err)
{
	/* Nobody would be there to take the pty's other end. */
	if (p->terminal && o->detach && o->console_socket == NULL)
		return hull_error(err, 0, "exec: a terminal with --detach needs --console-socket");
	if (!p->terminal && o->console_socket != NULL)
		return hull_error(err, 0, "--console-socket given but process.terminal is false");
	return 0;
}

static int exec_container(const struct hull_globals *g, const char *id, const struct exec_cli *o,
			  struct hull_err *err)
{
	/* Shared: other commands (state, another exec) may run alongside; delete waits. */
	__attribute__((cleanup(container_closep))) struct container c = {
	    .root_fd = -1, .dir_fd = -1, .pty_master = -1};
	if (container_open(g, id, false, &c, err) < 0 ||
	    exec_check_state(&c, o->ignore_paused, err) < 0)
		return -1;
	struct arena a = {0};
	struct oci_process p;
	int r = o->process_file ? process_from_file(o->process_file, &a, &p, err)
				: process_from_config(&c, o, &a, &p, err);
	if (r == 0)
		r = check_terminal(o, &p, err);
	if (r == 0) {
		process_warn_unknown_caps(&p);
		p.keyring_id = c.st.no_new_keyring ? NULL : c.st.id;
		struct exec_req req = {.proc = &p,
				       .console_socket = o->console_socket,
				       .pid_file = o->pid_file,
				       .sub_cgroup = o->cgroup,
				       .preserve_fds = o->preserve_fds,
				       .detach = o->detach,
				       .ignore_paused = o->ignore_paused};
		r = exec_run(&c, &req, err);
	}
	arena_free(&a);
	return r;
}

int cmd_exec(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	__attribute__((cleanup(exec_cli_free))) struct exec_cli o = {0};
	const struct cli_opt opts[] = {
	    {"process", 'p', CLI_STRING, &o.process_file},
	    {"tty", 't', CLI_FLAG, &o.tty},
	    {"console-socket", 0, CLI_STRING, &o.console_socket},
	    {"detach", 'd', CLI_FLAG, &o.detach},
	    {"pid-file", 0, CLI_STRING, &o.pid_file},
	    {"env", 'e', CLI_STRINGS, &o.env},
	    {"cwd", 0, CLI_STRING, &o.cwd},
	    {"user", 'u', CLI_STRING, &o.user},
	    {"additional-gids", 'g', CLI_STRINGS, &o.gids},
	    {"cap", 'c', CLI_STRINGS, &o.caps},
	    {"no-new-privs", 0, CLI_FLAG, &o.no_new_privs},
	    {"preserve-fds", 0, CLI_INT, &o.preserve_fds},
	    {"cgroup", 0, CLI_STRING, &o.cgroup},
	    {"apparmor", 0, CLI_STRING, &o.apparmor},
	    {"process-label", 0, CLI_STRING, &o.label},
	    {"ignore-paused", 0, CLI_FLAG, &o.ignore_paused},
	    {0},
	};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0)
		return -1;
	if (first >= argc)
		return hull_error(err, 0, "exec: missing container id");
	o.args = argv + first + 1;
	o.n_args = (size_t)(argc - first - 1);
	/* runc's usage: exec [options] ID [--] COMMAND [ARG...] */
	if (o.n_args > 0 && strcmp(o.args[0], "--") == 0) {
		o.args++;
		o.n_args--;
	}
	if (check_combination(&o, err) < 0 || state_validate_id(argv[first], err) < 0)
		return -1;
	return exec_container(g, argv[first], &o, err);
}
