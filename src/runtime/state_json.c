/* state.json on disk, and the OCI state document shown to hooks and `hull state`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "runtime.h"
#include "spec.h"

static void gen_raw_object(yajl_gen g, const char *text);

int state_write(int dir_fd, const struct container_state *st, struct hull_err *err)
{
	yajl_gen g = json_gen_new(0);
	yajl_gen_map_open(g);
	json_key_str(g, "ociVersion", st->oci_version);
	json_key_str(g, "id", st->id);
	json_key_int(g, "pid", st->pid);
	json_key_int(g, "pidStart", (long long)st->pid_start);
	json_key_str(g, "bundle", st->bundle);
	json_key_str(g, "rootfs", st->rootfs);
	json_key_str(g, "created", st->created);
	json_key_str(g, "owner", st->owner);
	json_key_str(g, "cgroup", st->cgroup);
	json_key(g, "annotations");
	gen_raw_object(g, st->annotations_json);
	json_key_bool(g, "createdOk", st->created_ok);
	json_key_bool(g, "noNewKeyring", st->no_new_keyring);
	yajl_gen_map_close(g);
	_cleanup_free_ char *text = json_gen_finish(g);

	/* Write then rename, so a reader never sees half a file. */
	_cleanup_close_ int fd =
	    openat(dir_fd, STATE_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return hull_error(err, errno, "write %s", STATE_FILE);
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		return hull_error(err, errno, "write %s", STATE_FILE);
	if (renameat(dir_fd, STATE_FILE ".tmp", dir_fd, STATE_FILE) < 0)
		return hull_error(err, errno, "rename %s", STATE_FILE);
	return 0;
}

static char *dup_str(yajl_val root, const char *key)
{
	yajl_val v = json_get(root, key);
	const char *s = YAJL_IS_STRING(v) ? v->u.string : NULL;
	return s ? strdup(s) : NULL;
}

/* Re-emit a parsed object as text (annotations travel as text inside the struct). */
static void gen_value(yajl_gen g, yajl_val v)
{
	if (YAJL_IS_OBJECT(v)) {
		yajl_gen_map_open(g);
		for (size_t i = 0; i < v->u.object.len; i++) {
			json_key(g, v->u.object.keys[i]);
			gen_value(g, v->u.object.values[i]);
		}
		yajl_gen_map_close(g);
	} else if (YAJL_IS_STRING(v)) {
		json_str(g, YAJL_GET_STRING(v));
	} else {
		yajl_gen_null(g);
	}
}

static void gen_raw_object(yajl_gen g, const char *text)
{
	yajl_val v = text ? yajl_tree_parse(text, NULL, 0) : NULL;
	if (YAJL_IS_OBJECT(v)) {
		gen_value(g, v);
	} else {
		yajl_gen_map_open(g);
		yajl_gen_map_close(g);
	}
	yajl_tree_free(v);
}

int state_read(int dir_fd, struct container_state *st, struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	memset(st, 0, sizeof *st);
	if (json_read_fileat(dir_fd, STATE_FILE, &text, NULL, err) < 0) {
		/* A create still running, or one that died before writing its state. */
		if (err->code == ENOENT)
			return 0;
		return -1;
	}
	yajl_val root = json_parse(text, err);
	if (root == NULL)
		return hull_error_wrap(err, "%s", STATE_FILE);
	st->oci_version = dup_str(root, "ociVersion");
	st->id = dup_str(root, "id");
	yajl_val pid = json_get(root, "pid"), start = json_get(root, "pidStart");
	st->pid = YAJL_IS_INTEGER(pid) ? (pid_t)YAJL_GET_INTEGER(pid) : 0;
	st->pid_start = YAJL_IS_INTEGER(start) ? (unsigned long long)YAJL_GET_INTEGER(start) : 0;
	st->bundle = dup_str(root, "bundle");
	st->rootfs = dup_str(root, "rootfs");
	st->created = dup_str(root, "created");
	st->owner = dup_str(root, "owner");
	st->cgroup = dup_str(root, "cgroup");
	yajl_gen g = json_gen_new(0);
	gen_value(g, json_get(root, "annotations"));
	st->annotations_json = json_gen_finish(g);
	st->created_ok = YAJL_IS_TRUE(json_get(root, "createdOk"));
	st->no_new_keyring = YAJL_IS_TRUE(json_get(root, "noNewKeyring"));
	yajl_tree_free(root);
	return 0;
}

void state_free(struct container_state *st)
{
	free(st->oci_version);
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->owner);
	free(st->cgroup);
	free(st->annotations_json);
	memset(st, 0, sizeof *st);
}

char *state_oci_json(const struct container_state *st, const char *status, bool pretty)
{
	yajl_gen g = json_gen_new(pretty);
	yajl_gen_map_open(g);
	/* The version this document follows (state.md), as runc reports its own: not the
	 * config's, which may be older. */
	json_key_str(g, "ociVersion", SPEC_OCI_VERSION);
	json_key_str(g, "id", st->id);
	json_key_str(g, "status", status);
	/* The spec wants pid only while the process exists. */
	if (strcmp(status, "stopped") != 0)
		json_key_int(g, "pid", st->pid);
	else
		json_key_int(g, "pid", 0);
	json_key_str(g, "bundle", st->bundle);
	json_key_str(g, "rootfs", st->rootfs);
	json_key_str(g, "created", st->created);
	json_key_str(g, "owner", st->owner ? st->owner : "");
	json_key(g, "annotations");
	gen_raw_object(g, st->annotations_json);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}
