/* hull update [OPTIONS] ID: change the resource limits of a container that has not
 * stopped, with runc's options or a linux.resources JSON document (-r FILE, - for stdin).
 * The cgroup files are the record: nothing else is saved, so the container's saved
 * config.json keeps the limits it was created with. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups/cgroups.h"
#include "common/arena.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "common/log.h"
#include "runtime.h"
#include "spec.h"

struct update_flags {
	const char *resources;
	const char *memory, *reservation, *swap, *kernel, *kernel_tcp;
	const char *shares, *period, *quota, *burst, *idle, *rt_period, *rt_runtime;
	const char *cpus, *mems, *pids, *blkio;
};

enum kind {
	BYTES,	/* units_bytes: 512m, or -1 */
	SIGNED, /* -1 allowed */
	UNSIGNED
};

static int parse_value(const char *name, const char *text, enum kind kind, struct oci_int *dest,
		       struct hull_err *err)
{
	int64_t v;
	if (kind == BYTES) {
		if (units_bytes(text, &v, err) < 0)
			return hull_error_wrap(err, "update: --%s", name);
	} else {
		char *end;
		errno = 0;
		long long n = strtoll(text, &end, 10);
		if (*text == '\0' || *end != '\0' || errno != 0 || (kind == UNSIGNED && n < 0))
			return hull_error(err, 0, "update: --%s: invalid value \"%s\"", name, text);
		v = n;
	}
	*dest = (struct oci_int){true, v};
	return 0;
}

/* The options override what -r gave; an option not given leaves the value alone. */
static int apply_flags(const struct update_flags *f, struct oci_resources *r, struct arena *a,
		       struct hull_err *err)
{
	const struct {
		const char *name, *text;
		enum kind kind;
		struct oci_int *dest;
	} vals[] = {
	    {"memory", f->memory, BYTES, &r->memory.limit},
	    {"memory-reservation", f->reservation, BYTES, &r->memory.reservation},
	    {"memory-swap", f->swap, BYTES, &r->memory.swap},
	    {"kernel-memory", f->kernel, BYTES, &r->memory.kernel},
	    {"kernel-memory-tcp", f->kernel_tcp, BYTES, &r->memory.kernel_tcp},
	    {"cpu-share", f->shares, UNSIGNED, &r->cpu.shares},
	    {"cpu-period", f->period, UNSIGNED, &r->cpu.period},
	    {"cpu-quota", f->quota, SIGNED, &r->cpu.quota},
	    {"cpu-burst", f->burst, UNSIGNED, &r->cpu.burst},
	    {"cpu-idle", f->idle, SIGNED, &r->cpu.idle},
	    {"cpu-rt-period", f->rt_period, UNSIGNED, &r->cpu.realtime_period},
	    {"cpu-rt-runtime", f->rt_runtime, SIGNED, &r->cpu.realtime_runtime},
	    {"pids-limit", f->pids, SIGNED, &r->pids_limit},
	    {"blkio-weight", f->blkio, UNSIGNED, &r->block_io.weight},
	};
	for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
		if (vals[i].text != NULL &&
		    parse_value(vals[i].name, vals[i].text, vals[i].kind, vals[i].dest, err) < 0)
			return -1;
	if (f->cpus != NULL)
		r->cpu.cpus = arena_strdup(a, f->cpus);
	if (f->mems != NULL)
		r->cpu.mems = arena_strdup(a, f->mems);
	/* runc: an unlimited memory without a swap setting means unlimited swap too, or v1
	 * would refuse a memory limit above the old memory+swap one. */
	if (f->memory != NULL && r->memory.limit.v == -1 && !r->memory.swap.set)
		r->memory.swap = (struct oci_int){true, -1};
	return 0;
}

static int read_resources(const char *path, struct arena *a, struct oci_resources *r,
			  struct hull_err *err)
{
	bool in = strcmp(path, "-") == 0;
	_cleanup_free_ char *text = NULL;
	if (json_read_file(in ? "/dev/stdin" : path, &text, NULL, err) < 0)
		return hull_error_wrap(err, "update: --resources");
	if (spec_parse_resources_text(text, in ? "stdin" : path, a, r, err) < 0)
		return -1;
	/* As runc: the device policy is set at create only. Applying a document's rules
	 * alone would drop the default allowed devices (/dev/null...) that create added. */
	r->n_devices = 0;
	return 0;
}

static int update_container(struct container *c, const struct oci_resources *r,
			    struct hull_err *err)
{
	if (strcmp(container_status(c), "stopped") == 0)
		return container_not_running("update", c->st.id, err);
	if (c->st.cgroup == NULL)
		return hull_error(err, 0, "container %s has no cgroup", c->st.id);
	struct cgroup *cg = cgroup_open(c->st.cgroup, err);
	if (cg == NULL)
		return -1;
	log_msg(LOG_DEBUG, "update: container %s: resources written to cgroup %s", c->st.id,
		c->st.cgroup);
	int r2 = cgroup_apply(cg, r, err);
	cgroup_free(cg);
	return r2 < 0 ? hull_error_wrap(err, "update %s", c->st.id) : 0;
}

int cmd_update(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	struct update_flags f = {0};
	const struct cli_opt opts[] = {
	    {"resources", 'r', CLI_STRING, &f.resources},
	    {"memory", 0, CLI_STRING, &f.memory},
	    {"memory-reservation", 0, CLI_STRING, &f.reservation},
	    {"memory-swap", 0, CLI_STRING, &f.swap},
	    {"kernel-memory", 0, CLI_STRING, &f.kernel},
	    {"kernel-memory-tcp", 0, CLI_STRING, &f.kernel_tcp},
	    {"cpu-share", 0, CLI_STRING, &f.shares},
	    {"cpu-shares", 0, CLI_STRING, &f.shares},
	    {"cpu-period", 0, CLI_STRING, &f.period},
	    {"cpu-quota", 0, CLI_STRING, &f.quota},
	    {"cpu-burst", 0, CLI_STRING, &f.burst},
	    {"cpu-idle", 0, CLI_STRING, &f.idle},
	    {"cpu-rt-period", 0, CLI_STRING, &f.rt_period},
	    {"cpu-rt-runtime", 0, CLI_STRING, &f.rt_runtime},
	    {"cpuset-cpus", 0, CLI_STRING, &f.cpus},
	    {"cpuset-mems", 0, CLI_STRING, &f.mems},
	    {"pids-limit", 0, CLI_STRING, &f.pids},
	    {"blkio-weight", 0, CLI_STRING, &f.blkio},
	    {0},
	};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("update", argc, argv, first, 1, "container id", err) < 0)
		return -1;
	struct arena a = {0};
	struct oci_resources res = {0};
	int r = f.resources ? read_resources(f.resources, &a, &res, err) : 0;
	if (r == 0)
		r = apply_flags(&f, &res, &a, err);
	struct container c;
	if (r == 0) {
		r = container_open(g, argv[first], true, &c, err);
		if (r == 0)
			r = update_container(&c, &res, err);
		container_close(&c);
	}
	arena_free(&a);
	return r;
}
