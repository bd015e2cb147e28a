/* cgroup_apply: linux.resources onto the container's cgroup. Each controller is used in
 * the hierarchy that has it (on a hybrid host the v1 one, unless only cgroup2 has it); a
 * value the host cannot apply is an error naming the field, except the few the spec or
 * cgroup v2 makes meaningless (see resources_v1.c and resources_v2.c). This file finds
 * the controllers and applies what v1 and v2 write alike. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "layout.h"
#include "resources.h"

/* ---- files ---- */

static int join(char out[PATH_MAX], const char *dir, const char *file, struct hull_err *err)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, file);
	if (n < 0 || n >= PATH_MAX)
		return hull_error(err, ENAMETOOLONG, "%s/%s", dir, file);
	return 0;
}

static int write_text(const char *dir, const char *file, const char *value, struct hull_err *err)
{
	char path[PATH_MAX];
	if (join(path, dir, file, err) < 0)
		return -1;
	/* O_TRUNC means nothing to cgroupfs; it lets the unit tests' plain-file trees keep
	 * just the last value written. */
	_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "write %s to %s", value, path);
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0 || (size_t)n != len)
		return hull_error(err, n < 0 ? errno : EIO, "write %s to %s", value, path);
	return 0;
}

static bool has_word(const char *list, const char *word)
{
	size_t len = strlen(word);
	for (const char *p = list; *p != '\0';) {
		p += strspn(p, " \n");
		size_t n = strcspn(p, " \n");
		if (n == len && memcmp(p, word, n) == 0)
			return true;
		p += n;
	}
	return false;
}

static bool file_lists(const char *dir, const char *file, const char *word)
{
	char path[PATH_MAX];
	struct hull_err ignored = {0};
	_cleanup_free_ char *text =
	    join(path, dir, file, &ignored) < 0 ? NULL : cgroup_read_text(path, &ignored);
	hull_err_clear(&ignored);
	return text != NULL && has_word(text, word);
}

bool res_given(const struct oci_int *i)
{
	return i->set && i->v != 0;
}

bool res_has(const struct res_target *t, const char *file)
{
	char path[PATH_MAX];
	return snprintf(path, sizeof path, "%s/%s", t->dir, file) < (int)sizeof path &&
	       access(path, F_OK) == 0;
}

int res_fail(const char *field, const char *what, struct hull_err *err)
{
	return hull_error(err, 0, "linux.resources.%s: %s", field, what);
}

int res_write(const struct res_target *t, const char *file, const char *value, const char *field,
	      struct hull_err *err)
{
	if (write_text(t->dir, file, value, err) < 0)
		return hull_error_wrap(err, "linux.resources.%s", field);
	return 0;
}

int res_write_num(const struct res_target *t, const char *file, int64_t v, const char *field,
		  struct hull_err *err)
{
	char text[32];
	if (v < 0)
		snprintf(text, sizeof text, "%s", t->v2 ? "max" : "-1");
	else
		snprintf(text, sizeof text, "%" PRId64, v);
	return res_write(t, file, text, field, err);
}

char *res_read(const struct res_target *t, const char *file, struct hull_err *err)
{
	char path[PATH_MAX];
	if (join(path, t->dir, file, err) < 0)
		return NULL;
	return cgroup_read_text(path, err);
}

int res_read_u64(const struct res_target *t, const char *file, uint64_t *v, struct hull_err *err)
{
	_cleanup_free_ char *text = res_read(t, file, err);
	if (text == NULL)
		return -1;
	char *end = NULL;
	errno = 0;
	*v = strncmp(text, "max", 3) == 0 ? UINT64_MAX : strtoull(text, &end, 10);
	if (errno != 0 || end == text)
		return hull_error(err, EINVAL, "%s/%s: not a number", t->dir, file);
	return 0;
}

/* ---- shared by resources_v1.c and resources_v2.c ---- */

int res_check_usage(const struct res_target *t, const struct oci_resources *r,
		    const char *usage_file, struct hull_err *err)
{
	const struct oci_int *lim = &r->memory.limit;
	uint64_t usage = 0;
	if (!r->memory.check_before_update || !res_given(lim) || lim->v < 0)
		return 0;
	if (res_read_u64(t, usage_file, &usage, err) < 0)
		return -1;
	if ((uint64_t)lim->v >= usage)
		return 0;
	char what[128];
	snprintf(what, sizeof what, "%" PRId64 " is below the current usage %" PRIu64, lim->v,
		 usage);
	return res_fail("memory.limit", what, err);
}

/* A file only some kernels have (burst since 5.14, idle since 5.15, rt with
 * CONFIG_RT_GROUP_SCHED): a value for it cannot be applied without it. */
int res_optional_num(const struct res_target *t, bool given, int64_t v, const char *file,
		     const char *field, struct hull_err *err)
{
	if (!given)
		return 0;
	if (!res_has(t, file)) {
		char what[96];
		snprintf(what, sizeof what, "this kernel has no %s", file);
		return res_fail(field, what, err);
	}
	return res_write_num(t, file, v, field, err);
}

/* ---- finding a controller ---- */

static const struct cgroup_place *v2_place(const struct cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->places[i].h->v2)
			return &cg->places[i];
	return NULL;
}

const char *res_v2_dir(const struct cgroup *cg)
{
	const struct cgroup_place *p = v2_place(cg);
	return p ? p->dir : NULL;
}

/* A cgroup2 controller reaches a cgroup only through its ancestors' subtree_control.
 * cgroup_create passes every controller down on pure v2 hosts; on hybrid ones cgroup2
 * holds the odd controller (hugetlb here) and it is passed down here, when asked for. 0
 * when some level above does not have it to give. */
static int v2_enable(const struct cgroup_place *p, const char *ctrl, struct hull_err *err)
{
	char dir[PATH_MAX], plus[64];
	size_t root = strlen(p->h->mount);
	if (snprintf(dir, sizeof dir, "%s", p->dir) >= (int)sizeof dir || strlen(dir) <= root)
		return 0;
	snprintf(plus, sizeof plus, "+%s", ctrl);
	char *last = strrchr(dir, '/');
	for (char *s = dir + root; s != NULL && s <= last; s = strchr(s + 1, '/')) {
		char c = *s;
		*s = '\0';
		int r = !file_lists(dir, "cgroup.controllers", ctrl)		   ? 0
			: file_lists(dir, "cgroup.subtree_control", ctrl)	   ? 1
			: write_text(dir, "cgroup.subtree_control", plus, err) < 0 ? -1
										   : 1;
		*s = c;
		if (r <= 0)
			return r < 0 ? hull_error_wrap(err, "enable the %s controller", ctrl) : 0;
	}
	return 1;
}

int res_find(const struct cgroup *cg, const char *v1_name, const char *v2_name,
	     struct res_target *t, struct hull_err *err)
{
	for (size_t i = 0; v1_name != NULL && i < cg->n; i++)
		if (!cg->places[i].h->v2 && cgroup_hier_has(cg->places[i].h, v1_name)) {
			*t = (struct res_target){cg->places[i].dir, false};
			return 1;
		}
	const struct cgroup_place *p = v2_name ? v2_place(cg) : NULL;
	if (p == NULL)
		return 0;
	*t = (struct res_target){p->dir, true};
	if (file_lists(p->dir, "cgroup.controllers", v2_name))
		return 1;
	int r = v2_enable(p, v2_name, err);
	if (r <= 0)
		return r;
	return file_lists(p->dir, "cgroup.controllers", v2_name) ? 1 : 0;
}

/* The controller's place, or an error naming field when the host has none. */
static int need(const struct cgroup *cg, const char *v1_name, const char *v2_name,
		const char *field, struct res_target *t, struct hull_err *err)
{
	int r = res_find(cg, v1_name, v2_name, t, err);
	if (r == 0) {
		char what[96];
		snprintf(what, sizeof what, "no %s controller on this host", v1_name);
		return res_fail(field, what, err);
	}
	return r < 0 ? -1 : 0;
}

/* ---- the sections ---- */

static int apply_memory(const struct cgroup *cg, const struct oci_resources *r,
			struct hull_err *err)
{
	const typeof(r->memory) *m = &r->memory;
	bool wanted = res_given(&m->limit) || res_given(&m->reservation) || res_given(&m->swap) ||
		      m->swappiness.set || m->has_disable_oom_killer || m->has_use_hierarchy;
	/* Kernel memory limits alone need no controller: they are ignored where absent. */
	bool optional = res_given(&m->kernel) || res_given(&m->kernel_tcp);
	struct res_target t;
	if (!wanted && !optional)
		return 0;
	int found = res_find(cg, "memory", "memory", &t, err);
	if (found <= 0)
		return found < 0 ? -1
		       : wanted	 ? res_fail("memory", "no memory controller on this host", err)
				 : 0;
	return t.v2 ? res_memory_v2(&t, r, err) : res_memory_v1(&t, r, err);
}

static int apply_cpu(const struct cgroup *cg, const struct oci_resources *r, struct hull_err *err)
{
	const typeof(r->cpu) *c = &r->cpu;
	struct res_target t;
	if (res_given(&c->shares) || res_given(&c->quota) || res_given(&c->period) ||
	    c->burst.set || c->realtime_runtime.set || res_given(&c->realtime_period) ||
	    c->idle.set) {
		if (need(cg, "cpu", "cpu", "cpu", &t, err) < 0 ||
		    (t.v2 ? res_cpu_v2(&t, r, err) : res_cpu_v1(&t, r, err)) < 0)
			return -1;
	}
	bool cpus = c->cpus && c->cpus[0], mems = c->mems && c->mems[0];
	if (!cpus && !mems)
		return 0;
	if (need(cg, "cpuset", "cpuset", cpus ? "cpu.cpus" : "cpu.mems", &t, err) < 0)
		return -1;
	/* Same names on v1 and v2. */
	if (cpus && res_write(&t, "cpuset.cpus", c->cpus, "cpu.cpus", err) < 0)
		return -1;
	return mems ? res_write(&t, "cpuset.mems", c->mems, "cpu.mems", err) : 0;
}

static int apply_pids(const struct cgroup *cg, const struct oci_resources *r, struct hull_err *err)
{
	struct res_target t;
	if (!r->pids_limit.set)
		return 0;
	if (need(cg, "pids", "pids", "pids.limit", &t, err) < 0)
		return -1;
	/* runtime-spec: 0 or -1 is no limit. */
	const char *max = "max";
	char text[32];
	snprintf(text, sizeof text, "%" PRId64, r->pids_limit.v);
	return res_write(&t, "pids.max", r->pids_limit.v <= 0 ? max : text, "pids.limit", err);
}

static int apply_block_io(const struct cgroup *cg, const struct oci_resources *r,
			  struct hull_err *err)
{
	const typeof(r->block_io) *b = &r->block_io;
	struct res_target t;
	if (!res_given(&b->weight) && !res_given(&b->leaf_weight) && b->n_weight_device == 0 &&
	    b->n_throttle_read_bps == 0 && b->n_throttle_write_bps == 0 &&
	    b->n_throttle_read_iops == 0 && b->n_throttle_write_iops == 0)
		return 0;
	if (need(cg, "blkio", "io", "blockIO", &t, err) < 0)
		return -1;
	return t.v2 ? res_io_v2(&t, r, err) : res_blkio_v1(&t, r, err);
}

static int hugepage_limit(const struct res_target *t, const struct oci_hugepage_limit *h,
			  const char *field, struct hull_err *err)
{
	char file[96], rsvd[96], value[32];
	const char *suffix = t->v2 ? "max" : "limit_in_bytes";
	snprintf(file, sizeof file, "hugetlb.%s.%s", h->page_size, suffix);
	snprintf(rsvd, sizeof rsvd, "hugetlb.%s.rsvd.%s", h->page_size, suffix);
	snprintf(value, sizeof value, "%" PRIu64, h->limit);
	if (!res_has(t, file)) {
		char what[256];
		snprintf(what, sizeof what, "page size %s is not supported on this host (no %s)",
			 h->page_size, file);
		return res_fail(field, what, err);
	}
	if (res_write(t, file, value, field, err) < 0)
		return -1;
	/* Reservations (5.7+) are charged apart from faults; bound both, as runc does. */
	return res_has(t, rsvd) ? res_write(t, rsvd, value, field, err) : 0;
}

static int apply_hugepages(const struct cgroup *cg, const struct oci_resources *r,
			   struct hull_err *err)
{
	struct res_target t;
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		char field[48];
		snprintf(field, sizeof field, "hugepageLimits[%zu]", i);
		if ((i == 0 && need(cg, "hugetlb", "hugetlb", field, &t, err) < 0) ||
		    hugepage_limit(&t, &r->hugepage_limits[i], field, err) < 0)
			return -1;
	}
	return 0;
}

/* net_cls and net_prio exist on cgroup v1 only; v2 leaves this to BPF programs. */
static int apply_network(const struct cgroup *cg, const struct oci_resources *r,
			 struct hull_err *err)
{
	struct res_target t;
	if (r->network.class_id.set && (need(cg, "net_cls", NULL, "network.classID", &t, err) < 0 ||
					res_write_num(&t, "net_cls.classid", r->network.class_id.v,
						      "network.classID", err) < 0))
		return -1;
	for (size_t i = 0; i < r->network.n_priorities; i++) {
		const struct oci_net_priority *p = &r->network.priorities[i];
		char field[48], line[128];
		snprintf(field, sizeof field, "network.priorities[%zu]", i);
		snprintf(line, sizeof line, "%s %" PRIu32, p->name, p->priority);
		if ((i == 0 && need(cg, "net_prio", NULL, field, &t, err) < 0) ||
		    res_write(&t, "net_prio.ifpriomap", line, field, err) < 0)
			return -1;
	}
	return 0;
}

static void rdma_value(const struct oci_int *v, char out[24])
{
	if (v->set)
		snprintf(out, 24, "%" PRId64, v->v);
	else
		snprintf(out, 24, "max");
}

static int apply_rdma(const struct cgroup *cg, const struct oci_resources *r, struct hull_err *err)
{
	struct res_target t;
	for (size_t i = 0; i < r->n_rdma; i++) {
		const struct oci_rdma_limit *l = &r->rdma[i];
		char field[160], line[256], handles[24], objects[24];
		snprintf(field, sizeof field, "rdma.%s", l->device);
		if (!l->hca_handles.set && !l->hca_objects.set)
			continue;
		rdma_value(&l->hca_handles, handles);
		rdma_value(&l->hca_objects, objects);
		snprintf(line, sizeof line, "%s hca_handle=%s hca_object=%s", l->device, handles,
			 objects);
		if (need(cg, "rdma", "rdma", field, &t, err) < 0 ||
		    res_write(&t, "rdma.max", line, field, err) < 0)
			return -1;
	}
	return 0;
}

/* One unified key: a file of the controller its name starts with ("memory.high"), or of
 * the cgroup core ("cgroup.max.depth"); the controller must be on cgroup2. */
static int unified_key(const struct cgroup *cg, const struct oci_kv *kv, struct hull_err *err)
{
	char ctrl[64], field[320];
	snprintf(ctrl, sizeof ctrl, "%.*s", (int)strcspn(kv->key, "."), kv->key);
	snprintf(field, sizeof field, "unified: %s", kv->key);
	struct res_target t = {res_v2_dir(cg), true}, v1;
	if (t.dir == NULL)
		return res_fail(field, "needs cgroup v2 (this host has no cgroup2 hierarchy)", err);
	if (strcmp(ctrl, "cgroup") != 0) {
		char what[160];
		/* v2's io is v1's blkio; the other controllers kept their names. */
		const char *v1_name = strcmp(ctrl, "io") == 0 ? "blkio" : ctrl;
		if (res_find(cg, v1_name, NULL, &v1, err) > 0) {
			snprintf(what, sizeof what,
				 "needs cgroup v2 (this host's %s controller is on cgroup v1)",
				 ctrl);
			return res_fail(field, what, err);
		}
		int r = res_find(cg, NULL, ctrl, &t, err);
		snprintf(what, sizeof what, "no %s controller on this host's cgroup v2", ctrl);
		if (r <= 0)
			return r < 0 ? -1 : res_fail(field, what, err);
	}
	if (!res_has(&t, kv->key))
		return res_fail(field, "no such file in the container's cgroup", err);
	return res_write(&t, kv->key, kv->value, field, err);
}

int cgroup_apply(const struct cgroup *cg, const struct oci_resources *r, struct hull_err *err)
{
	if (r == NULL)
		return 0;
	if (res_devices(cg, r, err) < 0 || apply_cpu(cg, r, err) < 0 ||
	    apply_memory(cg, r, err) < 0 || apply_pids(cg, r, err) < 0 ||
	    apply_block_io(cg, r, err) < 0 || apply_hugepages(cg, r, err) < 0 ||
	    apply_network(cg, r, err) < 0 || apply_rdma(cg, r, err) < 0)
		return -1;
	/* Last: the runtime-spec lets unified override what the fields above set. */
	for (size_t i = 0; i < r->n_unified; i++)
		if (unified_key(cg, &r->unified[i], err) < 0)
			return -1;
	return 0;
}
