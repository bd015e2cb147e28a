/* Private to src/cgroups: applying linux.resources. resources.c finds where each controller
 * lives and applies what v1 and v2 share; resources_v1.c and resources_v2.c the rest;
 * convert.c holds the pure v1-to-v2 arithmetic and file texts; devices.c and
 * devices_bpf.c the device policy. The pure parts are declared here for unit tests. */
#pragma once
#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroups.h"
#include "common/err.h"
#include "common/oci.h"

/* ---- pure conversions (convert.c) ---- */

/* v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000), the conversion runc documents:
 * 1 + ((shares - 2) * 9999) / 262142, clamped into range. */
uint64_t cgroup_shares_to_weight(uint64_t shares);

/* blockIO.weight (10..1000, the v1 blkio scale) to v2 io.weight (1..10000), as runc:
 * 1 + (weight - 10) * 9999 / 990, clamped into range. */
uint64_t cgroup_blkio_to_io_weight(uint64_t weight);

/* memory.swap.max from OCI memory.limit and memory.swap, where swap counts memory plus
 * swap (its v1 meaning). 1 with out filled ("max" or bytes), 0 when nothing is to be
 * written, -1 with *why when the pair cannot be expressed. */
int cgroup_v2_swap_max(const struct oci_int *limit, const struct oci_int *swap, char out[32],
		       const char **why);

/* The v2 cpu.max text for quota and period; cur is the file's current text (its quota is
 * kept when only the period changes), or NULL. 0 when neither is given. */
int cgroup_cpu_max_text(const struct oci_int *quota, const struct oci_int *period, const char *cur,
			char out[64]);

/* One io.max line: key is "rbps", "wbps", "riops" or "wiops"; a rate of 0 lifts the
 * limit ("max"), as writing 0 to the v1 throttle files does. */
void cgroup_io_max_line(const char *key, const struct oci_block_device *d, char out[96]);

/* A rule already split by cgroup_device_split as v1 writes it: "c 1:3 rwm", "b *:* m". */
void cgroup_v1_device_text(const struct oci_device_rule *rule, char out[64]);

/* A type 'a' rule for every node and all of "rwm" resets the policy (1, *reset_allow
 * set). Any other 'a' rule means the same numbers and access for both 'c' and 'b' (2 in
 * out); c and b rules are copied (1 in out). Returns how many went to out, 0 for a reset.
 * v1 reads every "a ..." write as a reset; splitting keeps a narrow rule narrow. */
size_t cgroup_device_split(const struct oci_device_rule *rule, struct oci_device_rule out[2],
			   bool *reset_allow);

/* ---- the device policy (devices.c, devices_bpf.c) ---- */

/* What a rule list leaves behind, computed as the v1 kernel does when the rules are
 * written in order after "a" to devices.deny: a default and exact-match exceptions
 * (cgroup-v1/devices.rst). */
struct cgroup_dev_policy {
	bool default_allow;
	struct oci_device_rule *ex; /* malloc'd; c or b rules only */
	size_t n;
};
int cgroup_dev_policy_build(const struct oci_device_rule *rules, size_t n,
			    struct cgroup_dev_policy *p, struct hull_err *err);
void cgroup_dev_policy_free(struct cgroup_dev_policy *p);
/* The kernel's v1 decision for one access; access is a combination of "rwm". */
bool cgroup_dev_allowed(const struct cgroup_dev_policy *p, char type, uint32_t major,
			uint32_t minor, const char *access);

/* A BPF_PROG_TYPE_CGROUP_DEVICE program taking the same decisions (malloc'd). */
int cgroup_dev_bpf_insns(const struct cgroup_dev_policy *p, struct bpf_insn **insns, size_t *n,
			 struct hull_err *err);
/* Load it (an fd) and attach it to a cgroup2 directory, detaching programs an earlier
 * attach of hull's left there. */
int cgroup_dev_bpf_load(const struct bpf_insn *insns, size_t n, struct hull_err *err);
int cgroup_dev_bpf_attach(int cgroup_fd, int prog_fd, struct hull_err *err);
/* The name hull's programs carry, to find them again. */
#define CGROUP_DEV_BPF_NAME "hull_devices"

/* ---- applying, shared by the resources*.c and devices.c ---- */

/* The container's directory in the hierarchy that has a controller. */
struct res_target {
	const char *dir;
	bool v2;
};

/* 1 and t filled when the host has the controller (v1_name as a v1 subsystem, else
 * v2_name on cgroup2, enabled down to the container on demand; either may be NULL), 0 when
 * it has not. */
int res_find(const struct cgroup *cg, const char *v1_name, const char *v2_name,
	     struct res_target *t, struct hull_err *err);
/* The container's cgroup2 directory, or NULL. */
const char *res_v2_dir(const struct cgroup *cg);
/* "linux.resources.<field>: <what>"; returns -1. */
int res_fail(const char *field, const char *what, struct hull_err *err);

/* A value runc and the kernel treat as "not given": absent, or 0. */
bool res_given(const struct oci_int *i);
bool res_has(const struct res_target *t, const char *file);
/* Errors name field: "linux.resources.memory.limit: write 5 to DIR/memory.max: ...". */
int res_write(const struct res_target *t, const char *file, const char *value, const char *field,
	      struct hull_err *err);
/* A number; below 0 means unlimited: "-1" on v1, "max" on v2. */
int res_write_num(const struct res_target *t, const char *file, int64_t v, const char *field,
		  struct hull_err *err);
/* A file's first number ("max" reads as UINT64_MAX). */
int res_read_u64(const struct res_target *t, const char *file, uint64_t *v, struct hull_err *err);
/* The whole file (malloc'd). */
char *res_read(const struct res_target *t, const char *file, struct hull_err *err);

/* runtime-spec checkBeforeUpdate: a new memory limit below the usage in usage_file is
 * refused. */
int res_check_usage(const struct res_target *t, const struct oci_resources *r,
		    const char *usage_file, struct hull_err *err);
/* A value for a file some kernels lack: an error naming field when this one does. */
int res_optional_num(const struct res_target *t, bool given, int64_t v, const char *file,
		     const char *field, struct hull_err *err);
int res_memory_v1(const struct res_target *t, const struct oci_resources *r, struct hull_err *err);
int res_cpu_v1(const struct res_target *t, const struct oci_resources *r, struct hull_err *err);
int res_blkio_v1(const struct res_target *t, const struct oci_resources *r, struct hull_err *err);
int res_memory_v2(const struct res_target *t, const struct oci_resources *r, struct hull_err *err);
int res_cpu_v2(const struct res_target *t, const struct oci_resources *r, struct hull_err *err);
int res_io_v2(const struct res_target *t, const struct oci_resources *r, struct hull_err *err);
/* linux.resources.devices on whichever hierarchy controls devices here. */
int res_devices(const struct cgroup *cg, const struct oci_resources *r, struct hull_err *err);
