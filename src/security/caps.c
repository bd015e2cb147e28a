/* The container process's capability sets: bounding, effective/permitted/inheritable, ambient. */
#include "security/security.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#define CAP_BITS 64 /* the width of every capability set in struct oci_caps */

static inline void cleanup_cap(cap_t *c)
{
	if (*c != NULL)
		cap_free(*c);
}
#define _cleanup_cap_ __attribute__((cleanup(cleanup_cap)))

static bool has(uint64_t set, int cap)
{
	return (set >> cap) & 1;
}

/* "CAP_SYS_ADMIN" for messages; libcap names the capabilities it does not know by number. */
static const char *cap_label(int cap, char buf[static 32])
{
	char *name = cap_to_name(cap);
	if (name != NULL && isalpha((unsigned char)name[0])) {
		snprintf(buf, 32, "%s", name);
		for (char *p = buf; *p; p++)
			*p = (char)toupper((unsigned char)*p);
	} else {
		snprintf(buf, 32, "capability %d", cap);
	}
	cap_free(name);
	return buf;
}

/* The highest capability the running kernel knows. Asking the kernel rather than reading
 * /proc/sys/kernel/cap_last_cap works before the container's /proc is mounted. */
static int kernel_last_cap(void)
{
	for (int cap = CAP_BITS - 1; cap > 0; cap--)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0)
			return cap;
	return 0;
}

int sec_caps_keep_on_setuid(struct hull_err *err)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hull_error(err, errno, "capabilities: keep capabilities across setuid");
	return 0;
}

/* setuid() away from uid 0 empties the effective set even with PR_SET_KEEPCAPS, and
 * PR_CAPBSET_DROP needs CAP_SETPCAP there; so bring back what is still permitted. */
static int raise_permitted(struct hull_err *err)
{
	_cleanup_cap_ cap_t cur = cap_get_proc();
	if (cur == NULL)
		return hull_error(err, errno, "capabilities: read the current sets");
	if (cap_fill(cur, CAP_EFFECTIVE, CAP_PERMITTED) < 0 || cap_set_proc(cur) < 0)
		return hull_error(err, errno, "capabilities: raise the permitted set");
	return 0;
}

static int drop_bounding(uint64_t keep, int last, struct hull_err *err)
{
	for (int cap = 0; cap <= last; cap++) {
		if (has(keep, cap))
			continue;
		/* Already gone: dropping again would need CAP_SETPCAP for nothing. */
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			char name[32];
			return hull_error(err, errno, "capabilities: drop %s from the bounding set",
					  cap_label(cap, name));
		}
	}
	return 0;
}

static int fill_flag(cap_t c, cap_flag_t flag, uint64_t set, int last)
{
	for (cap_value_t cap = 0; cap <= last; cap++)
		if (has(set, cap) && cap_set_flag(c, flag, 1, &cap, CAP_SET) < 0)
			return -1;
	return 0;
}

static int set_sets(const struct oci_caps *caps, int last, struct hull_err *err)
{
	_cleanup_cap_ cap_t c = cap_init();
	if (c == NULL)
		return hull_error(err, errno, "capabilities: allocate");
	if (fill_flag(c, CAP_EFFECTIVE, caps->effective, last) < 0 ||
	    fill_flag(c, CAP_PERMITTED, caps->permitted, last) < 0 ||
	    fill_flag(c, CAP_INHERITABLE, caps->inheritable, last) < 0)
		return hull_error(err, errno, "capabilities: build the sets");
	if (cap_set_proc(c) < 0)
		return hull_error(err, errno,
				  "capabilities: set effective, permitted and inheritable");
	return 0;
}

/* The kernel keeps an ambient capability only while it is both permitted and inheritable
 * (capabilities(7)); others are skipped rather than failed, as they could never hold. */
static int set_ambient(const struct oci_caps *caps, int last, struct hull_err *err)
{
	uint64_t want = caps->ambient & caps->permitted & caps->inheritable;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		/* Kernels before 4.3 have no ambient set: fine unless one was asked for. */
		if (errno == EINVAL && want == 0)
			return 0;
		return hull_error(err, errno, "capabilities: clear the ambient set");
	}
	for (int cap = 0; cap <= last; cap++) {
		if (!has(want, cap))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
			char name[32];
			return hull_error(err, errno, "capabilities: raise ambient %s",
					  cap_label(cap, name));
		}
	}
	return 0;
}

/* Capabilities above the running kernel's last one are ignored: runc accepts them too, and
 * the kernel could not grant them anyway. */
int sec_caps_apply(const struct oci_caps *caps, struct hull_err *err)
{
	static const struct oci_caps none;
	if (caps == NULL)
		caps = &none;
	int last = kernel_last_cap();
	if (raise_permitted(err) < 0 || drop_bounding(caps->bounding, last, err) < 0 ||
	    set_sets(caps, last, err) < 0 || set_ambient(caps, last, err) < 0)
		return -1;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hull_error(err, errno, "capabilities: reset keep-capabilities");
	return 0;
}
