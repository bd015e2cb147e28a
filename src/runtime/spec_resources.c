/* config.json "linux.resources" (and `update --resources FILE`) into struct oci_resources:
 * every field of runtime-spec config-linux.md, checked here so that src/cgroups only maps
 * values to files. Numbers are range-checked as far as the spec says; the kernel judges
 * the rest when the value is written. */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "runtime/spec.h"
#include "spec_internal.h"

/* An optional integer member into an oci_int. */
static int get_oint(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		    int64_t min, int64_t max, struct oci_int *out)
{
	int r = spec_get_int(c, obj, path, key, min, max, &out->v);
	out->set = r > 0;
	return r;
}

typedef int (*object_fn)(struct spec_ctx *c, yajl_val v, const char *path, void *item);

/* An optional array of objects: allocate n+1 items of size, then fill each with fn. */
static int get_objects(struct spec_ctx *c, yajl_val obj, const char *path, const char *key,
		       size_t size, object_fn fn, void **out, size_t *n)
{
	yajl_val list = NULL;
	int r = spec_get_array(c, obj, path, key, &list);
	if (r <= 0)
		return r;
	*n = list->u.array.len;
	*out = arena_alloc(c->a, (*n + 1) * size);
	for (size_t i = 0; i < *n; i++) {
		char p[SPEC_PATH_MAX];
		spec_index(p, path, key, i);
		if (!YAJL_IS_OBJECT(list->u.array.values[i]))
			return spec_fail(c, p, NULL, "must be an object");
		if (fn(c, list->u.array.values[i], p, (char *)*out + i * size) < 0)
			return -1;
	}
	return 1;
}

/* ---- devices ---- */

/* "rwm" in any order, each letter once, stored in the canonical order. */
static int device_access(struct spec_ctx *c, yajl_val v, const char *path, char out[4])
{
	char *access = NULL;
	int r = spec_get_string(c, v, path, "access", &access);
	if (r < 0)
		return -1;
	if (r == 0) {
		memcpy(out, "rwm", 4);
		return 0;
	}
	bool has[3] = {false, false, false};
	for (const char *p = access; *p; p++) {
		const char *at = strchr("rwm", *p);
		if (at == NULL || has[at - "rwm"])
			return spec_fail(c, path, "access",
					 "must be a combination of \"r\", \"w\" and \"m\"");
		has[at - "rwm"] = true;
	}
	/* An empty access grants nothing in the kernel's v1 exception list, yet some tools
	 * read it as "rwm": refuse rather than guess which was meant. */
	if (access[0] == '\0')
		return spec_fail(c, path, "access", "must not be empty");
	size_t k = 0;
	for (int i = 0; i < 3; i++)
		if (has[i])
			out[k++] = "rwm"[i];
	out[k] = '\0';
	return 0;
}

static int device_rule(struct spec_ctx *c, yajl_val v, const char *path, void *item)
{
	struct oci_device_rule *d = item;
	char *type = NULL;
	if (spec_need(c, spec_get_bool(c, v, path, "allow", &d->allow), path, "allow") < 0)
		return -1;
	int r = spec_get_string(c, v, path, "type", &type);
	if (r < 0)
		return -1;
	if (r > 0 && (strlen(type) != 1 || strchr("acb", type[0]) == NULL))
		return spec_fail(c, path, "type", "must be one of \"a\", \"c\", \"b\"");
	d->type = r > 0 ? type[0] : 'a';
	d->major = d->minor = -1;
	if (spec_get_int(c, v, path, "major", -1, UINT32_MAX, &d->major) < 0 ||
	    spec_get_int(c, v, path, "minor", -1, UINT32_MAX, &d->minor) < 0)
		return -1;
	return device_access(c, v, path, d->access);
}

/* ---- memory, cpu, pids ---- */

static int parse_memory(struct spec_ctx *c, yajl_val res, const char *base, struct oci_resources *r)
{
	yajl_val v = NULL;
	char p[SPEC_PATH_MAX];
	spec_join(p, base, "memory");
	int got = spec_get_object(c, res, base, "memory", &v);
	if (got <= 0)
		return got;
	/* -1 is "unlimited" for every limit, as in runc. */
	if (get_oint(c, v, p, "limit", -1, INT64_MAX, &r->memory.limit) < 0 ||
	    get_oint(c, v, p, "reservation", -1, INT64_MAX, &r->memory.reservation) < 0 ||
	    get_oint(c, v, p, "swap", -1, INT64_MAX, &r->memory.swap) < 0 ||
	    get_oint(c, v, p, "kernel", -1, INT64_MAX, &r->memory.kernel) < 0 ||
	    get_oint(c, v, p, "kernelTCP", -1, INT64_MAX, &r->memory.kernel_tcp) < 0 ||
	    get_oint(c, v, p, "swappiness", 0, 100, &r->memory.swappiness) < 0)
		return -1;
	int d = spec_get_bool(c, v, p, "disableOOMKiller", &r->memory.disable_oom_killer);
	int u = d < 0 ? -1 : spec_get_bool(c, v, p, "useHierarchy", &r->memory.use_hierarchy);
	if (u < 0 ||
	    spec_get_bool(c, v, p, "checkBeforeUpdate", &r->memory.check_before_update) < 0)
		return -1;
	r->memory.has_disable_oom_killer = d > 0;
	r->memory.has_use_hierarchy = u > 0;
	/* OCI swap is memory+swap (the v1 memsw meaning), so it cannot be below the limit. */
	const struct oci_int *lim = &r->memory.limit, *sw = &r->memory.swap;
	if (lim->set && sw->set && lim->v > 0 && sw->v > 0 && sw->v < lim->v)
		return spec_fail(c, p, "swap",
				 "must be at least memory.limit (it counts memory plus swap)");
	return 0;
}

static int parse_cpu(struct spec_ctx *c, yajl_val res, const char *base, struct oci_resources *r)
{
	yajl_val v = NULL;
	char p[SPEC_PATH_MAX];
	spec_join(p, base, "cpu");
	int got = spec_get_object(c, res, base, "cpu", &v);
	if (got <= 0)
		return got;
	if (get_oint(c, v, p, "shares", 0, INT64_MAX, &r->cpu.shares) < 0 ||
	    get_oint(c, v, p, "quota", -1, INT64_MAX, &r->cpu.quota) < 0 ||
	    get_oint(c, v, p, "burst", 0, INT64_MAX, &r->cpu.burst) < 0 ||
	    get_oint(c, v, p, "period", 0, INT64_MAX, &r->cpu.period) < 0 ||
	    get_oint(c, v, p, "realtimeRuntime", -1, INT64_MAX, &r->cpu.realtime_runtime) < 0 ||
	    get_oint(c, v, p, "realtimePeriod", 0, INT64_MAX, &r->cpu.realtime_period) < 0 ||
	    /* The kernel's cpu.idle takes 0 or 1. */
	    get_oint(c, v, p, "idle", 0, 1, &r->cpu.idle) < 0 ||
	    spec_get_string(c, v, p, "cpus", &r->cpu.cpus) < 0 ||
	    spec_get_string(c, v, p, "mems", &r->cpu.mems) < 0)
		return -1;
	return 0;
}

static int parse_pids(struct spec_ctx *c, yajl_val res, const char *base, struct oci_resources *r)
{
	yajl_val v = NULL;
	char p[SPEC_PATH_MAX];
	spec_join(p, base, "pids");
	int got = spec_get_object(c, res, base, "pids", &v);
	if (got <= 0)
		return got;
	return get_oint(c, v, p, "limit", INT64_MIN, INT64_MAX, &r->pids_limit) < 0 ? -1 : 0;
}

/* ---- blockIO ---- */

enum { BLKIO_WEIGHT_MIN = 10, BLKIO_WEIGHT_MAX = 1000 };

static int block_numbers(struct spec_ctx *c, yajl_val v, const char *path,
			 struct oci_block_device *d)
{
	if (spec_need(c, spec_get_int(c, v, path, "major", 0, UINT32_MAX, &d->major), path,
		      "major") < 0 ||
	    spec_need(c, spec_get_int(c, v, path, "minor", 0, UINT32_MAX, &d->minor), path,
		      "minor") < 0)
		return -1;
	return 0;
}

static int weight_device(struct spec_ctx *c, yajl_val v, const char *path, void *item)
{
	struct oci_block_device *d = item;
	if (block_numbers(c, v, path, d) < 0 ||
	    get_oint(c, v, path, "weight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, &d->weight) < 0 ||
	    get_oint(c, v, path, "leafWeight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX,
		     &d->leaf_weight) < 0)
		return -1;
	return 0;
}

static int throttle_device(struct spec_ctx *c, yajl_val v, const char *path, void *item)
{
	struct oci_block_device *d = item;
	if (block_numbers(c, v, path, d) < 0)
		return -1;
	return spec_need(c, spec_get_u64(c, v, path, "rate", &d->rate), path, "rate") < 0 ? -1 : 0;
}

static int parse_throttles(struct spec_ctx *c, yajl_val v, const char *p, struct oci_resources *r)
{
	size_t sz = sizeof(struct oci_block_device);
	if (get_objects(c, v, p, "throttleReadBpsDevice", sz, throttle_device,
			(void **)&r->block_io.throttle_read_bps,
			&r->block_io.n_throttle_read_bps) < 0 ||
	    get_objects(c, v, p, "throttleWriteBpsDevice", sz, throttle_device,
			(void **)&r->block_io.throttle_write_bps,
			&r->block_io.n_throttle_write_bps) < 0 ||
	    get_objects(c, v, p, "throttleReadIOPSDevice", sz, throttle_device,
			(void **)&r->block_io.throttle_read_iops,
			&r->block_io.n_throttle_read_iops) < 0 ||
	    get_objects(c, v, p, "throttleWriteIOPSDevice", sz, throttle_device,
			(void **)&r->block_io.throttle_write_iops,
			&r->block_io.n_throttle_write_iops) < 0)
		return -1;
	return 0;
}

static int parse_block_io(struct spec_ctx *c, yajl_val res, const char *base,
			  struct oci_resources *r)
{
	yajl_val v = NULL;
	char p[SPEC_PATH_MAX];
	spec_join(p, base, "blockIO");
	int got = spec_get_object(c, res, base, "blockIO", &v);
	if (got <= 0)
		return got;
	if (get_oint(c, v, p, "weight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, &r->block_io.weight) <
		0 ||
	    get_oint(c, v, p, "leafWeight", BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX,
		     &r->block_io.leaf_weight) < 0 ||
	    get_objects(c, v, p, "weightDevice", sizeof(struct oci_block_device), weight_device,
			(void **)&r->block_io.weight_device, &r->block_io.n_weight_device) < 0)
		return -1;
	return parse_throttles(c, v, p, r);
}

/* ---- hugepages, network, rdma, unified ---- */

/* The size becomes part of a file name (hugetlb.<size>.max): digits and a unit only. */
static bool page_size_ok(const char *s)
{
	size_t digits = strspn(s, "0123456789");
	return digits > 0 && s[digits] != '\0' && strchr("KMGTP", s[digits]) != NULL &&
	       strcmp(s + digits + 1, "B") == 0;
}

static int hugepage_limit(struct spec_ctx *c, yajl_val v, const char *path, void *item)
{
	struct oci_hugepage_limit *h = item;
	if (spec_need(c, spec_get_string(c, v, path, "pageSize", &h->page_size), path, "pageSize") <
		0 ||
	    spec_need(c, spec_get_u64(c, v, path, "limit", &h->limit), path, "limit") < 0)
		return -1;
	if (!page_size_ok(h->page_size))
		return spec_fail(c, path, "pageSize", "\"%s\" is not a size like \"2MB\"",
				 h->page_size);
	return 0;
}

/* Names that go into a cgroup file as "<name> <value>": no separators, no newlines. */
static bool word_ok(const char *s)
{
	return s[0] != '\0' && s[strcspn(s, " \t\n/")] == '\0';
}

static int net_priority(struct spec_ctx *c, yajl_val v, const char *path, void *item)
{
	struct oci_net_priority *n = item;
	if (spec_need(c, spec_get_string(c, v, path, "name", &n->name), path, "name") < 0 ||
	    spec_need(c, spec_get_u32(c, v, path, "priority", &n->priority), path, "priority") < 0)
		return -1;
	if (!word_ok(n->name))
		return spec_fail(c, path, "name", "\"%s\" is not an interface name", n->name);
	return 0;
}

static int parse_network(struct spec_ctx *c, yajl_val res, const char *base,
			 struct oci_resources *r)
{
	yajl_val v = NULL;
	char p[SPEC_PATH_MAX];
	spec_join(p, base, "network");
	int got = spec_get_object(c, res, base, "network", &v);
	if (got <= 0)
		return got;
	if (get_oint(c, v, p, "classID", 0, UINT32_MAX, &r->network.class_id) < 0 ||
	    get_objects(c, v, p, "priorities", sizeof(struct oci_net_priority), net_priority,
			(void **)&r->network.priorities, &r->network.n_priorities) < 0)
		return -1;
	return 0;
}

static int parse_rdma(struct spec_ctx *c, yajl_val res, const char *base, struct oci_resources *r)
{
	yajl_val v = NULL;
	char p[SPEC_PATH_MAX];
	spec_join(p, base, "rdma");
	int got = spec_get_object(c, res, base, "rdma", &v);
	if (got <= 0)
		return got;
	r->n_rdma = v->u.object.len;
	r->rdma = arena_alloc(c->a, (r->n_rdma + 1) * sizeof(*r->rdma));
	for (size_t i = 0; i < r->n_rdma; i++) {
		struct oci_rdma_limit *l = &r->rdma[i];
		yajl_val dev = v->u.object.values[i];
		char dp[SPEC_PATH_MAX];
		l->device = arena_strdup(c->a, v->u.object.keys[i]);
		spec_join(dp, p, l->device);
		if (!word_ok(l->device))
			return spec_fail(c, p, l->device, "is not an RDMA device name");
		if (!YAJL_IS_OBJECT(dev))
			return spec_fail(c, dp, NULL, "must be an object");
		if (get_oint(c, dev, dp, "hcaHandles", 0, UINT32_MAX, &l->hca_handles) < 0 ||
		    get_oint(c, dev, dp, "hcaObjects", 0, UINT32_MAX, &l->hca_objects) < 0)
			return -1;
	}
	return 0;
}

static int parse_unified(struct spec_ctx *c, yajl_val res, const char *base,
			 struct oci_resources *r)
{
	char p[SPEC_PATH_MAX];
	spec_join(p, base, "unified");
	if (spec_get_string_map(c, res, base, "unified", &r->unified, &r->n_unified) < 0)
		return -1;
	/* Each key names a file in the container's cgroup directory: keep it there. */
	for (size_t i = 0; i < r->n_unified; i++) {
		const char *k = r->unified[i].key;
		if (k[0] == '\0' || strchr(k, '/') != NULL || strstr(k, "..") != NULL)
			return spec_fail(c, p, k, "is not a cgroup file name");
	}
	return 0;
}

/* ---- the object ---- */

static int parse_object(struct spec_ctx *c, yajl_val res, const char *base, struct oci_resources *r)
{
	if (get_objects(c, res, base, "devices", sizeof(struct oci_device_rule), device_rule,
			(void **)&r->devices, &r->n_devices) < 0 ||
	    parse_memory(c, res, base, r) < 0 || parse_cpu(c, res, base, r) < 0 ||
	    parse_pids(c, res, base, r) < 0 || parse_block_io(c, res, base, r) < 0 ||
	    get_objects(c, res, base, "hugepageLimits", sizeof(struct oci_hugepage_limit),
			hugepage_limit, (void **)&r->hugepage_limits, &r->n_hugepage_limits) < 0 ||
	    parse_network(c, res, base, r) < 0 || parse_rdma(c, res, base, r) < 0 ||
	    parse_unified(c, res, base, r) < 0)
		return -1;
	return 0;
}

int spec_parse_resources(struct spec_ctx *c, yajl_val lin)
{
	yajl_val v = NULL;
	int r = spec_get_object(c, lin, "linux", "resources", &v);
	if (r <= 0)
		return r;
	c->spec->linux_cfg.resources = arena_alloc(c->a, sizeof(struct oci_resources));
	return parse_object(c, v, "linux.resources", c->spec->linux_cfg.resources);
}

/* ---- the device rules a container gets without asking ---- */

/* What runc's libcontainer appends after the config's own rules (its AllowedDevices), so
 * that a config denying everything still has a working /dev: mknod of any node (opening
 * one stays denied), null, zero, full, random, urandom, tty, console, ptmx and the
 * devpts ptys. Left out: runc's one-time tun/tap (10:200) rule, a host network device
 * nobody asked for. */
static const struct oci_device_rule implied_rules[] = {
    {true, 'c', -1, -1, "m"}, {true, 'b', -1, -1, "m"},	   {true, 'c', 1, 3, "rwm"},
    {true, 'c', 1, 5, "rwm"}, {true, 'c', 1, 7, "rwm"},	   {true, 'c', 1, 8, "rwm"},
    {true, 'c', 1, 9, "rwm"}, {true, 'c', 5, 0, "rwm"},	   {true, 'c', 5, 1, "rwm"},
    {true, 'c', 5, 2, "rwm"}, {true, 'c', 136, -1, "rwm"},
};

void spec_resources_imply_devices(struct spec_ctx *c)
{
	struct oci_linux *l = &c->spec->linux_cfg;
	if (l->resources == NULL)
		l->resources = arena_alloc(c->a, sizeof(struct oci_resources));
	struct oci_resources *r = l->resources;
	size_t n_implied = sizeof implied_rules / sizeof implied_rules[0];
	struct oci_device_rule *all =
	    arena_alloc(c->a, (r->n_devices + l->n_devices + n_implied + 1) * sizeof(*all));
	size_t n = 0;
	for (size_t i = 0; i < r->n_devices; i++)
		all[n++] = r->devices[i];
	/* runtime-spec: the devices listed in linux.devices are made available to the
	 * container, so they are allowed too (after the config's rules, as runc does). */
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct oci_device *d = &l->devices[i];
		if (d->type != 'p')
			all[n++] = (struct oci_device_rule){true, d->type == 'b' ? 'b' : 'c',
							    d->major, d->minor, "rwm"};
	}
	for (size_t i = 0; i < n_implied; i++)
		all[n++] = implied_rules[i];
	r->devices = all;
	r->n_devices = n;
}

/* ---- `update --resources FILE` ---- */

/* spec_fail writes "config.json: path: problem"; a stand-alone document has its own
 * name and no linux.resources prefix. */
static int rename_error(struct hull_err *err, const char *what)
{
	static const char prefix[] = "config.json: ";
	const char *msg = err->msg ? err->msg : "invalid value";
	if (strncmp(msg, prefix, sizeof prefix - 1) == 0)
		msg += sizeof prefix - 1;
	char copy[512];
	snprintf(copy, sizeof copy, "%s", msg);
	return hull_error(err, err->code, "%s: %s", what, copy);
}

int spec_parse_resources_text(const char *text, const char *what, struct arena *a,
			      struct oci_resources *r, struct hull_err *err)
{
	*r = (struct oci_resources){0};
	_cleanup_tree_ yajl_val doc = json_parse(text, err);
	if (doc == NULL)
		return hull_error_wrap(err, "%s", what);
	if (!YAJL_IS_OBJECT(doc))
		return hull_error(err, 0, "%s: must be a JSON object", what);
	struct spec_ctx c = {.spec = NULL, .a = a, .err = err};
	if (parse_object(&c, doc, "", r) < 0)
		return rename_error(err, what);
	return 0;
}
