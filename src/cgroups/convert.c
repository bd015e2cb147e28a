/* Pure arithmetic and text between OCI linux.resources and cgroup files: the v1 scales
 * the runtime-spec uses mapped onto cgroup v2's, as runc documents the conversions. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "resources.h"

enum {
	SHARES_MIN = 2,
	SHARES_MAX = 262144,
	BLKIO_MIN = 10,
	BLKIO_MAX = 1000,
};

uint64_t cgroup_shares_to_weight(uint64_t shares)
{
	/* The v1 kernel clamps shares into 2..262144 itself; do the same so that the two
	 * ends map onto cpu.weight's 1 and 10000. */
	if (shares < SHARES_MIN)
		shares = SHARES_MIN;
	if (shares > SHARES_MAX)
		shares = SHARES_MAX;
	return 1 + ((shares - SHARES_MIN) * 9999) / (SHARES_MAX - SHARES_MIN);
}

uint64_t cgroup_blkio_to_io_weight(uint64_t weight)
{
	if (weight < BLKIO_MIN)
		weight = BLKIO_MIN;
	if (weight > BLKIO_MAX)
		weight = BLKIO_MAX;
	return 1 + ((weight - BLKIO_MIN) * 9999) / (BLKIO_MAX - BLKIO_MIN);
}

int cgroup_v2_swap_max(const struct oci_int *limit, const struct oci_int *swap, char out[32],
		       const char **why)
{
	int64_t lim = res_given(limit) ? limit->v : 0, sw = res_given(swap) ? swap->v : 0;
	/* v1 compatibility: an unlimited memory with no word on swap unlimits swap too,
	 * as setting memory.limit_in_bytes and memsw to -1 together would. */
	if ((lim < 0 && sw == 0) || sw < 0) {
		snprintf(out, 32, "max");
		return 1;
	}
	if (sw == 0)
		return 0;
	/* v2 limits swap on its own; memory+swap says nothing about swap alone until the
	 * memory part is known. */
	if (lim <= 0) {
		*why = "needs memory.limit on cgroup v2 (swap counts memory plus swap)";
		return -1;
	}
	if (sw < lim) {
		*why = "must be at least memory.limit (it counts memory plus swap)";
		return -1;
	}
	snprintf(out, 32, "%" PRId64, sw - lim);
	return 1;
}

int cgroup_cpu_max_text(const struct oci_int *quota, const struct oci_int *period, const char *cur,
			char out[64])
{
	bool q = res_given(quota), p = res_given(period);
	if (!q && !p)
		return 0;
	char quota_text[32] = "max";
	if (q && quota->v > 0)
		snprintf(quota_text, sizeof quota_text, "%" PRId64, quota->v);
	else if (!q && cur != NULL) {
		/* A new period alone keeps the quota that is there: cpu.max takes both. */
		size_t len = strcspn(cur, " \n");
		if (len > 0 && len < sizeof quota_text)
			snprintf(quota_text, sizeof quota_text, "%.*s", (int)len, cur);
	}
	if (p)
		snprintf(out, 64, "%s %" PRId64, quota_text, period->v);
	else
		snprintf(out, 64, "%s", quota_text);
	return 1;
}

void cgroup_io_max_line(const char *key, const struct oci_block_device *d, char out[96])
{
	if (d->rate == 0)
		snprintf(out, 96, "%" PRId64 ":%" PRId64 " %s=max", d->major, d->minor, key);
	else
		snprintf(out, 96, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, d->major, d->minor, key,
			 d->rate);
}

static void device_number(int64_t n, char out[24])
{
	if (n < 0)
		snprintf(out, 24, "*");
	else
		snprintf(out, 24, "%" PRId64, n);
}

void cgroup_v1_device_text(const struct oci_device_rule *rule, char out[64])
{
	char major[24], minor[24];
	device_number(rule->major, major);
	device_number(rule->minor, minor);
	snprintf(out, 64, "%c %s:%s %s", rule->type, major, minor, rule->access);
}

size_t cgroup_device_split(const struct oci_device_rule *rule, struct oci_device_rule out[2],
			   bool *reset_allow)
{
	if (rule->type != 'a') {
		out[0] = *rule;
		return 1;
	}
	if (rule->major < 0 && rule->minor < 0 && strcmp(rule->access, "rwm") == 0) {
		*reset_allow = rule->allow;
		return 0;
	}
	out[0] = out[1] = *rule;
	out[0].type = 'c';
	out[1].type = 'b';
	return 2;
}
