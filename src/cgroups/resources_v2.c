/* linux.resources on cgroup v2 (Documentation/admin-guide/cgroup-v2.rst). The spec's
 * fields are v1's; these are their v2 counterparts, with the conversions runc documents
 * (convert.c). What v2 has no counterpart for is ignored where that loses nothing the
 * container could rely on, as runc does:
 *  - memory.kernel, memory.kernelTCP: no separate kernel memory limit in v2 (kernel
 *    memory is charged to memory.max); the runtime-spec deprecates both;
 *  - memory.swappiness: v2 has no per-cgroup swappiness;
 *  - memory.disableOOMKiller: v2 cannot turn the OOM killer off for a cgroup;
 *  - memory.useHierarchy: v2 is always hierarchical;
 *  - blockIO.leafWeight and weightDevice[].leafWeight: v2 has no tasks competing with
 *    child cgroups (no internal processes), so a leaf weight has nothing to weigh. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "resources.h"

/* ---- memory ---- */

static int swap_max(const struct res_target *t, const struct oci_resources *r, struct hull_err *err)
{
	char text[32];
	const char *why = NULL;
	int k = cgroup_v2_swap_max(&r->memory.limit, &r->memory.swap, text, &why);
	if (k < 0)
		return res_fail("memory.swap", why, err);
	if (k == 0)
		return 0;
	if (!res_has(t, "memory.swap.max"))
		return res_fail("memory.swap", "this kernel has no swap accounting", err);
	return res_write(t, "memory.swap.max", text, "memory.swap", err);
}

int res_memory_v2(const struct res_target *t, const struct oci_resources *r, struct hull_err *err)
{
	const typeof(r->memory) *m = &r->memory;
	if (res_check_usage(t, r, "memory.current", err) < 0)
		return -1;
	if (res_given(&m->limit) &&
	    res_write_num(t, "memory.max", m->limit.v, "memory.limit", err) < 0)
		return -1;
	if (swap_max(t, r, err) < 0)
		return -1;
	/* memory.low is the best-effort protection v1's soft limit stood for. */
	if (res_given(&m->reservation) &&
	    res_write_num(t, "memory.low", m->reservation.v, "memory.reservation", err) < 0)
		return -1;
	return 0;
}

/* ---- cpu ---- */

static int cpu_max(const struct res_target *t, const struct oci_resources *r, struct hull_err *err)
{
	_cleanup_free_ char *cur = NULL;
	char text[64];
	if (!res_given(&r->cpu.quota) && res_given(&r->cpu.period) &&
	    (cur = res_read(t, "cpu.max", err)) == NULL)
		return -1;
	if (cgroup_cpu_max_text(&r->cpu.quota, &r->cpu.period, cur, text) == 0)
		return 0;
	return res_write(t, "cpu.max", text, res_given(&r->cpu.quota) ? "cpu.quota" : "cpu.period",
			 err);
}

int res_cpu_v2(const struct res_target *t, const struct oci_resources *r, struct hull_err *err)
{
	const typeof(r->cpu) *c = &r->cpu;
	/* The v2 cpu controller has no realtime budget (cgroup-v2.rst: it handles realtime
	 * processes only in the root cgroup). */
	if (res_given(&c->realtime_runtime) || res_given(&c->realtime_period))
		return res_fail(res_given(&c->realtime_runtime) ? "cpu.realtimeRuntime"
								: "cpu.realtimePeriod",
				"cgroup v2 has no realtime CPU budget", err);
	if (res_given(&c->shares) &&
	    res_write_num(t, "cpu.weight", (int64_t)cgroup_shares_to_weight((uint64_t)c->shares.v),
			  "cpu.shares", err) < 0)
		return -1;
	if (cpu_max(t, r, err) < 0 ||
	    res_optional_num(t, c->burst.set, c->burst.v, "cpu.max.burst", "cpu.burst", err) < 0)
		return -1;
	return res_optional_num(t, c->idle.set, c->idle.v, "cpu.idle", "cpu.idle", err);
}

/* ---- io ---- */

/* A device is weighed by BFQ (io.bfq.weight, the blkio scale 1..1000) or by blk-iocost
 * (io.weight, 1..10000), whichever it uses; set each the kernel has, so the weight holds
 * on every device. */
static int io_weight(const struct res_target *t, const char *dev, int64_t weight, const char *field,
		     struct hull_err *err)
{
	bool bfq = res_has(t, "io.bfq.weight"), cost = res_has(t, "io.weight");
	char text[64];
	const char *sep = dev[0] ? " " : "";
	if (!bfq && !cost)
		return res_fail(field, "this kernel has no io.weight or io.bfq.weight", err);
	snprintf(text, sizeof text, "%s%s%" PRId64, dev, sep, weight);
	if (bfq && res_write(t, "io.bfq.weight", text, field, err) < 0)
		return -1;
	snprintf(text, sizeof text, "%s%s%" PRIu64, dev, sep,
		 cgroup_blkio_to_io_weight((uint64_t)weight));
	return cost ? res_write(t, "io.weight", text, field, err) : 0;
}

static int io_max(const struct res_target *t, const char *key, const char *name,
		  const struct oci_block_device *list, size_t n, struct hull_err *err)
{
	for (size_t i = 0; i < n; i++) {
		char field[64], line[96];
		snprintf(field, sizeof field, "blockIO.%s[%zu]", name, i);
		cgroup_io_max_line(key, &list[i], line);
		if (res_write(t, "io.max", line, field, err) < 0)
			return -1;
	}
	return 0;
}

int res_io_v2(const struct res_target *t, const struct oci_resources *r, struct hull_err *err)
{
	const typeof(r->block_io) *b = &r->block_io;
	if (res_given(&b->weight) && io_weight(t, "", b->weight.v, "blockIO.weight", err) < 0)
		return -1;
	for (size_t i = 0; i < b->n_weight_device; i++) {
		const struct oci_block_device *d = &b->weight_device[i];
		char field[48], dev[48];
		snprintf(field, sizeof field, "blockIO.weightDevice[%zu]", i);
		snprintf(dev, sizeof dev, "%" PRId64 ":%" PRId64, d->major, d->minor);
		if (d->weight.set && io_weight(t, dev, d->weight.v, field, err) < 0)
			return -1;
	}
	if (io_max(t, "rbps", "throttleReadBpsDevice", b->throttle_read_bps, b->n_throttle_read_bps,
		   err) < 0 ||
	    io_max(t, "wbps", "throttleWriteBpsDevice", b->throttle_write_bps,
		   b->n_throttle_write_bps, err) < 0 ||
	    io_max(t, "riops", "throttleReadIOPSDevice", b->throttle_read_iops,
		   b->n_throttle_read_iops, err) < 0)
		return -1;
	return io_max(t, "wiops", "throttleWriteIOPSDevice", b->throttle_write_iops,
		      b->n_throttle_write_iops, err);
}
