/* config.json "process": what the container's first process runs as and with. */
#include <limits.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "security/security.h"
#include "spec.h"
#include "spec_internal.h"

#ifndef SCHED_ISO
#define SCHED_ISO 4
#endif
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

struct name_value {
	const char *name;
	long value;
};

static const struct name_value rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
    {NULL, 0},
};

static const struct name_value sched_policies[] = {
    {"SCHED_OTHER", SCHED_OTHER},
    {"SCHED_FIFO", SCHED_FIFO},
    {"SCHED_RR", SCHED_RR},
    {"SCHED_BATCH", SCHED_BATCH},
    {"SCHED_ISO", SCHED_ISO},
    {"SCHED_IDLE", SCHED_IDLE},
    {"SCHED_DEADLINE", SCHED_DEADLINE},
    {NULL, 0},
};

/* Values of SCHED_FLAG_* from <linux/sched.h>, which clashes with glibc's <sched.h>. */
static const struct name_value sched_flags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},	 {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},	 {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},	 {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}, {NULL, 0},
};

static const struct name_value ioprio_classes[] = {
    {"IOPRIO_CLASS_RT", IOPRIO_CLASS_RT},
    {"IOPRIO_CLASS_BE", IOPRIO_CLASS_BE},
    {"IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE},
    {NULL, 0},
};

static const struct name_value *lookup(const struct name_value *table, const char *name)
{
	for (; table->name != NULL; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

/* A required string member that must name an entry of table. */
static int get_named(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		     const struct name_value *table, const char *what, long *out)
{
	char *name = NULL;
	if (spec_need(c, spec_get_string(c, obj, path, key, &name), path, key) < 0)
		return -1;
	const struct name_value *nv = lookup(table, name);
	if (nv == NULL)
		return spec_fail(c, path, key, "unknown %s \"%s\"", what, name);
	*out = nv->value;
	return 0;
}

static int parse_console_size(struct spec_ctx *c, yajl_val proc, struct oci_process *p)
{
	yajl_val v = NULL;
	uint32_t h = 0, w = 0;
	int r = spec_get_object(c, proc, "process", "consoleSize", &v);
	if (r <= 0)
		return r;
	const char *path = "process.consoleSize";
	if (spec_need(c, spec_get_u32(c, v, path, "height", &h), path, "height") < 0 ||
	    spec_need(c, spec_get_u32(c, v, path, "width", &w), path, "width") < 0)
		return -1;
	p->has_console_size = true;
	p->console_height = h;
	p->console_width = w;
	return 0;
}

static int parse_user(struct spec_ctx *c, yajl_val proc, struct oci_process *p)
{
	yajl_val v = NULL, gids = NULL;
	uint32_t uid = 0, gid = 0, umask;
	const char *path = "process.user";
	int r = spec_get_object(c, proc, "process", "user", &v);
	if (r <= 0)
		return r;
	if (spec_get_u32(c, v, path, "uid", &uid) < 0 || spec_get_u32(c, v, path, "gid", &gid) < 0)
		return -1;
	p->uid = uid;
	p->gid = gid;
	r = spec_get_u32(c, v, path, "umask", &umask);
	if (r < 0)
		return -1;
	if (r > 0 && umask > 0777)
		return spec_fail(c, path, "umask", "must be a permission mask (0 to 0777)");
	p->has_umask = r > 0;
	p->umask = umask & 0777;
	r = spec_get_array(c, v, path, "additionalGids", &gids);
	if (r <= 0)
		return r;
	p->n_additional_gids = gids->u.array.len;
	p->additional_gids = arena_alloc(c->a, (p->n_additional_gids + 1) * sizeof(gid_t));
	for (size_t i = 0; i < p->n_additional_gids; i++) {
		char ip[SPEC_PATH_MAX];
		int64_t g = 0;
		spec_index(ip, path, "additionalGids", i);
		if (spec_int(c, gids->u.array.values[i], ip, NULL, 0, UINT32_MAX, &g) < 0)
			return -1;
		p->additional_gids[i] = (gid_t)g;
	}
	return 0;
}

static int parse_command(struct spec_ctx *c, yajl_val proc, struct oci_process *p)
{
	yajl_val args = spec_member(proc, "args");
	if (!YAJL_IS_ARRAY(args) || args->u.array.len == 0)
		return spec_fail(c, "process", "args", "must be a non-empty array of strings");
	if (spec_strings(c, args, "process", "args", &p->args, &p->n_args) < 0 ||
	    spec_get_strings(c, proc, "process", "env", &p->env, &p->n_env) < 0)
		return -1;
	for (size_t i = 0; i < p->n_env; i++) {
		const char *eq = strchr(p->env[i], '=');
		if (eq == NULL || eq == p->env[i]) {
			char ep[SPEC_PATH_MAX];
			spec_index(ep, "process", "env", i);
			return spec_fail(c, ep, NULL, "must be \"KEY=VALUE\", not \"%s\"",
					 p->env[i]);
		}
	}
	return spec_need(c, spec_get_abs(c, proc, "process", "cwd", &p->cwd), "process", "cwd");
}

void spec_caps_note_unknown(struct arena *a, struct oci_caps *caps, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = caps->unknown; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (n == len && strncmp(p, name, len) == 0)
			return;
		p += n + (p[n] == ' ');
	}
	caps->unknown =
	    caps->unknown ? arena_printf(a, "%s %s", caps->unknown, name) : arena_strdup(a, name);
}

/* An unknown name is left out, not refused: orchestrators send their own default list,
 * which may be newer than this host's kernel or libcap (runc ignores them too). */
static int parse_cap_set(struct spec_ctx *c, yajl_val caps, const char *key, struct oci_caps *out,
			 uint64_t *mask)
{
	const char *path = "process.capabilities";
	char **names = NULL;
	size_t n = 0;
	int r = spec_get_strings(c, caps, path, key, &names, &n);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		int cap = sec_cap_from_name(names[i]);
		if (cap < 0 || cap > 63)
			spec_caps_note_unknown(c->a, out, names[i]);
		else
			*mask |= UINT64_C(1) << cap;
	}
	return 0;
}

static int parse_caps(struct spec_ctx *c, yajl_val proc, struct oci_process *p)
{
	yajl_val caps = NULL;
	int r = spec_get_object(c, proc, "process", "capabilities", &caps);
	if (r <= 0)
		return r;
	p->has_caps = true;
	struct oci_caps *o = &p->caps;
	if (parse_cap_set(c, caps, "bounding", o, &o->bounding) < 0 ||
	    parse_cap_set(c, caps, "effective", o, &o->effective) < 0 ||
	    parse_cap_set(c, caps, "inheritable", o, &o->inheritable) < 0 ||
	    parse_cap_set(c, caps, "permitted", o, &o->permitted) < 0 ||
	    parse_cap_set(c, caps, "ambient", o, &o->ambient) < 0)
		return -1;
	return 0;
}

static int parse_rlimit(struct spec_ctx *c, yajl_val v, const char *path, struct oci_process *p,
			size_t i)
{
	struct oci_rlimit *rl = &p->rlimits[i];
	long res = 0;
	if (!YAJL_IS_OBJECT(v))
		return spec_fail(c, path, NULL, "must be an object");
	if (get_named(c, v, path, "type", rlimit_names, "rlimit", &res) < 0)
		return -1;
	rl->resource = (int)res;
	for (size_t j = 0; j < i; j++)
		if (p->rlimits[j].resource == rl->resource)
			return spec_fail(c, path, "type", "duplicate rlimit \"%s\"",
					 spec_member(v, "type")->u.string);
	if (spec_need(c, spec_get_u64(c, v, path, "soft", &rl->soft), path, "soft") < 0 ||
	    spec_need(c, spec_get_u64(c, v, path, "hard", &rl->hard), path, "hard") < 0)
		return -1;
	if (rl->soft > rl->hard)
		return spec_fail(c, path, NULL, "soft limit %llu is greater than hard limit %llu",
				 (unsigned long long)rl->soft, (unsigned long long)rl->hard);
	return 0;
}

static int parse_rlimits(struct spec_ctx *c, yajl_val proc, struct oci_process *p)
{
	yajl_val list = NULL;
	int r = spec_get_array(c, proc, "process", "rlimits", &list);
	if (r <= 0)
		return r;
	p->rlimits = arena_alloc(c->a, (list->u.array.len + 1) * sizeof(struct oci_rlimit));
	p->n_rlimits = list->u.array.len;
	for (size_t i = 0; i < p->n_rlimits; i++) {
		char rp[SPEC_PATH_MAX];
		spec_index(rp, "process", "rlimits", i);
		if (parse_rlimit(c, list->u.array.values[i], rp, p, i) < 0)
			return -1;
	}
	return 0;
}

static int parse_sched_flags(struct spec_ctx *c, yajl_val v, const char *path, uint64_t *flags)
{
	char **names = NULL;
	size_t n = 0;
	int r = spec_get_strings(c, v, path, "flags", &names, &n);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct name_value *nv = lookup(sched_flags, names[i]);
		if (nv == NULL)
			return spec_fail(c, path, "flags", "unknown scheduler flag \"%s\"",
					 names[i]);
		*flags |= (uint64_t)nv->value;
	}
	return 0;
}

static int parse_scheduler(struct spec_ctx *c, yajl_val proc, struct oci_process *p)
{
	yajl_val v = NULL;
	const char *path = "process.scheduler";
	struct oci_scheduler *s = &p->scheduler;
	long policy = 0;
	int64_t nice = 0, prio = 0;
	int r = spec_get_object(c, proc, "process", "scheduler", &v);
	if (r <= 0)
		return r;
	if (get_named(c, v, path, "policy", sched_policies, "scheduling policy", &policy) < 0 ||
	    spec_get_int(c, v, path, "nice", -20, 19, &nice) < 0 ||
	    spec_get_int(c, v, path, "priority", INT32_MIN, INT32_MAX, &prio) < 0 ||
	    parse_sched_flags(c, v, path, &s->flags) < 0 ||
	    spec_get_u64(c, v, path, "runtime", &s->runtime) < 0 ||
	    spec_get_u64(c, v, path, "deadline", &s->deadline) < 0 ||
	    spec_get_u64(c, v, path, "period", &s->period) < 0)
		return -1;
	s->policy = (int)policy;
	s->nice = (int)nice;
	s->priority = (int)prio;
	p->has_scheduler = true;
	return 0;
}

static int parse_io_priority(struct spec_ctx *c, yajl_val proc, struct oci_process *p)
{
	yajl_val v = NULL;
	const char *path = "process.ioPriority";
	long class = 0;
	int64_t prio = 0;
	int r = spec_get_object(c, proc, "process", "ioPriority", &v);
	if (r <= 0)
		return r;
	if (get_named(c, v, path, "class", ioprio_classes, "I/O priority class", &class) < 0 ||
	    spec_get_int(c, v, path, "priority", 0, 7, &prio) < 0)
		return -1;
	p->has_io_priority = true;
	p->io_priority.class = (int)class;
	p->io_priority.priority = (int)prio;
	return 0;
}

static int parse_misc(struct spec_ctx *c, yajl_val proc, struct oci_process *p)
{
	int64_t oom = 0;
	if (spec_get_bool(c, proc, "process", "terminal", &p->terminal) < 0 ||
	    spec_get_bool(c, proc, "process", "noNewPrivileges", &p->no_new_privileges) < 0 ||
	    spec_get_string(c, proc, "process", "apparmorProfile", &p->apparmor_profile) < 0 ||
	    spec_get_string(c, proc, "process", "selinuxLabel", &p->selinux_label) < 0)
		return -1;
	int r = spec_get_int(c, proc, "process", "oomScoreAdj", -1000, 1000, &oom);
	if (r < 0)
		return -1;
	p->has_oom_score_adj = r > 0;
	p->oom_score_adj = r > 0 ? (int)oom : 0;
	return 0;
}

static int parse_process_object(struct spec_ctx *c, yajl_val proc, struct oci_process *p)
{
	if (parse_misc(c, proc, p) < 0 || parse_console_size(c, proc, p) < 0 ||
	    parse_user(c, proc, p) < 0 || parse_command(c, proc, p) < 0 ||
	    parse_caps(c, proc, p) < 0 || parse_rlimits(c, proc, p) < 0 ||
	    parse_scheduler(c, proc, p) < 0 || parse_io_priority(c, proc, p) < 0)
		return -1;
	return 0;
}

int spec_parse_process(struct spec_ctx *c, yajl_val doc)
{
	yajl_val proc = NULL;
	int r = spec_get_object(c, doc, "", "process", &proc);
	if (r <= 0)
		return r;
	c->spec->has_process = true;
	return parse_process_object(c, proc, &c->spec->process);
}

/* The readers word every error as "config.json: process.<field>: ..."; a process file
 * is its own document, so name it instead: "<what>: <field>: ...". */
static int rename_error(struct hull_err *err, const char *what)
{
	static const char *const prefixes[] = {"config.json: process.",
					       "config.json: process: ", "config.json: "};
	const char *msg = err->msg ? err->msg : "";
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t len = strlen(prefixes[i]);
		if (strncmp(msg, prefixes[i], len) == 0) {
			_cleanup_free_ char *rest = strdup(msg + len);
			return hull_error(err, err->code, "%s: %s", what, rest ? rest : "invalid");
		}
	}
	return hull_error_wrap(err, "%s", what);
}

int spec_parse_process_text(const char *text, const char *what, struct arena *a,
			    struct oci_process *p, struct hull_err *err)
{
	*p = (struct oci_process){0};
	_cleanup_tree_ yajl_val doc = json_parse(text, err);
	if (doc == NULL)
		return hull_error_wrap(err, "%s", what);
	if (!YAJL_IS_OBJECT(doc))
		return hull_error(err, 0, "%s: must be a JSON object", what);
	/* The readers fill a spec; only its process is kept, its strings live in a. */
	struct oci_spec scratch = {0};
	struct spec_ctx c = {.spec = &scratch, .a = a, .err = err};
	if (parse_process_object(&c, doc, &scratch.process) < 0)
		return rename_error(err, what);
	*p = scratch.process;
	return 0;
}
