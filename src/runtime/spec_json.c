/* Typed, path-aware readers over the yajl tree for the config.json parser. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "spec_internal.h"

void spec_join(char out[SPEC_PATH_MAX], const char *path, const char *key)
{
	if (path == NULL || path[0] == '\0')
		snprintf(out, SPEC_PATH_MAX, "%s", key ? key : "");
	else if (key == NULL)
		snprintf(out, SPEC_PATH_MAX, "%s", path);
	else
		snprintf(out, SPEC_PATH_MAX, "%s.%s", path, key);
}

void spec_index(char out[SPEC_PATH_MAX], const char *path, const char *key, size_t i)
{
	spec_join(out, path, key);
	size_t len = strlen(out);
	snprintf(out + len, SPEC_PATH_MAX - len, "[%zu]", i);
}

int spec_fail(struct spec_ctx *c, const char *path, const char *key, const char *fmt, ...)
{
	char where[SPEC_PATH_MAX];
	spec_join(where, path, key);
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	hull_error(c->err, 0, "config.json: %s: %s", where, msg ? msg : "invalid value");
	free(msg);
	return -1;
}

int spec_need(struct spec_ctx *c, int r, const char *path, const char *key)
{
	if (r == 0)
		return spec_fail(c, path, key, "is required");
	return r;
}

yajl_val spec_member(yajl_val obj, const char *key)
{
	yajl_val v = json_get(obj, key);
	return YAJL_IS_NULL(v) ? NULL : v;
}

int spec_string(struct spec_ctx *c, yajl_val v, const char *path, const char *key, char **out)
{
	if (!YAJL_IS_STRING(v))
		return spec_fail(c, path, key, "must be a string");
	*out = arena_strdup(c->a, v->u.string);
	return 1;
}

/* yajl keeps a number's text; an integer too large for long long is still integral. */
static bool integral_text(const char *r, bool allow_minus)
{
	if (allow_minus && *r == '-')
		r++;
	if (*r == '\0')
		return false;
	for (; *r; r++)
		if (*r < '0' || *r > '9')
			return false;
	return true;
}

int spec_int(struct spec_ctx *c, yajl_val v, const char *path, const char *key, int64_t min,
	     int64_t max, int64_t *out)
{
	if (!YAJL_IS_NUMBER(v) || !integral_text(v->u.number.r, true))
		return spec_fail(c, path, key, "must be an integer");
	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < min || YAJL_GET_INTEGER(v) > max)
		return spec_fail(c, path, key, "must be between %" PRId64 " and %" PRId64, min,
				 max);
	*out = YAJL_GET_INTEGER(v);
	return 1;
}

int spec_u64(struct spec_ctx *c, yajl_val v, const char *path, const char *key, uint64_t *out)
{
	if (!YAJL_IS_NUMBER(v) || !integral_text(v->u.number.r, false))
		return spec_fail(c, path, key, "must be a non-negative integer");
	errno = 0;
	unsigned long long x = strtoull(v->u.number.r, NULL, 10);
	if (errno != 0)
		return spec_fail(c, path, key, "does not fit in 64 bits");
	*out = x;
	return 1;
}

int spec_strings(struct spec_ctx *c, yajl_val v, const char *path, const char *key, char ***out,
		 size_t *n)
{
	if (!YAJL_IS_ARRAY(v))
		return spec_fail(c, path, key, "must be an array of strings");
	size_t len = v->u.array.len;
	char **list = arena_alloc(c->a, (len + 1) * sizeof(char *));
	for (size_t i = 0; i < len; i++) {
		yajl_val item = v->u.array.values[i];
		if (!YAJL_IS_STRING(item)) {
			char p[SPEC_PATH_MAX];
			spec_index(p, path, key, i);
			return spec_fail(c, p, NULL, "must be a string");
		}
		list[i] = arena_strdup(c->a, item->u.string);
	}
	*out = list;
	*n = len;
	return 1;
}

int spec_get_object(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		    yajl_val *out)
{
	yajl_val v = spec_member(obj, key);
	if (v == NULL)
		return 0;
	if (!YAJL_IS_OBJECT(v))
		return spec_fail(c, path, key, "must be an object");
	*out = v;
	return 1;
}

int spec_get_array(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		   yajl_val *out)
{
	yajl_val v = spec_member(obj, key);
	if (v == NULL)
		return 0;
	if (!YAJL_IS_ARRAY(v))
		return spec_fail(c, path, key, "must be an array");
	*out = v;
	return 1;
}

int spec_get_string(struct spec_ctx *c, yajl_val obj, const char *path, const char *key, char **out)
{
	yajl_val v = spec_member(obj, key);
	return v == NULL ? 0 : spec_string(c, v, path, key, out);
}

int spec_get_abs(struct spec_ctx *c, yajl_val obj, const char *path, const char *key, char **out)
{
	int r = spec_get_string(c, obj, path, key, out);
	if (r > 0 && (*out)[0] != '/')
		return spec_fail(c, path, key, "must be an absolute path");
	return r;
}

int spec_get_bool(struct spec_ctx *c, yajl_val obj, const char *path, const char *key, bool *out)
{
	yajl_val v = spec_member(obj, key);
	if (v == NULL)
		return 0;
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
		return spec_fail(c, path, key, "must be a boolean");
	*out = YAJL_IS_TRUE(v);
	return 1;
}

int spec_get_int(struct spec_ctx *c, yajl_val obj, const char *path, const char *key, int64_t min,
		 int64_t max, int64_t *out)
{
	yajl_val v = spec_member(obj, key);
	return v == NULL ? 0 : spec_int(c, v, path, key, min, max, out);
}

int spec_get_u32(struct spec_ctx *c, yajl_val obj, const char *path, const char *key, uint32_t *out)
{
	int64_t x = 0;
	int r = spec_get_int(c, obj, path, key, 0, UINT32_MAX, &x);
	if (r > 0)
		*out = (uint32_t)x;
	return r;
}

int spec_get_u64(struct spec_ctx *c, yajl_val obj, const char *path, const char *key, uint64_t *out)
{
	yajl_val v = spec_member(obj, key);
	return v == NULL ? 0 : spec_u64(c, v, path, key, out);
}

int spec_get_strings(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		     char ***out, size_t *n)
{
	yajl_val v = spec_member(obj, key);
	return v == NULL ? 0 : spec_strings(c, v, path, key, out, n);
}

int spec_get_string_map(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
			struct oci_kv **out, size_t *n)
{
	yajl_val v = NULL;
	int r = spec_get_object(c, obj, path, key, &v);
	if (r <= 0)
		return r;
	size_t len = v->u.object.len;
	struct oci_kv *kv = arena_alloc(c->a, (len + 1) * sizeof(*kv));
	char where[SPEC_PATH_MAX];
	spec_join(where, path, key);
	for (size_t i = 0; i < len; i++) {
		kv[i].key = arena_strdup(c->a, v->u.object.keys[i]);
		if (spec_string(c, v->u.object.values[i], where, kv[i].key, &kv[i].value) < 0)
			return -1;
	}
	*out = kv;
	*n = len;
	return 1;
}

char *spec_bundle_path(struct spec_ctx *c, const char *rel)
{
	const char *bundle = c->spec->bundle;
	size_t len = strlen(bundle);
	bool slash = len > 0 && bundle[len - 1] == '/';
	return arena_printf(c->a, "%s%s%s", bundle, slash ? "" : "/", rel);
}
