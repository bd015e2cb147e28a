/* Where the host's cgroup hierarchies are, where a container's cgroup goes in each, and
 * the text that lets a later hull process find it again. */
#include "layout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"

#define CGROUP_MOUNT_BASE "/sys/fs/cgroup"

/* ---- small string helpers ---- */

static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static bool list_has(const char *list, const char *tok, size_t len)
{
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n == len && memcmp(p, tok, len) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

static size_t count_items(const char *list)
{
	size_t n = 0;
	for (const char *p = list; *p != '\0'; n++) {
		p += strcspn(p, ",");
		p += *p == ',';
	}
	return n;
}

/* Comma lists with the same members: the kernel orders /proc/self/cgroup and the super
 * options the same way today, but nothing promises it. */
static bool same_set(const char *a, const char *b)
{
	if (count_items(a) != count_items(b))
		return false;
	for (const char *p = a; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (!list_has(b, p, n))
			return false;
		p += n + (p[n] == ',');
	}
	return true;
}

/* mountinfo writes space, tab, newline and backslash in paths as \ooo. */
static void unescape_octal(char *s)
{
	char *out = s;
	for (char *in = s; *in != '\0'; in++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			*out++ = (char)((in[1] - '0') << 6 | (in[2] - '0') << 3 | (in[3] - '0'));
			in += 3;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
}

/* "/a//./b/" -> "/a/b", "/" -> ""; NULL when a component is "..". */
static char *normalise(struct arena *a, const char *path)
{
	char *copy = arena_strdup(a, path);
	char *out = arena_alloc(a, strlen(path) + 2);
	char *end = out, *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
		if (streq(c, ".."))
			return NULL;
		if (streq(c, "."))
			continue;
		end = stpcpy(stpcpy(end, "/"), c);
	}
	return out;
}

static unsigned count_components(const char *rel)
{
	unsigned n = 0;
	for (const char *p = rel; *p != '\0'; p++)
		n += *p == '/';
	return n;
}

/* ---- /proc/self/mountinfo and /proc/self/cgroup ---- */

struct mount_line {
	char *root, *mountpoint, *fstype, *super;
};

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" */
static bool split_mount_line(char *line, struct mount_line *m)
{
	char *f[64];
	size_t n = 0, dash = 0;
	for (char *tok; n < 64 && (tok = strsep(&line, " ")) != NULL;) {
		if (dash == 0 && n >= 6 && streq(tok, "-"))
			dash = n;
		f[n++] = tok;
	}
	if (dash == 0 || dash + 3 >= n)
		return false;
	m->root = f[3];
	m->mountpoint = f[4];
	m->fstype = f[dash + 1];
	m->super = f[dash + 3];
	unescape_octal(m->root);
	unescape_octal(m->mountpoint);
	return true;
}

/* cgroup v1 super options mix the hierarchy's subsystems with mount flags; keep the
 * subsystems (and "name=" for named hierarchies), as /proc/self/cgroup lists them. */
static bool is_subsystem_opt(const char *opt, size_t len)
{
	static const char *const flags[] = {
	    "rw",	"ro",	 "sync",	   "dirsync",	     "mand",	     "lazytime",
	    "noprefix", "xattr", "cpuset_v2_mode", "clone_children", "favordynmods", NULL};
	if (len > 5 && memcmp(opt, "name=", 5) == 0)
		return true;
	if (len == 0 || memchr(opt, '=', len) != NULL)
		return false;
	for (size_t i = 0; flags[i] != NULL; i++)
		if (strlen(flags[i]) == len && memcmp(flags[i], opt, len) == 0)
			return false;
	return true;
}

static char *subsystems_of(struct arena *a, const char *super)
{
	char *out = arena_alloc(a, strlen(super) + 1);
	char *end = out;
	for (const char *p = super; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (is_subsystem_opt(p, n)) {
			if (end != out)
				*end++ = ',';
			memcpy(end, p, n);
			end += n;
		}
		p += n + (p[n] == ',');
	}
	*end = '\0';
	return out;
}

static struct cgroup_hier *find_hier(struct cgroup_layout *l, bool v2, const char *controllers)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->h[i].v2 == v2 && (v2 || same_set(l->h[i].controllers, controllers)))
			return &l->h[i];
	return NULL;
}

/* A hierarchy mounted twice (a bind mount into some rootfs, say) is one hierarchy; the
 * first mount listed is the host's own. */
static void add_mount(struct cgroup_layout *l, const struct mount_line *m)
{
	bool v2 = streq(m->fstype, "cgroup2");
	if (!v2 && !streq(m->fstype, "cgroup"))
		return;
	char *controllers = v2 ? "" : subsystems_of(&l->arena, m->super);
	if ((!v2 && controllers[0] == '\0') || find_hier(l, v2, controllers) != NULL)
		return;
	struct cgroup_hier *h = &l->h[l->n++];
	h->v2 = v2;
	h->controllers = controllers;
	h->mount = arena_strdup(&l->arena, m->mountpoint);
	h->root = arena_strdup(&l->arena, m->root);
	l->has_v1 |= !v2;
	l->has_v2 |= v2;
}

/* "4:memory:/a/b", "1:name=systemd:/", "0::/user.slice"; the path may hold ':'. */
static void add_self_line(struct cgroup_layout *l, char *line)
{
	char *id = strsep(&line, ":");
	char *controllers = strsep(&line, ":");
	if (line == NULL || controllers == NULL)
		return;
	bool v2 = streq(id, "0") && controllers[0] == '\0';
	struct cgroup_hier *h = find_hier(l, v2, controllers);
	if (h != NULL && h->own == NULL)
		h->own = line;
}

static char *view_name(const struct cgroup_layout *l, const struct cgroup_hier *h)
{
	const char *base = CGROUP_MOUNT_BASE "/";
	if (streq(h->mount, CGROUP_MOUNT_BASE))
		return "";
	if (strncmp(h->mount, base, strlen(base)) == 0 && !strchr(h->mount + strlen(base), '/'))
		return h->mount + strlen(base);
	if (h->v2)
		return l->has_v1 ? "unified" : "";
	/* Mounted elsewhere: name it as systemd would under /sys/fs/cgroup. */
	if (strncmp(h->controllers, "name=", 5) == 0 && !strchr(h->controllers, ','))
		return h->controllers + 5;
	return h->controllers;
}

static size_t count_lines(const char *text)
{
	size_t n = 1;
	for (const char *p = text; *p != '\0'; p++)
		n += *p == '\n';
	return n;
}

int cgroup_layout_parse(const char *mountinfo, const char *self_cgroup, struct cgroup_layout *l,
			struct hull_err *err)
{
	(void)err; /* malformed lines are skipped: they cannot name a usable hierarchy */
	*l = (struct cgroup_layout){0};
	l->h = arena_alloc(&l->arena, count_lines(mountinfo) * sizeof *l->h);
	char *text = arena_strdup(&l->arena, mountinfo);
	for (char *line; (line = strsep(&text, "\n")) != NULL;) {
		struct mount_line m;
		if (split_mount_line(line, &m))
			add_mount(l, &m);
	}
	text = arena_strdup(&l->arena, self_cgroup);
	for (char *line; (line = strsep(&text, "\n")) != NULL;)
		add_self_line(l, line);
	for (size_t i = 0; i < l->n; i++)
		l->h[i].name = view_name(l, &l->h[i]);
	return 0;
}

void cgroup_layout_free(struct cgroup_layout *l)
{
	arena_free(&l->arena);
	*l = (struct cgroup_layout){0};
}

const char *cgroup_layout_kind(const struct cgroup_layout *l)
{
	if (l->has_v1 && l->has_v2)
		return "hybrid";
	if (l->has_v2)
		return "v2";
	return l->has_v1 ? "v1" : "none";
}

char *cgroup_read_text(const char *path, struct hull_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "open %s", path), NULL;
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (buf == NULL)
		return hull_error(err, ENOMEM, "read %s", path), NULL;
	for (ssize_t r; (r = read(fd, buf + len, cap - len - 1)) != 0;) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return hull_error(err, errno, "read %s", path), NULL;
		len += (size_t)r;
		if (len + 1 == cap) {
			char *bigger = realloc(buf, cap *= 2);
			if (bigger == NULL)
				return hull_error(err, ENOMEM, "read %s", path), NULL;
			buf = bigger;
		}
	}
	buf[len] = '\0';
	return steal_ptr(&buf);
}

/* mountinfo still lists a mount that a later mount hides (a tmpfs over /sys/fs/cgroup
 * in a container, say): keep only hierarchies whose mount point is reachable and is a
 * cgroup filesystem now. */
static void drop_hidden(struct cgroup_layout *l)
{
	size_t kept = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct statfs fs;
		bool ok = statfs(l->h[i].mount, &fs) == 0 &&
			  fs.f_type == (l->h[i].v2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC);
		if (ok)
			l->h[kept++] = l->h[i];
	}
	l->n = kept;
	l->has_v1 = l->has_v2 = false;
	for (size_t i = 0; i < l->n; i++) {
		l->has_v2 |= l->h[i].v2;
		l->has_v1 |= !l->h[i].v2;
	}
}

const struct cgroup_layout *cgroup_layout_get(struct hull_err *err)
{
	/* Mounts do not move under a running hull, and every step reads the layout. */
	static struct cgroup_layout cached;
	static bool parsed;
	if (parsed)
		return &cached;
	_cleanup_free_ char *mountinfo = cgroup_read_text("/proc/self/mountinfo", err);
	if (mountinfo == NULL)
		return NULL;
	_cleanup_free_ char *self = cgroup_read_text("/proc/self/cgroup", err);
	if (self == NULL || cgroup_layout_parse(mountinfo, self, &cached, err) < 0)
		return NULL;
	drop_hidden(&cached);
	parsed = true;
	return &cached;
}

/* ---- placement ---- */

/* A path of hierarchy h (as /proc lists it) as a path below h's mount point; NULL when
 * it is not below the mount (a cgroup namespace or bind mount hides it). */
static const char *below_mount(struct arena *a, const struct cgroup_hier *h, const char *path)
{
	const char *norm = normalise(a, path), *root = normalise(a, h->root);
	if (norm == NULL || root == NULL)
		return NULL;
	size_t n = strlen(root);
	if (strncmp(norm, root, n) != 0 || (norm[n] != '\0' && norm[n] != '/'))
		return NULL;
	return norm + n;
}

bool cgroup_hier_has(const struct cgroup_hier *h, const char *controller)
{
	return list_has(h->controllers, controller, strlen(controller));
}

const char *cgroup_proc_rel(const struct cgroup_hier *h, const char *proc_cgroup, struct arena *a)
{
	char *text = arena_strdup(a, proc_cgroup);
	for (char *line; (line = strsep(&text, "\n")) != NULL;) {
		char *id = strsep(&line, ":");
		char *controllers = strsep(&line, ":");
		if (line == NULL || controllers == NULL)
			continue;
		bool v2 = streq(id, "0") && controllers[0] == '\0';
		if (v2 == h->v2 && (v2 || same_set(controllers, h->controllers)))
			return below_mount(a, h, line);
	}
	return NULL;
}

static char *default_path(struct arena *a, const char *id, struct hull_err *err)
{
	if (id == NULL || id[0] == '\0' || strchr(id, '/') != NULL || streq(id, ".") ||
	    streq(id, ".."))
		return hull_error(err, EINVAL, "container id \"%s\": not usable as a cgroup name",
				  id ? id : ""),
		       NULL;
	return arena_printf(a, "/hull/%s", id);
}

static int place_in(const struct cgroup_hier *h, const char *path, const char *norm,
		    struct arena *a, struct cgroup_place *p, struct hull_err *err)
{
	p->h = h;
	p->rel = (char *)norm;
	if (path[0] != '/') {
		/* runc's rule: a relative cgroupsPath is below the creator's own cgroup. */
		const char *own = h->own ? below_mount(a, h, h->own) : NULL;
		if (own == NULL)
			return hull_error(err, 0,
					  "linux.cgroupsPath %s: own cgroup in hierarchy %s is not "
					  "visible below its mount %s",
					  path, h->v2 ? "cgroup2" : h->controllers, h->mount);
		p->rel = arena_printf(a, "%s%s", own, norm);
	}
	p->dir = arena_printf(a, "%s%s", h->mount, p->rel);
	return 0;
}

int cgroup_resolve(const struct cgroup_layout *l, const char *cgroups_path, const char *id,
		   struct arena *a, struct cgroup_place **places, struct hull_err *err)
{
	const char *path = cgroups_path;
	if (path == NULL || path[0] == '\0')
		path = default_path(a, id, err);
	if (path == NULL || cgroup_systemd_path(a, path, &path, err) < 0)
		return -1;
	const char *norm = normalise(a, path);
	if (norm == NULL)
		return hull_error(err, EINVAL, "linux.cgroupsPath: must not contain \"..\"");
	if (norm[0] == '\0')
		return hull_error(err, EINVAL, "linux.cgroupsPath %s: names no cgroup", path);
	struct cgroup_place *p = arena_alloc(a, (l->n ? l->n : 1) * sizeof *p);
	for (size_t i = 0; i < l->n; i++)
		if (place_in(&l->h[i], path, norm, a, &p[i], err) < 0)
			return -1;
	*places = p;
	return 0;
}

/* ---- the saved string ---- */

static char *escape(struct arena *a, const char *s)
{
	char *out = arena_alloc(a, 3 * strlen(s) + 1), *end = out;
	for (; *s != '\0'; s++) {
		if (*s == '%')
			end = stpcpy(end, "%25");
		else if (*s == ';')
			end = stpcpy(end, "%3B");
		else
			*end++ = *s;
	}
	return out;
}

static bool unescape(char *s)
{
	char *out = s;
	for (char *in = s; *in != '\0'; in++) {
		if (*in != '%') {
			*out++ = *in;
			continue;
		}
		char hex[3] = {in[1], in[1] ? in[2] : '\0', '\0'}, *end;
		unsigned long v = strtoul(hex, &end, 16);
		if (end != hex + 2 || v == 0)
			return false;
		*out++ = (char)v;
		in += 2;
	}
	*out = '\0';
	return true;
}

char *cgroup_saved_format(const struct cgroup_place *p, size_t n, struct arena *a)
{
	bool alike = n > 0;
	for (size_t i = 1; i < n; i++)
		alike &= p[i].created == p[0].created && streq(p[i].rel, p[0].rel);
	if (alike)
		return arena_printf(a, "*:%u:%s", p[0].created, escape(a, p[0].rel));
	char *out = arena_strdup(a, "");
	for (size_t i = 0; i < n; i++)
		out = arena_printf(a, "%s%s%s:%u:%s", out, i ? ";" : "", p[i].h->controllers,
				   p[i].created, escape(a, p[i].rel));
	return out;
}

/* "<key>:<created>:<rel>"; rel comes back unescaped. */
static int split_entry(char *entry, char **key, unsigned *created, char **rel)
{
	*key = strsep(&entry, ":");
	char *num = strsep(&entry, ":");
	if (entry == NULL || num == NULL || num[0] < '0' || num[0] > '9')
		return -1;
	char *end;
	unsigned long c = strtoul(num, &end, 10);
	if (*end != '\0' || c > 4096)
		return -1;
	*created = (unsigned)c;
	*rel = entry;
	return unescape(*rel) ? 0 : -1;
}

static int saved_place(const struct cgroup_hier *h, unsigned created, char *rel, struct arena *a,
		       struct cgroup_place *p)
{
	/* state.json is root's, but a hand-edited one must still not steer rmdir outside
	 * the hierarchy. */
	const char *norm = normalise(a, rel);
	if (norm == NULL || norm[0] == '\0' || !streq(norm, rel) || created > count_components(rel))
		return -1;
	*p = (struct cgroup_place){.h = h, .rel = rel, .created = created};
	p->dir = arena_printf(a, "%s%s", h->mount, rel);
	return 0;
}

static int parse_entry(const struct cgroup_layout *l, char *entry, struct arena *a,
		       struct cgroup_place *places, size_t *n)
{
	char *key, *rel;
	unsigned created;
	if (split_entry(entry, &key, &created, &rel) < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		const struct cgroup_hier *h = &l->h[i];
		bool match =
		    streq(key, "*") ||
		    (h->v2 ? key[0] == '\0' : key[0] != '\0' && same_set(key, h->controllers));
		if (!match)
			continue;
		for (size_t j = 0; j < *n; j++)
			if (places[j].h == h)
				return -1;
		if (saved_place(h, created, rel, a, &places[(*n)++]) < 0)
			return -1;
	}
	return 0;
}

int cgroup_saved_parse(const struct cgroup_layout *l, const char *saved, struct arena *a,
		       struct cgroup_place **places, size_t *n, struct hull_err *err)
{
	struct cgroup_place *p = arena_alloc(a, (l->n ? l->n : 1) * sizeof *p);
	size_t used = 0;
	char *text = arena_strdup(a, saved ? saved : "");
	bool star = text[0] == '*';
	for (char *entry; (entry = strsep(&text, ";")) != NULL;)
		if ((star && text != NULL) || parse_entry(l, entry, a, p, &used) < 0)
			return hull_error(err, EINVAL, "saved cgroup \"%s\": malformed", saved);
	if (used == 0)
		return hull_error(err, ENOENT,
				  "saved cgroup \"%s\": no hierarchy of this host matches", saved);
	*places = p;
	*n = used;
	return 0;
}
