/* The main process's privileges in the guest: its capability sets and its seccomp filter.
 * child.c applies them in runc's order around the user switch:
 *   seccomp, without no_new_privs (loading needs CAP_SYS_ADMIN, which is about to go);
 *   the bounding set, PR_SET_KEEPCAPS; setgroups, setresgid, setresuid; capset()
 *   (effective, permitted, inheritable), the ambient set; no_new_privs;
 *   seccomp, with no_new_privs: last, right before execve.
 * The guest init is static, without libcap or libseccomp: raw prctl, capset and seccomp.
 * The sets and the filter come from the host, which computed them from the spec as it does
 * for any container (src/security), so what holds here is what holds there. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest.h"

_Static_assert(sizeof(struct sock_filter) == GUESTCFG_BPF_INSN, "the config's instruction size");

static bool has(uint64_t set, int cap)
{
	return (set >> cap) & 1;
}

/* Asking the kernel rather than reading /proc/sys/kernel/cap_last_cap: the same answer,
 * and what hull's other containers do (src/security/caps.c), where /proc may be missing. */
int guest_last_cap(void)
{
	for (int cap = 63; cap > 0; cap--)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0)
			return cap;
	return 0;
}

uint64_t guest_caps_known(uint64_t set, int last)
{
	if (last < 0)
		return 0;
	return last >= 63 ? set : set & ((UINT64_C(1) << (last + 1)) - 1);
}

/* Capabilities above the kernel's last one are left out, as runc and hull's other
 * containers do: the kernel could not grant them, and capset() would refuse them. */
void guest_capset_data(const struct guestcfg_caps *c, int last,
		       struct __user_cap_data_struct data[2])
{
	uint64_t e = guest_caps_known(c->effective, last);
	uint64_t p = guest_caps_known(c->permitted, last);
	uint64_t i = guest_caps_known(c->inheritable, last);
	data[0] = (struct __user_cap_data_struct){
	    .effective = (uint32_t)e, .permitted = (uint32_t)p, .inheritable = (uint32_t)i};
	data[1] = (struct __user_cap_data_struct){.effective = (uint32_t)(e >> 32),
						  .permitted = (uint32_t)(p >> 32),
						  .inheritable = (uint32_t)(i >> 32)};
}

/* As root, before the user switch: dropping needs CAP_SETPCAP. */
int guest_caps_before_user(const struct guestcfg *cfg, int last, struct hull_err *err)
{
	if (!cfg->has_caps)
		return 0;
	for (int cap = 0; cap <= last; cap++) {
		if (has(cfg->caps.bounding, cap) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return hull_error(err, errno,
					  "capabilities: drop capability %d from the bounding set",
					  cap);
	}
	/* setresuid() away from 0 would otherwise empty the permitted set, and capset()
	 * cannot raise what is no longer permitted. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hull_error(err, errno, "capabilities: keep capabilities across setuid");
	return 0;
}

/* The kernel keeps an ambient capability only while it is permitted and inheritable
 * (capabilities(7)); others are skipped, as in hull's other containers. */
static int set_ambient(const struct guestcfg_caps *c, int last, struct hull_err *err)
{
	uint64_t want = guest_caps_known(c->ambient & c->permitted & c->inheritable, last);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return hull_error(err, errno, "capabilities: clear the ambient set");
	for (int cap = 0; cap <= last; cap++)
		if (has(want, cap) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return hull_error(err, errno, "capabilities: raise ambient capability %d",
					  cap);
	return 0;
}

int guest_caps_after_user(const struct guestcfg *cfg, int last, struct hull_err *err)
{
	if (!cfg->has_caps)
		return 0;
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	guest_capset_data(&cfg->caps, last, data);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return hull_error(err, errno,
				  "capabilities: set effective, permitted and inheritable");
	if (set_ambient(&cfg->caps, last, err) < 0)
		return -1;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hull_error(err, errno, "capabilities: reset keep-capabilities");
	return 0;
}

/* prctl(PR_SET_SECCOMP) only for a kernel without seccomp(2) and only without flags, which
 * it cannot pass: libseccomp's own fallback. */
int guest_seccomp_load(const struct guestcfg *cfg, struct hull_err *err)
{
	struct sock_fprog prog = {
	    .len = (unsigned short)(cfg->seccomp_len / sizeof(struct sock_filter)),
	    .filter = (struct sock_filter *)(void *)cfg->seccomp,
	};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, cfg->seccomp_flags, &prog) == 0)
		return 0;
	if (errno == ENOSYS && cfg->seccomp_flags == 0 &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
		return 0;
	return hull_error(err, errno, "seccomp: load the filter");
}

int guest_seccomp_last(const struct guestcfg *cfg, struct hull_err *err)
{
	if (cfg->seccomp == NULL || !cfg->no_new_privs)
		return 0;
	return guest_seccomp_load(cfg, err);
}
