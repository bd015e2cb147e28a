/* config.json "linux.seccomp": names resolved to libseccomp values through src/security,
 * so the filter can later be built without looking at a string. */
#include <string.h>

#include "security/security.h"
#include "spec_internal.h"

static bool takes_errno(const char *action)
{
	return strcmp(action, "SCMP_ACT_ERRNO") == 0 || strcmp(action, "SCMP_ACT_TRACE") == 0;
}

/* An action name plus its optional errno member, folded into one libseccomp value. */
static int get_action(struct spec_ctx *c, yajl_val v, const char *path, const char *key,
		      const char *errno_key, uint32_t *action, bool *notify)
{
	char *name = NULL;
	int64_t errno_ret = 0;
	if (spec_need(c, spec_get_string(c, v, path, key, &name), path, key) < 0)
		return -1;
	/* The kernel passes back only 16 bits of data (SECCOMP_RET_DATA). */
	int has_errno = spec_get_int(c, v, path, errno_key, 0, 0xffff, &errno_ret);
	if (has_errno < 0)
		return -1;
	/* runtime-spec: an errno given to an action that cannot return one is an error. */
	if (has_errno > 0 && !takes_errno(name))
		return spec_fail(c, path, errno_key,
				 "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
	if (sec_seccomp_action(name, has_errno > 0, (uint32_t)errno_ret, action) < 0)
		return spec_fail(c, path, key, "unknown action \"%s\"", name);
	*notify = *notify || strcmp(name, "SCMP_ACT_NOTIFY") == 0;
	return 0;
}

static int parse_arch(struct spec_ctx *c, yajl_val v, struct oci_seccomp *s)
{
	char **names = NULL;
	size_t n = 0;
	int r = spec_get_strings(c, v, "linux.seccomp", "architectures", &names, &n);
	if (r <= 0)
		return r;
	s->architectures = arena_alloc(c->a, (n + 1) * sizeof(uint32_t));
	s->n_architectures = n;
	for (size_t i = 0; i < n; i++)
		if (sec_seccomp_arch(names[i], &s->architectures[i]) < 0)
			return spec_fail(c, "linux.seccomp", "architectures",
					 "unknown architecture \"%s\"", names[i]);
	return 0;
}

static int parse_flags(struct spec_ctx *c, yajl_val v, struct oci_seccomp *s)
{
	char **names = NULL;
	size_t n = 0;
	int r = spec_get_strings(c, v, "linux.seccomp", "flags", &names, &n);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		unsigned flag = 0;
		if (sec_seccomp_flag(names[i], &flag) < 0)
			return spec_fail(c, "linux.seccomp", "flags", "unknown flag \"%s\"",
					 names[i]);
		s->flags |= flag;
	}
	return 0;
}

static int parse_arg(struct spec_ctx *c, yajl_val v, const char *path, struct oci_seccomp_arg *a)
{
	int64_t index = 0;
	char *op = NULL;
	if (!YAJL_IS_OBJECT(v))
		return spec_fail(c, path, NULL, "must be an object");
	/* Six argument registers is the most any syscall has. */
	if (spec_need(c, spec_get_int(c, v, path, "index", 0, 5, &index), path, "index") < 0 ||
	    spec_need(c, spec_get_u64(c, v, path, "value", &a->value), path, "value") < 0 ||
	    spec_get_u64(c, v, path, "valueTwo", &a->value_two) < 0 ||
	    spec_need(c, spec_get_string(c, v, path, "op", &op), path, "op") < 0)
		return -1;
	a->index = (unsigned)index;
	if (sec_seccomp_op(op, &a->op) < 0)
		return spec_fail(c, path, "op", "unknown operator \"%s\"", op);
	return 0;
}

static int parse_rule(struct spec_ctx *c, yajl_val v, const char *path, struct oci_seccomp_rule *r,
		      bool *notify)
{
	yajl_val args = NULL;
	if (!YAJL_IS_OBJECT(v))
		return spec_fail(c, path, NULL, "must be an object");
	yajl_val names = spec_member(v, "names");
	if (!YAJL_IS_ARRAY(names) || names->u.array.len == 0)
		return spec_fail(c, path, "names", "must be a non-empty array of strings");
	if (spec_strings(c, names, path, "names", &r->names, &r->n_names) < 0 ||
	    get_action(c, v, path, "action", "errnoRet", &r->action, notify) < 0)
		return -1;
	int has = spec_get_array(c, v, path, "args", &args);
	if (has <= 0)
		return has;
	r->n_args = args->u.array.len;
	r->args = arena_alloc(c->a, (r->n_args + 1) * sizeof(struct oci_seccomp_arg));
	for (size_t i = 0; i < r->n_args; i++) {
		char p[SPEC_PATH_MAX];
		spec_index(p, path, "args", i);
		if (parse_arg(c, args->u.array.values[i], p, &r->args[i]) < 0)
			return -1;
	}
	return 0;
}

static int parse_rules(struct spec_ctx *c, yajl_val v, struct oci_seccomp *s, bool *notify)
{
	yajl_val list = NULL;
	int r = spec_get_array(c, v, "linux.seccomp", "syscalls", &list);
	if (r <= 0)
		return r;
	s->n_rules = list->u.array.len;
	s->rules = arena_alloc(c->a, (s->n_rules + 1) * sizeof(struct oci_seccomp_rule));
	for (size_t i = 0; i < s->n_rules; i++) {
		char p[SPEC_PATH_MAX];
		spec_index(p, "linux.seccomp", "syscalls", i);
		if (parse_rule(c, list->u.array.values[i], p, &s->rules[i], notify) < 0)
			return -1;
	}
	return 0;
}

int spec_parse_seccomp(struct spec_ctx *c, yajl_val lin)
{
	yajl_val v = NULL;
	const char *path = "linux.seccomp";
	bool notify = false;
	int r = spec_get_object(c, lin, "linux", "seccomp", &v);
	if (r <= 0)
		return r;
	struct oci_seccomp *s = arena_alloc(c->a, sizeof(*s));
	if (get_action(c, v, path, "defaultAction", "defaultErrnoRet", &s->default_action,
		       &notify) < 0)
		return -1;
	/* A notifying default would route every syscall, including the runtime's own sends
	 * to the listener, through the agent. */
	if (notify)
		return spec_fail(c, path, "defaultAction", "SCMP_ACT_NOTIFY cannot be the default");
	if (parse_arch(c, v, s) < 0 || parse_flags(c, v, s) < 0 ||
	    spec_get_abs(c, v, path, "listenerPath", &s->listener_path) < 0 ||
	    parse_rules(c, v, s, &notify) < 0)
		return -1;
	if (notify && s->listener_path == NULL)
		return spec_fail(c, path, "listenerPath", "is required with SCMP_ACT_NOTIFY");
	c->spec->linux_cfg.seccomp = s;
	return 0;
}
