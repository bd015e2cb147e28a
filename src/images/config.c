/* Image config (image-spec config.md) to runtime config: hull's defaults, what `hull
 * spec` writes, with the image's process (Entrypoint+Cmd, Env, WorkingDir, User) and
 * its labels and StopSignal as annotations (image-spec conversion.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/safepath.h"
#include "internal.h"

#define MAX_ACCOUNT_FILE (4 << 20)

struct conv {
	yajl_val cfg; /* the image config's "config" object, or NULL */
	struct image_user user;
	const struct image_config_opts *o; /* NULL: none */
};

static yajl_val cfg_array(yajl_val cfg, const char *key)
{
	yajl_val v = json_get(cfg, key);
	return v != NULL && YAJL_IS_ARRAY(v) ? v : NULL;
}

static void emit_strings(yajl_gen g, yajl_val arr)
{
	for (size_t i = 0; arr != NULL && i < arr->u.array.len; i++)
		if (YAJL_IS_STRING(arr->u.array.values[i]))
			json_str(g, YAJL_GET_STRING(arr->u.array.values[i]));
}

/* A command given to `run` replaces Cmd and keeps Entrypoint, as docker and podman do. */
static void emit_args(yajl_gen g, const struct conv *c, yajl_val dflt)
{
	yajl_val ep = cfg_array(c->cfg, "Entrypoint"), cmd = cfg_array(c->cfg, "Cmd");
	bool own = c->o != NULL && c->o->n_cmd > 0;
	size_t n_ep = ep ? ep->u.array.len : 0, n_cmd = own   ? c->o->n_cmd
							: cmd ? cmd->u.array.len
							      : 0;
	if (n_ep == 0 && n_cmd == 0) {
		image_emit_json(g, dflt);
		return;
	}
	yajl_gen_array_open(g);
	emit_strings(g, ep);
	if (own)
		for (size_t i = 0; i < c->o->n_cmd; i++)
			json_str(g, c->o->cmd[i]);
	else
		emit_strings(g, cmd);
	yajl_gen_array_close(g);
}

static bool env_overridden(yajl_val env, const char *var)
{
	size_t n = strcspn(var, "=");
	for (size_t i = 0; env != NULL && i < env->u.array.len; i++) {
		const char *s = YAJL_GET_STRING(env->u.array.values[i]);
		if (s != NULL && strncmp(s, var, n) == 0 && (s[n] == '=' || s[n] == '\0'))
			return true;
	}
	return false;
}

/* hull's defaults, the image's Env over them, then HOME from passwd when unset. */
static void emit_env(yajl_gen g, const struct conv *c, yajl_val dflt)
{
	yajl_val env = cfg_array(c->cfg, "Env");
	yajl_gen_array_open(g);
	for (size_t i = 0; dflt != NULL && YAJL_IS_ARRAY(dflt) && i < dflt->u.array.len; i++) {
		const char *s = YAJL_GET_STRING(dflt->u.array.values[i]);
		if (s != NULL && !env_overridden(env, s))
			json_str(g, s);
	}
	emit_strings(g, env);
	if (c->user.home != NULL && !env_overridden(env, "HOME")) {
		_cleanup_free_ char *home = NULL;
		if (asprintf(&home, "HOME=%s", c->user.home) >= 0)
			json_str(g, home);
	}
	yajl_gen_array_close(g);
}

static void emit_user(yajl_gen g, const struct conv *c)
{
	yajl_gen_map_open(g);
	json_key_int(g, "uid", c->user.uid);
	json_key_int(g, "gid", c->user.gid);
	if (c->user.n_gids > 0) {
		json_key(g, "additionalGids");
		yajl_gen_array_open(g);
		for (size_t i = 0; i < c->user.n_gids; i++)
			yajl_gen_integer(g, c->user.gids[i]);
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
}

static void emit_process(yajl_gen g, const struct conv *c, yajl_val proc)
{
	const char *cwd = image_json_str(c->cfg, "WorkingDir");
	yajl_gen_map_open(g);
	for (size_t i = 0; i < proc->u.object.len; i++) {
		const char *k = proc->u.object.keys[i];
		yajl_val v = proc->u.object.values[i];
		json_key(g, k);
		if (strcmp(k, "terminal") == 0)
			yajl_gen_bool(g, c->o != NULL && c->o->terminal);
		else if (strcmp(k, "user") == 0)
			emit_user(g, c);
		else if (strcmp(k, "args") == 0)
			emit_args(g, c, v);
		else if (strcmp(k, "env") == 0)
			emit_env(g, c, v);
		else if (strcmp(k, "cwd") == 0)
			json_str(g, cwd && cwd[0] == '/' ? cwd : "/");
		else
			image_emit_json(g, v);
	}
	yajl_gen_map_close(g);
}

static void emit_annotations(yajl_gen g, const struct conv *c)
{
	yajl_val labels = json_get(c->cfg, "Labels");
	const char *stop = image_json_str(c->cfg, "StopSignal");
	json_key(g, "annotations");
	yajl_gen_map_open(g);
	for (size_t i = 0; labels && YAJL_IS_OBJECT(labels) && i < labels->u.object.len; i++)
		if (YAJL_IS_STRING(labels->u.object.values[i]))
			json_key_str(g, labels->u.object.keys[i],
				     YAJL_GET_STRING(labels->u.object.values[i]));
	if (stop != NULL)
		json_key_str(g, "org.opencontainers.image.stopSignal", stop);
	for (const char *const *a = c->o ? c->o->annotations : NULL; a && a[0] && a[1]; a += 2)
		json_key_str(g, a[0], a[1]);
	yajl_gen_map_close(g);
}

static void emit_root_writable(yajl_gen g, yajl_val root)
{
	yajl_gen_map_open(g);
	for (size_t i = 0; i < root->u.object.len; i++) {
		json_key(g, root->u.object.keys[i]);
		if (strcmp(root->u.object.keys[i], "readonly") == 0)
			yajl_gen_bool(g, 0);
		else
			image_emit_json(g, root->u.object.values[i]);
	}
	yajl_gen_map_close(g);
}

static char *emit_config(const struct conv *c, yajl_val dflt)
{
	yajl_gen g = json_gen_new(1);
	yajl_gen_map_open(g);
	for (size_t i = 0; i < dflt->u.object.len; i++) {
		const char *k = dflt->u.object.keys[i];
		yajl_val v = dflt->u.object.values[i];
		if (strcmp(k, "annotations") == 0)
			continue;
		json_key(g, k);
		if (strcmp(k, "process") == 0 && YAJL_IS_OBJECT(v))
			emit_process(g, c, v);
		else if (strcmp(k, "root") == 0 && YAJL_IS_OBJECT(v) && c->o && c->o->writable)
			emit_root_writable(g, v);
		else
			image_emit_json(g, v);
	}
	emit_annotations(g, c);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

/* /etc/passwd or /etc/group of the image, or NULL when it has none. */
static char *read_account_file(int root_fd, const char *path)
{
	struct hull_err ignored = {0};
	_cleanup_close_ int fd =
	    root_fd < 0 ? -1 : safe_open_in_root(root_fd, path, O_RDONLY, &ignored);
	hull_err_clear(&ignored);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_ACCOUNT_FILE)
		return NULL;
	char *buf = calloc(1, (size_t)st.st_size + 1);
	if (buf != NULL && read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		return NULL;
	}
	return buf;
}

static char *convert(yajl_val img, yajl_val dflt, int root_fd, const struct image_config_opts *o,
		     struct hull_err *err)
{
	struct conv c = {.cfg = json_get(img, "config"), .o = o};
	_cleanup_free_ char *passwd = read_account_file(root_fd, "/etc/passwd");
	_cleanup_free_ char *group = read_account_file(root_fd, "/etc/group");
	if (image_resolve_user(image_json_str(c.cfg, "User"), passwd, group, &c.user, err) < 0)
		return NULL;
	char *out = emit_config(&c, dflt);
	image_user_free(&c.user);
	return out;
}

char *image_runtime_config(const char *image_config, const char *default_config, int root_fd,
			   struct hull_err *err)
{
	return image_container_config(image_config, default_config, root_fd, NULL, err);
}

char *image_container_config(const char *image_config, const char *default_config, int root_fd,
			     const struct image_config_opts *o, struct hull_err *err)
{
	yajl_val img = json_parse(image_config, err);
	yajl_val dflt = img ? json_parse(default_config, err) : NULL;
	char *out = NULL;
	if (img == NULL || dflt == NULL || !YAJL_IS_OBJECT(dflt))
		hull_error_wrap(err, "image config");
	else
		out = convert(img, dflt, root_fd, o, err);
	yajl_tree_free(img);
	yajl_tree_free(dflt);
	return out;
}
