/* config.json to struct oci_spec: the document, its top-level fields and the hooks.
 * The other sections live in spec_mount.c, spec_process.c, spec_linux.c and
 * spec_seccomp.c; cross-section rules in spec_check.c. */
#include "spec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "spec_internal.h"

const struct oci_namespace *oci_namespace(const struct oci_spec *spec, int type)
{
	for (size_t i = 0; i < spec->linux_cfg.n_namespaces; i++)
		if (spec->linux_cfg.namespaces[i].type == type)
			return &spec->linux_cfg.namespaces[i];
	return NULL;
}

/* Reads one decimal component; false unless at least one digit is there. */
static bool version_part(const char **p, unsigned long *out)
{
	char *end = NULL;
	if (**p < '0' || **p > '9')
		return false;
	*out = strtoul(*p, &end, 10);
	*p = end;
	return true;
}

/* Semantic versions 1.0.0 to 1.3.x, with any pre-release or build suffix: every 1.x
 * minor is backwards compatible, and 1.3 is the newest one hull knows. */
static int check_version(struct spec_ctx *c, const char *v)
{
	unsigned long major = 0, minor = 0, patch = 0;
	const char *p = v;
	bool ok = version_part(&p, &major) && *p++ == '.' && version_part(&p, &minor) &&
		  *p++ == '.' && version_part(&p, &patch) && (*p == '\0' || *p == '-' || *p == '+');
	if (!ok || major != 1 || minor > 3)
		return spec_fail(c, "", "ociVersion",
				 "unsupported version \"%s\" (hull supports 1.0.0 to 1.3.x)", v);
	return 0;
}

static int parse_root(struct spec_ctx *c, yajl_val doc)
{
	yajl_val root = NULL;
	char *path = NULL;
	/* The spec makes root optional only on platforms without a filesystem root. */
	if (spec_need(c, spec_get_object(c, doc, "", "root", &root), "", "root") < 0)
		return -1;
	if (spec_need(c, spec_get_string(c, root, "root", "path", &path), "root", "path") < 0)
		return -1;
	if (path[0] == '\0')
		return spec_fail(c, "root", "path", "must not be empty");
	c->spec->root_path = path[0] == '/' ? path : spec_bundle_path(c, path);
	return spec_get_bool(c, root, "root", "readonly", &c->spec->root_readonly);
}

static const char *const hook_names[HOOK_KIND_COUNT] = {
    [HOOK_PRESTART] = "prestart",
    [HOOK_CREATE_RUNTIME] = "createRuntime",
    [HOOK_CREATE_CONTAINER] = "createContainer",
    [HOOK_START_CONTAINER] = "startContainer",
    [HOOK_POSTSTART] = "poststart",
    [HOOK_POSTSTOP] = "poststop",
};

static int parse_hook(struct spec_ctx *c, yajl_val v, const char *path, struct oci_hook *h)
{
	int64_t timeout = 0;
	if (!YAJL_IS_OBJECT(v))
		return spec_fail(c, path, NULL, "must be an object");
	if (spec_need(c, spec_get_abs(c, v, path, "path", &h->path), path, "path") < 0)
		return -1;
	if (spec_get_strings(c, v, path, "args", &h->args, &h->n_args) < 0 ||
	    spec_get_strings(c, v, path, "env", &h->env, &h->n_env) < 0)
		return -1;
	int r = spec_get_int(c, v, path, "timeout", INT64_MIN, INT_MAX, &timeout);
	if (r < 0)
		return -1;
	if (r > 0 && timeout <= 0)
		return spec_fail(c, path, "timeout", "must be greater than zero");
	h->timeout = r > 0 ? (int)timeout : 0;
	return 0;
}

static int parse_hooks(struct spec_ctx *c, yajl_val doc)
{
	yajl_val hooks = NULL, list = NULL;
	int r = spec_get_object(c, doc, "", "hooks", &hooks);
	if (r <= 0)
		return r;
	for (int kind = 0; kind < HOOK_KIND_COUNT; kind++) {
		r = spec_get_array(c, hooks, "hooks", hook_names[kind], &list);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		struct oci_hook_list *out = &c->spec->hooks[kind];
		out->n = list->u.array.len;
		out->hooks = arena_alloc(c->a, (out->n + 1) * sizeof(struct oci_hook));
		for (size_t i = 0; i < out->n; i++) {
			char p[SPEC_PATH_MAX];
			spec_index(p, "hooks", hook_names[kind], i);
			if (parse_hook(c, list->u.array.values[i], p, &out->hooks[i]) < 0)
				return -1;
		}
	}
	return 0;
}

static int parse_document(struct spec_ctx *c, yajl_val doc)
{
	struct oci_spec *s = c->spec;
	if (!YAJL_IS_OBJECT(doc))
		return hull_error(c->err, 0, "config.json: must be a JSON object");
	int r = spec_need(c, spec_get_string(c, doc, "", "ociVersion", &s->oci_version), "",
			  "ociVersion");
	if (r < 0 || check_version(c, s->oci_version) < 0)
		return -1;
	if (parse_root(c, doc) < 0 || spec_get_string(c, doc, "", "hostname", &s->hostname) < 0 ||
	    spec_get_string(c, doc, "", "domainname", &s->domainname) < 0 ||
	    spec_parse_mounts(c, doc) < 0 || spec_parse_process(c, doc) < 0 ||
	    parse_hooks(c, doc) < 0 ||
	    spec_get_string_map(c, doc, "", "annotations", &s->annotations, &s->n_annotations) <
		0 ||
	    spec_parse_linux(c, doc) < 0)
		return -1;
	return spec_check_consistency(c);
}

int spec_parse(const char *text, size_t len, const char *bundle, struct oci_spec *spec,
	       struct hull_err *err)
{
	*spec = (struct oci_spec){0};
	if (bundle == NULL || bundle[0] != '/')
		return hull_error(err, EINVAL, "config.json: bundle %s is not an absolute path",
				  bundle ? bundle : "(null)");
	/* yajl wants a NUL-terminated string; a NUL inside would hide the rest from it. */
	if (memchr(text, '\0', len) != NULL)
		return hull_error(err, 0, "config.json: invalid JSON: contains a NUL byte");
	_cleanup_free_ char *copy = strndup(text, len);
	if (copy == NULL)
		return hull_error(err, ENOMEM, "config.json");
	_cleanup_tree_ yajl_val doc = json_parse(copy, err);
	if (doc == NULL)
		return hull_error_wrap(err, "config.json");
	spec->bundle = arena_strdup(&spec->arena, bundle);
	struct spec_ctx c = {.spec = spec, .a = &spec->arena, .err = err};
	if (parse_document(&c, doc) < 0) {
		spec_free(spec);
		return -1;
	}
	return 0;
}

int spec_load(const char *bundle, struct oci_spec *spec, char **raw, struct hull_err *err)
{
	*spec = (struct oci_spec){0};
	_cleanup_free_ char *abs = realpath(bundle, NULL);
	if (abs == NULL)
		return hull_error(err, errno, "bundle %s", bundle);
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/config.json", strcmp(abs, "/") == 0 ? "" : abs) < 0)
		return hull_error(err, ENOMEM, "bundle %s", bundle);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (json_read_file(path, &text, &len, err) < 0)
		return -1;
	if (spec_parse(text, len, abs, spec, err) < 0)
		return -1;
	if (raw != NULL)
		*raw = steal_ptr(&text);
	return 0;
}

void spec_free(struct oci_spec *spec)
{
	arena_free(&spec->arena);
	*spec = (struct oci_spec){0};
}
