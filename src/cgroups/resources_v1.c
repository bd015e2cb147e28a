/* linux.resources on cgroup v1 (cgroup-v1/memory.rst, cpu via sched-bwc.rst and
 * sched-rt-group.rst, blkio-controller.rst): the runtime-spec's fields are v1's own, so
 * this is mostly one file per field, plus the orders the kernel's checks impose. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "resources.h"

/* ---- memory ---- */

/* The kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every step,
 * so which goes first depends on where both are heading. */
static int memory_and_swap(const struct res_target *t, struct oci_int limit, struct oci_int swap,
			   struct hull_err *err)
{
	static const char lim_file[] = "memory.limit_in_bytes",
			  sw_file[] = "memory.memsw.limit_in_bytes";
	bool memsw = res_has(t, sw_file);
	if (res_given(&swap) && !memsw)
		return res_fail("memory.swap", "this kernel has no swap accounting", err);
	/* An unlimited memory with no word on swap unlimits swap too (as runc does): the old
	 * memsw limit would otherwise cap the new memory limit. */
	if (res_given(&limit) && limit.v < 0 && !res_given(&swap) && memsw)
		swap = (struct oci_int){true, -1};
	if (!res_given(&limit) || !res_given(&swap)) {
		if (res_given(&limit) &&
		    res_write_num(t, lim_file, limit.v, "memory.limit", err) < 0)
			return -1;
		return res_given(&swap) ? res_write_num(t, sw_file, swap.v, "memory.swap", err) : 0;
	}
	uint64_t cur = 0;
	if (res_read_u64(t, lim_file, &cur, err) < 0)
		return -1;
	/* Swap first is safe when the new memsw is at least the current limit. */
	if (swap.v < 0 || (uint64_t)swap.v >= cur)
		return res_write_num(t, sw_file, swap.v, "memory.swap", err) < 0 ||
			       res_write_num(t, lim_file, limit.v, "memory.limit", err) < 0
			   ? -1
			   : 0;
	return res_write_num(t, lim_file, limit.v, "memory.limit", err) < 0 ||
		       res_write_num(t, sw_file, swap.v, "memory.swap", err) < 0
		   ? -1
		   : 0;
}

/* runtime-spec: kernel and kernelTCP are deprecated (5.16 stopped enforcing kernel memory
 * limits and 6.1 dropped the files): write them where the file exists and the kernel
 * takes them, and otherwise go on without. */
static int kernel_limit(const struct res_target *t, const struct oci_int *v, const char *file,
			const char *field, struct hull_err *err)
{
	if (!res_given(v) || !res_has(t, file))
		return 0;
	struct hull_err e = {0};
	int r = res_write_num(t, file, v->v, field, &e);
	if (r < 0 && e.code != EOPNOTSUPP && e.code != 524 /* the kernel's ENOTSUPP */) {
		hull_error(err, e.code, "%s", e.msg ? e.msg : file);
		r = -1;
	} else
		r = 0;
	hull_err_clear(&e);
	return r;
}

static int flag(const struct res_target *t, bool has, bool on, const char *file, const char *field,
		struct hull_err *err)
{
	return has ? res_write(t, file, on ? "1" : "0", field, err) : 0;
}

int res_memory_v1(const struct res_target *t, const struct oci_resources *r, struct hull_err *err)
{
	const typeof(r->memory) *m = &r->memory;
	if (res_check_usage(t, r, "memory.usage_in_bytes", err) < 0 ||
	    memory_and_swap(t, m->limit, m->swap, err) < 0)
		return -1;
	if (res_given(&m->reservation) &&
	    res_write_num(t, "memory.soft_limit_in_bytes", m->reservation.v, "memory.reservation",
			  err) < 0)
		return -1;
	if (kernel_limit(t, &m->kernel, "memory.kmem.limit_in_bytes", "memory.kernel", err) < 0 ||
	    kernel_limit(t, &m->kernel_tcp, "memory.kmem.tcp.limit_in_bytes", "memory.kernelTCP",
			 err) < 0)
		return -1;
	if (m->swappiness.set &&
	    res_write_num(t, "memory.swappiness", m->swappiness.v, "memory.swappiness", err) < 0)
		return -1;
	if (flag(t, m->has_disable_oom_killer, m->disable_oom_killer, "memory.oom_control",
		 "memory.disableOOMKiller", err) < 0)
		return -1;
	return flag(t, m->has_use_hierarchy, m->use_hierarchy, "memory.use_hierarchy",
		    "memory.useHierarchy", err);
}

/* ---- cpu ---- */

int res_cpu_v1(const struct res_target *t, const struct oci_resources *r, struct hull_err *err)
{
	const typeof(r->cpu) *c = &r->cpu;
	if ((res_given(&c->shares) &&
	     res_write_num(t, "cpu.shares", c->shares.v, "cpu.shares", err) < 0) ||
	    (res_given(&c->period) &&
	     res_write_num(t, "cpu.cfs_period_us", c->period.v, "cpu.period", err) < 0) ||
	    (res_given(&c->quota) &&
	     res_write_num(t, "cpu.cfs_quota_us", c->quota.v, "cpu.quota", err) < 0))
		return -1;
	/* The burst may not exceed the quota, so it follows it; the rt runtime must fit in
	 * the rt period, so the period goes first. */
	if (res_optional_num(t, c->burst.set, c->burst.v, "cpu.cfs_burst_us", "cpu.burst", err) <
		0 ||
	    res_optional_num(t, res_given(&c->realtime_period), c->realtime_period.v,
			     "cpu.rt_period_us", "cpu.realtimePeriod", err) < 0 ||
	    res_optional_num(t, c->realtime_runtime.set, c->realtime_runtime.v, "cpu.rt_runtime_us",
			     "cpu.realtimeRuntime", err) < 0)
		return -1;
	return res_optional_num(t, c->idle.set, c->idle.v, "cpu.idle", "cpu.idle", err);
}

/* ---- blkio ---- */

/* CFQ had blkio.weight, BFQ has blkio.bfq.weight; with neither scheduler the kernel has
 * no proportional weight to set. */
static const char *weight_file(const struct res_target *t, bool per_device)
{
	const char *cfq = per_device ? "blkio.weight_device" : "blkio.weight";
	const char *bfq = per_device ? "blkio.bfq.weight_device" : "blkio.bfq.weight";
	return res_has(t, cfq) ? cfq : res_has(t, bfq) ? bfq : NULL;
}

static int weight(const struct res_target *t, const char *file, const char *text, const char *field,
		  struct hull_err *err)
{
	if (file == NULL || !res_has(t, file))
		return res_fail(field,
				"this kernel has no blkio weight file (needs the CFQ or BFQ "
				"I/O scheduler)",
				err);
	return res_write(t, file, text, field, err);
}

static int weight_devices(const struct res_target *t, const struct oci_resources *r,
			  struct hull_err *err)
{
	for (size_t i = 0; i < r->block_io.n_weight_device; i++) {
		const struct oci_block_device *d = &r->block_io.weight_device[i];
		char field[48], text[64];
		snprintf(field, sizeof field, "blockIO.weightDevice[%zu]", i);
		snprintf(text, sizeof text, "%" PRId64 ":%" PRId64 " %" PRId64, d->major, d->minor,
			 d->weight.v);
		if (d->weight.set && weight(t, weight_file(t, true), text, field, err) < 0)
			return -1;
		snprintf(text, sizeof text, "%" PRId64 ":%" PRId64 " %" PRId64, d->major, d->minor,
			 d->leaf_weight.v);
		if (d->leaf_weight.set &&
		    weight(t, "blkio.leaf_weight_device", text, field, err) < 0)
			return -1;
	}
	return 0;
}

static int throttle(const struct res_target *t, const char *file, const char *key,
		    const struct oci_block_device *list, size_t n, struct hull_err *err)
{
	for (size_t i = 0; i < n; i++) {
		char field[64], text[64];
		snprintf(field, sizeof field, "blockIO.%s[%zu]", key, i);
		/* A rate of 0 removes the device's limit. */
		snprintf(text, sizeof text, "%" PRId64 ":%" PRId64 " %" PRIu64, list[i].major,
			 list[i].minor, list[i].rate);
		if (res_write(t, file, text, field, err) < 0)
			return -1;
	}
	return 0;
}

int res_blkio_v1(const struct res_target *t, const struct oci_resources *r, struct hull_err *err)
{
	const typeof(r->block_io) *b = &r->block_io;
	char text[32];
	snprintf(text, sizeof text, "%" PRId64, b->weight.v);
	if (res_given(&b->weight) &&
	    weight(t, weight_file(t, false), text, "blockIO.weight", err) < 0)
		return -1;
	snprintf(text, sizeof text, "%" PRId64, b->leaf_weight.v);
	if (res_given(&b->leaf_weight) &&
	    weight(t, "blkio.leaf_weight", text, "blockIO.leafWeight", err) < 0)
		return -1;
	if (weight_devices(t, r, err) < 0 ||
	    throttle(t, "blkio.throttle.read_bps_device", "throttleReadBpsDevice",
		     b->throttle_read_bps, b->n_throttle_read_bps, err) < 0 ||
	    throttle(t, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice",
		     b->throttle_write_bps, b->n_throttle_write_bps, err) < 0 ||
	    throttle(t, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice",
		     b->throttle_read_iops, b->n_throttle_read_iops, err) < 0)
		return -1;
	return throttle(t, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice",
			b->throttle_write_iops, b->n_throttle_write_iops, err);
}
