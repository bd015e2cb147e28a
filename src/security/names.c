/* config.json names for capabilities and seccomp, mapped to libcap/libseccomp values. */
#include "security/security.h"

#include <ctype.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>

#include "seccomp_flags.h"

#define CAP_PREFIX  "CAP_"
#define SCMP_PREFIX "SCMP_ARCH_"
#define CAP_MAX	    64 /* the kernel's capability sets are 64 bits wide */
#define CAP_NAME_SZ 32

struct name_value {
	const char *name;
	uint32_t value;
};

/* SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry their data in the low 16 bits; the entries here
 * hold the action with data 0 and sec_seccomp_action() folds errnoRet in. */
static const struct name_value actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
};

static const struct name_value ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static const struct name_value flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

const char *const sec_seccomp_action_names[] = {
    "SCMP_ACT_KILL",	    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",	    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",	    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",	    NULL,
};

const char *const sec_seccomp_op_names[] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",	"SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

/* Every architecture the runtime-spec names (config-linux.md, seccomp). The installed
 * libseccomp may not know all of them; sec_seccomp_arch() says which it does. */
const char *const sec_seccomp_arch_names[] = {
    "SCMP_ARCH_X86",	 "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",		"SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",	"SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",	 "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",	 "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",	"SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",	 "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",	"SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",	 "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",	NULL,
};

const char *const sec_seccomp_flag_names[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    NULL,
};

static const struct name_value *find(const struct name_value *t, size_t n, const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

#define FIND(table, name) find(table, sizeof(table) / sizeof(table[0]), name)

/* config.json spells capabilities as the kernel headers do ("CAP_SYS_ADMIN"); runc matches
 * them exactly, so lower case and bare numbers (which cap_from_name() would take) are out. */
static bool cap_name_well_formed(const char *name)
{
	if (name == NULL || strncmp(name, CAP_PREFIX, strlen(CAP_PREFIX)) != 0)
		return false;
	const char *rest = name + strlen(CAP_PREFIX);
	if (!isupper((unsigned char)rest[0]) || strlen(name) >= CAP_NAME_SZ)
		return false;
	for (const char *p = rest; *p; p++)
		if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

int sec_cap_from_name(const char *name)
{
	if (!cap_name_well_formed(name))
		return -1;
	char lower[CAP_NAME_SZ];
	size_t i = 0;
	for (; name[i]; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[i] = '\0';
	cap_value_t cap;
	/* One the kernel lacks could never be granted: unavailable, as runc calls it. */
	if (cap_from_name(lower, &cap) < 0 || cap < 0 || cap >= CAP_MAX || cap >= cap_max_bits())
		return -1;
	return cap;
}

/* libcap names the capabilities it does not know by number ("41"). */
static bool cap_upper_name(cap_value_t cap, char *out, size_t size)
{
	char *name = cap_to_name(cap);
	if (name == NULL)
		return false;
	bool known = isalpha((unsigned char)name[0]) && strlen(name) < size;
	if (known) {
		size_t i = 0;
		for (; name[i]; i++)
			out[i] = (char)toupper((unsigned char)name[i]);
		out[i] = '\0';
	}
	cap_free(name);
	return known;
}

/* Built on first use; hull calls it single-threaded (features, spec validation). */
const char *const *sec_cap_names(void)
{
	static char names[CAP_MAX][CAP_NAME_SZ];
	static const char *list[CAP_MAX + 1];
	static bool built;
	if (built)
		return list;
	int max = cap_max_bits();
	size_t n = 0;
	for (cap_value_t c = 0; c < max && c < CAP_MAX; c++)
		if (cap_upper_name(c, names[n], sizeof names[n]))
			list[n] = names[n], n++;
	list[n] = NULL;
	built = true;
	return list;
}

int sec_seccomp_action(const char *name, bool has_errno, uint32_t errno_ret, uint32_t *action)
{
	const struct name_value *e = FIND(actions, name);
	if (e == NULL)
		return -1;
	bool takes_data = e->value == SCMP_ACT_ERRNO(0) || e->value == SCMP_ACT_TRACE(0);
	if (!takes_data) {
		if (has_errno)
			return -1;
		*action = e->value;
		return 0;
	}
	/* The kernel returns only 16 bits of data (SECCOMP_RET_DATA); a larger errnoRet would
	 * silently become another number. Without errnoRet runc uses EPERM for both. */
	if (has_errno && errno_ret > 0xffff)
		return -1;
	*action = e->value | (has_errno ? errno_ret : EPERM);
	return 0;
}

int sec_seccomp_arch(const char *name, uint32_t *arch)
{
	if (name == NULL || strncmp(name, SCMP_PREFIX, strlen(SCMP_PREFIX)) != 0)
		return -1;
	bool listed = false;
	for (size_t i = 0; sec_seccomp_arch_names[i] != NULL; i++)
		listed |= strcmp(sec_seccomp_arch_names[i], name) == 0;
	if (!listed)
		return -1;
	char lower[32];
	const char *rest = name + strlen(SCMP_PREFIX);
	size_t i = 0;
	for (; i < sizeof lower - 1 && rest[i]; i++)
		lower[i] = (char)tolower((unsigned char)rest[i]);
	lower[i] = '\0';
	uint32_t token = seccomp_arch_resolve_name(lower);
	if (token == 0)
		return -1;
	*arch = token;
	return 0;
}

int sec_seccomp_op(const char *name, int *op)
{
	const struct name_value *e = FIND(ops, name);
	if (e == NULL)
		return -1;
	*op = (int)e->value;
	return 0;
}

int sec_seccomp_flag(const char *name, unsigned *flag)
{
	const struct name_value *e = FIND(flags, name);
	if (e == NULL)
		return -1;
	*flag = e->value;
	return 0;
}
