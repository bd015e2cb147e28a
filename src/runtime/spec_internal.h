/* Private to the config.json parser (spec*.c): typed readers over the yajl tree whose
 * errors all read "config.json: <json.path>: <problem>".
 *
 * Readers return 1 when the member was present and valid, 0 when it is absent (JSON null
 * counts as absent, as it does for runc's Go decoder), and -1 with c->err set otherwise.
 * A path is the JSON path of the containing object ("" at the top level, "process.user");
 * key is the member's name, or NULL when the path already names the value itself. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "common/err.h"
#include "common/oci.h"

enum { SPEC_PATH_MAX = 256 };

struct spec_ctx {
	struct oci_spec *spec;
	struct arena *a;
	struct hull_err *err;
};

static inline void spec_tree_free(yajl_val *v)
{
	if (*v != NULL)
		yajl_tree_free(*v);
}
#define _cleanup_tree_ __attribute__((cleanup(spec_tree_free)))

/* "path.key" (or just one of them) and "path.key[i]", truncated to SPEC_PATH_MAX. */
void spec_join(char out[SPEC_PATH_MAX], const char *path, const char *key);
void spec_index(char out[SPEC_PATH_MAX], const char *path, const char *key, size_t i);

/* Fill c->err with "config.json: path.key: <message>"; returns -1. */
int spec_fail(struct spec_ctx *c, const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Turn a reader's "absent" (0) into an "is required" error; passes 1 and -1 through. */
int spec_need(struct spec_ctx *c, int r, const char *path, const char *key);

/* The member, or NULL when absent or null. */
yajl_val spec_member(yajl_val obj, const char *key);

/* Checks of a value already in hand (v != NULL). */
int spec_string(struct spec_ctx *c, yajl_val v, const char *path, const char *key, char **out);
int spec_int(struct spec_ctx *c, yajl_val v, const char *path, const char *key, int64_t min,
	     int64_t max, int64_t *out);
int spec_u64(struct spec_ctx *c, yajl_val v, const char *path, const char *key, uint64_t *out);
int spec_strings(struct spec_ctx *c, yajl_val v, const char *path, const char *key, char ***out,
		 size_t *n);

/* Members of an object. */
int spec_get_object(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		    yajl_val *out);
int spec_get_array(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		   yajl_val *out);
int spec_get_string(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		    char **out);
/* A string that must be an absolute path. */
int spec_get_abs(struct spec_ctx *c, yajl_val obj, const char *path, const char *key, char **out);
int spec_get_bool(struct spec_ctx *c, yajl_val obj, const char *path, const char *key, bool *out);
int spec_get_int(struct spec_ctx *c, yajl_val obj, const char *path, const char *key, int64_t min,
		 int64_t max, int64_t *out);
int spec_get_u32(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		 uint32_t *out);
int spec_get_u64(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		 uint64_t *out);
/* An array of strings, NULL-terminated in the arena. */
int spec_get_strings(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		     char ***out, size_t *n);
/* An object of string values, as key/value pairs. */
int spec_get_string_map(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
			struct oci_kv **out, size_t *n);

/* rel resolved against the bundle directory, in the arena. */
char *spec_bundle_path(struct spec_ctx *c, const char *rel);

/* The sections, each reading its part of the document into c->spec. */
int spec_parse_mounts(struct spec_ctx *c, yajl_val doc);
int spec_parse_process(struct spec_ctx *c, yajl_val doc);
int spec_parse_linux(struct spec_ctx *c, yajl_val doc);
int spec_parse_seccomp(struct spec_ctx *c, yajl_val lin);
/* linux.resources (spec_resources.c); then, once linux.devices is known too, the device
 * rules every container gets (its linux.devices and the standard /dev nodes) appended to
 * linux.resources.devices, which is allocated if the config has none. */
int spec_parse_resources(struct spec_ctx *c, yajl_val lin);
void spec_resources_imply_devices(struct spec_ctx *c);
/* Rules that tie two parts of the config together (hostname needs a UTS namespace, ...). */
int spec_check_consistency(struct spec_ctx *c);
