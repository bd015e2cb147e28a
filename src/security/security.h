/* Seccomp (libseccomp) and capabilities (libcap) for the container's process. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/oci.h"

/* Name lookups used while validating config.json. Return 0, or -1 for an unknown name. */
/* "CAP_SYS_ADMIN" -> 21; -1 also for one libcap knows but the running kernel does not. */
int sec_cap_from_name(const char *name);
int sec_seccomp_action(const char *name, bool has_errno, uint32_t errno_ret, uint32_t *action);
int sec_seccomp_arch(const char *name, uint32_t *arch); /* "SCMP_ARCH_X86_64" */
int sec_seccomp_op(const char *name, int *op);		/* "SCMP_CMP_EQ" */
int sec_seccomp_flag(const char *name, unsigned *flag); /* "SECCOMP_FILTER_FLAG_LOG" */

/* NULL-terminated name tables, for `hull features`. */
extern const char *const sec_seccomp_action_names[];
extern const char *const sec_seccomp_op_names[];
extern const char *const sec_seccomp_arch_names[];
extern const char *const sec_seccomp_flag_names[];
/* Every capability this kernel and libcap know, "CAP_CHOWN"...; NULL-terminated, static. */
const char *const *sec_cap_names(void);

/* Build and load the filter. SCMP_ACT_NOTIFY without support fails with a clear error. */
int sec_seccomp_load(const struct oci_seccomp *seccomp, struct hull_err *err);
/* The same filter, built the same way but not loaded: the classic BPF program (struct
 * sock_filter[*len / 8], native architecture) in a malloc'd *bpf, and the seccomp(2) flags
 * sec_seccomp_load would load it with. For a kernel elsewhere (the micro-VM guest). */
int sec_seccomp_export(const struct oci_seccomp *seccomp, unsigned char **bpf, size_t *len,
		       unsigned *flags, struct hull_err *err);
/* Some rule's action is SCMP_ACT_NOTIFY. */
bool sec_seccomp_uses_notify(const struct oci_seccomp *seccomp);

/* Keep permitted caps across the setuid/setgid that follows (PR_SET_KEEPCAPS). */
int sec_caps_keep_on_setuid(struct hull_err *err);

/* Drop the bounding set to caps->bounding, then set effective/permitted/inheritable and
 * raise the ambient set. Call after setuid. NULL caps = drop everything. */
int sec_caps_apply(const struct oci_caps *caps, struct hull_err *err);
