/* config.json "mounts": each mount's options sorted into mount(2) flags, propagation,
 * bind, mount_setattr(2) attributes and the filesystem's own data string. */
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "spec.h"
#include "spec_internal.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY      0x00000001
#define MOUNT_ATTR_NOSUID      0x00000002
#define MOUNT_ATTR_NODEV       0x00000004
#define MOUNT_ATTR_NOEXEC      0x00000008
#define MOUNT_ATTR__ATIME      0x00000070
#define MOUNT_ATTR_RELATIME    0x00000000
#define MOUNT_ATTR_NOATIME     0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME  0x00000080
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

enum opt_kind {
	OPT_SET,	 /* flags |= value */
	OPT_CLEAR,	 /* flags &= ~value */
	OPT_PROPAGATION, /* propagation = value (the last one wins) */
	OPT_BIND,	 /* bind; value MS_REC for rbind */
	OPT_ATTR_SET,	 /* attr_set |= value */
	OPT_ATTR_CLEAR,	 /* attr_clr |= value */
	OPT_ATIME,	 /* the recursive atime mode, one value of MOUNT_ATTR__ATIME */
	OPT_COPY_UP,	 /* tmpcopyup */
};

struct mount_opt {
	const char *name;
	enum opt_kind kind;
	unsigned long value;
};

/* One list for the parser and for `features`, so they cannot drift apart. */
#define MOUNT_OPTIONS(X)                                                                           \
	X("ro", OPT_SET, MS_RDONLY)                                                                \
	X("rw", OPT_CLEAR, MS_RDONLY)                                                              \
	X("suid", OPT_CLEAR, MS_NOSUID)                                                            \
	X("nosuid", OPT_SET, MS_NOSUID)                                                            \
	X("dev", OPT_CLEAR, MS_NODEV)                                                              \
	X("nodev", OPT_SET, MS_NODEV)                                                              \
	X("exec", OPT_CLEAR, MS_NOEXEC)                                                            \
	X("noexec", OPT_SET, MS_NOEXEC)                                                            \
	X("sync", OPT_SET, MS_SYNCHRONOUS)                                                         \
	X("async", OPT_CLEAR, MS_SYNCHRONOUS)                                                      \
	X("dirsync", OPT_SET, MS_DIRSYNC)                                                          \
	X("remount", OPT_SET, MS_REMOUNT)                                                          \
	X("mand", OPT_SET, MS_MANDLOCK)                                                            \
	X("nomand", OPT_CLEAR, MS_MANDLOCK)                                                        \
	X("atime", OPT_CLEAR, MS_NOATIME)                                                          \
	X("noatime", OPT_SET, MS_NOATIME)                                                          \
	X("diratime", OPT_CLEAR, MS_NODIRATIME)                                                    \
	X("nodiratime", OPT_SET, MS_NODIRATIME)                                                    \
	X("relatime", OPT_SET, MS_RELATIME)                                                        \
	X("norelatime", OPT_CLEAR, MS_RELATIME)                                                    \
	X("strictatime", OPT_SET, MS_STRICTATIME)                                                  \
	X("nostrictatime", OPT_CLEAR, MS_STRICTATIME)                                              \
	X("lazytime", OPT_SET, MS_LAZYTIME)                                                        \
	X("nolazytime", OPT_CLEAR, MS_LAZYTIME)                                                    \
	X("nosymfollow", OPT_SET, MS_NOSYMFOLLOW)                                                  \
	X("symfollow", OPT_CLEAR, MS_NOSYMFOLLOW)                                                  \
	X("silent", OPT_SET, MS_SILENT)                                                            \
	X("loud", OPT_CLEAR, MS_SILENT)                                                            \
	X("tmpcopyup", OPT_COPY_UP, 0)                                                             \
	X("bind", OPT_BIND, 0)                                                                     \
	X("rbind", OPT_BIND, MS_REC)                                                               \
	X("shared", OPT_PROPAGATION, MS_SHARED)                                                    \
	X("rshared", OPT_PROPAGATION, MS_SHARED | MS_REC)                                          \
	X("slave", OPT_PROPAGATION, MS_SLAVE)                                                      \
	X("rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC)                                            \
	X("private", OPT_PROPAGATION, MS_PRIVATE)                                                  \
	X("rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC)                                        \
	X("unbindable", OPT_PROPAGATION, MS_UNBINDABLE)                                            \
	X("runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC)                                  \
	X("rro", OPT_ATTR_SET, MOUNT_ATTR_RDONLY)                                                  \
	X("rrw", OPT_ATTR_CLEAR, MOUNT_ATTR_RDONLY)                                                \
	X("rnosuid", OPT_ATTR_SET, MOUNT_ATTR_NOSUID)                                              \
	X("rsuid", OPT_ATTR_CLEAR, MOUNT_ATTR_NOSUID)                                              \
	X("rnodev", OPT_ATTR_SET, MOUNT_ATTR_NODEV)                                                \
	X("rdev", OPT_ATTR_CLEAR, MOUNT_ATTR_NODEV)                                                \
	X("rnoexec", OPT_ATTR_SET, MOUNT_ATTR_NOEXEC)                                              \
	X("rexec", OPT_ATTR_CLEAR, MOUNT_ATTR_NOEXEC)                                              \
	X("rnodiratime", OPT_ATTR_SET, MOUNT_ATTR_NODIRATIME)                                      \
	X("rdiratime", OPT_ATTR_CLEAR, MOUNT_ATTR_NODIRATIME)                                      \
	X("rnosymfollow", OPT_ATTR_SET, MOUNT_ATTR_NOSYMFOLLOW)                                    \
	X("rsymfollow", OPT_ATTR_CLEAR, MOUNT_ATTR_NOSYMFOLLOW)                                    \
	X("rnoatime", OPT_ATIME, MOUNT_ATTR_NOATIME)                                               \
	X("ratime", OPT_ATIME, MOUNT_ATTR_RELATIME)                                                \
	X("rrelatime", OPT_ATIME, MOUNT_ATTR_RELATIME)                                             \
	X("rnorelatime", OPT_ATIME, MOUNT_ATTR_STRICTATIME)                                        \
	X("rstrictatime", OPT_ATIME, MOUNT_ATTR_STRICTATIME)                                       \
	X("rnostrictatime", OPT_ATIME, MOUNT_ATTR_RELATIME)

#define AS_ENTRY(n, k, v) {n, k, v},
#define AS_NAME(n, k, v)  n,
static const struct mount_opt mount_opts[] = {MOUNT_OPTIONS(AS_ENTRY)};
const char *const spec_mount_option_names[] = {MOUNT_OPTIONS(AS_NAME) NULL};

/* Options the spec defines that hull does not implement: failing beats a silently
 * different mount. */
static const char *const unsupported_opts[] = {"idmap", "ridmap", NULL};

static void apply_option(struct oci_mount *m, const struct mount_opt *o)
{
	switch (o->kind) {
	case OPT_SET:
		m->flags |= o->value;
		break;
	case OPT_CLEAR:
		m->flags &= ~o->value;
		break;
	case OPT_PROPAGATION:
		m->propagation = o->value;
		break;
	case OPT_BIND:
		m->bind = true;
		m->recursive = m->recursive || o->value != 0;
		break;
	case OPT_ATTR_SET:
		m->attr_set |= o->value;
		m->attr_clr &= ~(uint64_t)o->value;
		break;
	case OPT_ATTR_CLEAR:
		m->attr_clr |= o->value;
		m->attr_set &= ~(uint64_t)o->value;
		break;
	case OPT_COPY_UP:
		m->copy_up = true;
		break;
	case OPT_ATIME:
		/* mount_setattr(2): the atime mode is a field, not a bit; setting one requires
		 * MOUNT_ATTR__ATIME in attr_clr, and RELATIME is the value 0. */
		m->attr_clr |= MOUNT_ATTR__ATIME;
		m->attr_set = (m->attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | o->value;
		break;
	}
}

static const struct mount_opt *find_option(const char *name)
{
	for (size_t i = 0; i < sizeof mount_opts / sizeof mount_opts[0]; i++)
		if (strcmp(mount_opts[i].name, name) == 0)
			return &mount_opts[i];
	return NULL;
}

/* The options mount(2) does not know go to the filesystem, comma-joined. */
static void append_data(struct spec_ctx *c, struct oci_mount *m, const char *opt)
{
	m->data = m->data ? arena_printf(c->a, "%s,%s", m->data, opt) : arena_strdup(c->a, opt);
}

static int parse_options(struct spec_ctx *c, struct oci_mount *m, const char *path)
{
	for (size_t i = 0; i < m->n_options; i++) {
		const char *opt = m->options[i];
		if (opt[0] == '\0')
			continue;
		for (size_t u = 0; unsupported_opts[u] != NULL; u++)
			if (strcmp(opt, unsupported_opts[u]) == 0)
				return spec_fail(c, path, "options",
						 "mount option \"%s\" is not supported", opt);
		const struct mount_opt *o = find_option(opt);
		if (o != NULL)
			apply_option(m, o);
		else
			append_data(c, m, opt);
	}
	return 0;
}

static int parse_mount(struct spec_ctx *c, yajl_val v, const char *path, struct oci_mount *m)
{
	if (!YAJL_IS_OBJECT(v))
		return spec_fail(c, path, NULL, "must be an object");
	if (spec_need(c, spec_get_abs(c, v, path, "destination", &m->destination), path,
		      "destination") < 0 ||
	    spec_get_string(c, v, path, "type", &m->type) < 0 ||
	    spec_get_string(c, v, path, "source", &m->source) < 0 ||
	    spec_get_strings(c, v, path, "options", &m->options, &m->n_options) < 0)
		return -1;
	for (const char *const *k = (const char *const[]){"uidMappings", "gidMappings", NULL}; *k;
	     k++)
		if (spec_member(v, *k) != NULL)
			return spec_fail(c, path, *k, "idmapped mounts are not supported");
	if (parse_options(c, m, path) < 0)
		return -1;
	if (m->type != NULL && strcmp(m->type, "bind") == 0)
		m->bind = true;
	if (m->copy_up && (m->bind || m->type == NULL || strcmp(m->type, "tmpfs") != 0))
		return spec_fail(c, path, "options", "tmpcopyup applies to tmpfs mounts only");
	if (!m->bind)
		return 0;
	if (m->source == NULL || m->source[0] == '\0')
		return spec_fail(c, path, "source", "is required for a bind mount");
	if (m->source[0] != '/')
		m->source = spec_bundle_path(c, m->source);
	return 0;
}

int spec_parse_mounts(struct spec_ctx *c, yajl_val doc)
{
	yajl_val list = NULL;
	int r = spec_get_array(c, doc, "", "mounts", &list);
	if (r <= 0)
		return r;
	struct oci_spec *s = c->spec;
	s->n_mounts = list->u.array.len;
	s->mounts = arena_alloc(c->a, (s->n_mounts + 1) * sizeof(struct oci_mount));
	for (size_t i = 0; i < s->n_mounts; i++) {
		char p[SPEC_PATH_MAX];
		spec_index(p, "", "mounts", i);
		if (parse_mount(c, list->u.array.values[i], p, &s->mounts[i]) < 0)
			return -1;
	}
	return 0;
}
