/* The micro-VM guest's process config: written by hull into the initramfs as /.hull/config,
 * parsed by hull-guest-init (PID 1 in the guest). Shared by both sides; libc and err.c only,
 * because the guest init is a static binary without yajl.
 *
 * Format, version 1 (all integers decimal ASCII, no sign, no leading zeros):
 *
 *   "hull-guest-config 1\n"                 first line, exactly
 *   KEY " " LEN ":" VALUE "\n"              records; LEN = byte length of VALUE (1-8 digits)
 *   "end 0:\n"                              last record; nothing may follow it
 *
 * VALUE may hold any byte (newlines too) since it is length-counted; values that become C
 * strings (arg, env, cwd, hostname) must not hold a NUL, and the parser says so.
 *
 *   key             count   value
 *   arg             1..N    one element of process.args, in order
 *   env             0..N    "NAME=value", NAME not empty
 *   cwd             1       absolute path
 *   uid, gid        1       0..4294967294
 *   group           0..N    an additional gid
 *   umask           0..1    octal, 0..0777
 *   hostname        0..1    at most 64 bytes
 *   rlimit          0..16   "RESOURCE SOFT HARD": RESOURCE the Linux number (RLIMIT_*),
 *                           each resource once, SOFT <= HARD, 18446744073709551615 = unlimited
 *   terminal, no_new_privs, readonly_rootfs
 *                   0..1    "0" or "1" (absent = 0)
 *   cap_bounding, cap_effective, cap_inheritable, cap_permitted, cap_ambient
 *                   0..1    a capability set as a 64-bit mask (bit n = Linux capability n),
 *                           0..18446744073709551615; all five or none. None: the process
 *                           keeps PID 1's capabilities (configs of hull before 0.1.0); hull
 *                           always sends all five, empty sets included.
 *   seccomp         0..1    a classic BPF program: raw struct sock_filter (8 bytes each, host
 *                           byte order), 1..4096 instructions (BPF_MAXINSNS)
 *   seccomp_flags   0..1    the seccomp(2) SECCOMP_FILTER_FLAG_* to load it with: TSYNC (1),
 *                           LOG (2), SPEC_ALLOW (4) (absent = 0); only with "seccomp"
 *
 * The parser rejects: another version, an unknown key, a repeated single key, a bad length or
 * number, a missing "\n" after a value, a truncated buffer (no "end"), bytes after "end", a
 * missing arg/cwd/uid/gid, some but not all five cap_* sets, a seccomp program that is not
 * 1..4096 whole instructions, unknown seccomp flags or flags without a program, and more
 * entries than the GUESTCFG_MAX_* limits. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define GUESTCFG_MAGIC	      "hull-guest-config 1\n"
#define GUESTCFG_MAX_SIZE     (16u << 20) /* the whole file */
#define GUESTCFG_MAX_ARGS     65536
#define GUESTCFG_MAX_ENV      65536
#define GUESTCFG_MAX_GROUPS   65536 /* NGROUPS_MAX */
#define GUESTCFG_MAX_RLIMITS  16    /* RLIM_NLIMITS on Linux */
#define GUESTCFG_MAX_HOSTNAME 64    /* HOST_NAME_MAX */
#define GUESTCFG_BPF_INSN     8	    /* sizeof(struct sock_filter) */
#define GUESTCFG_MAX_BPF      4096  /* BPF_MAXINSNS: the most the kernel loads */
/* The seccomp(2) flags hull loads a filter with: TSYNC, LOG, SPEC_ALLOW (kernel ABI values,
 * spelled out so that this file needs no uapi header of a particular age). */
#define GUESTCFG_SECCOMP_FLAGS 0x7u

struct guestcfg_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

/* Capability sets as bitmasks of CAP_* numbers, as struct oci_caps. */
struct guestcfg_caps {
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct guestcfg {
	char **args; /* NULL-terminated, n_args >= 1 */
	size_t n_args;
	char **env; /* NULL-terminated (may be empty) */
	size_t n_env;
	char *cwd;
	uint32_t uid, gid;
	uint32_t *groups;
	size_t n_groups;
	bool has_umask;
	uint32_t umask;
	char *hostname; /* NULL: leave the guest's hostname alone */
	struct guestcfg_rlimit *rlimits;
	size_t n_rlimits;
	bool terminal;
	bool no_new_privs;
	bool readonly_rootfs;
	bool has_caps; /* false: leave the capabilities alone */
	struct guestcfg_caps caps;
	unsigned char *seccomp; /* struct sock_filter[seccomp_len / 8]; NULL: no filter */
	size_t seccomp_len;	/* bytes */
	uint32_t seccomp_flags; /* SECCOMP_FILTER_FLAG_*, within GUESTCFG_SECCOMP_FLAGS */
};

/* Serialize cfg into a malloc'd buffer (*out, *out_len). The result is parsed back before it
 * is returned, so the host learns at create time what the guest would reject. */
int guestcfg_write(const struct guestcfg *cfg, char **out, size_t *out_len, struct hull_err *err);

/* Parse buf into *cfg (zeroed first; free with guestcfg_free, also after a failure). */
int guestcfg_parse(const char *buf, size_t len, struct guestcfg *cfg, struct hull_err *err);

void guestcfg_free(struct guestcfg *cfg);
