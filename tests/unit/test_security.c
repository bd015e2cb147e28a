/* src/security: name lookups, and the real effect of filters and capability sets, observed
 * in forked children so the test process keeps its own privileges. Needs root. */
#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "security/security.h"
#include "unit.h"

#define NOTE_SZ	    4096
#define MY_ERRNO    77 /* EBADFD: nothing the tested syscalls return on their own */
#define NO_SUCH_PID 99999
#define BIT(c)	    (UINT64_C(1) << (c))

static char *note; /* shared with the children: why one failed, or its error text */

/* Record why the child failed, for the parent to print; returns 1 for `return fail(...)`. */
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(note, NOTE_SZ, fmt, ap);
	va_end(ap);
	return 1;
}

/* Run fn in a child; its exit code, or 128 + the signal that ended it. */
static int in_child(int (*fn)(void))
{
	note[0] = '\0';
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* A broken filter can block the child for good (NOTIFY with nobody listening). */
		alarm(10);
		_exit(fn());
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define CHECK_CHILD(fn)                                                                            \
	do {                                                                                       \
		int rc_ = in_child(fn);                                                            \
		if (rc_ != 0)                                                                      \
			printf("#   %s: status %d: %s\n", #fn, rc_, note);                         \
		CHECK(rc_ == 0);                                                                   \
	} while (0)

/* A field of /proc/self/status as a number (hex for the Cap* masks); -1 when absent. */
static int64_t status_field(const char *key, int base)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (f == NULL)
		return -1;
	char line[256];
	int64_t v = -1;
	size_t n = strlen(key);
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = (int64_t)strtoull(line + n + 1, NULL, base);
	fclose(f);
	return v;
}

/* The syscall's result, or -errno. */
static long sys(long nr, long a, long b)
{
	long r = syscall(nr, a, b, 0, 0, 0, 0);
	return r < 0 ? -errno : r;
}

static int load(const struct oci_seccomp *s)
{
	struct hull_err err = {0};
	if (sec_seccomp_load(s, &err) < 0)
		return fail("sec_seccomp_load: %s", hull_err_text(&err));
	return 0;
}

/* ---- name lookups ---- */

static void test_cap_from_name_good(void)
{
	CHECK(sec_cap_from_name("CAP_CHOWN") == 0);
	CHECK(sec_cap_from_name("CAP_KILL") == 5);
	CHECK(sec_cap_from_name("CAP_SYS_ADMIN") == 21);
	CHECK(sec_cap_from_name("CAP_BPF") == 39);
	/* Linux 5.9 added it: unavailable, like an unknown name, on a kernel without it. */
	_cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = 0;
	CHECK(f != NULL && fscanf(f, "%d", &last) == 1);
	CHECK(sec_cap_from_name("CAP_CHECKPOINT_RESTORE") == (last >= 40 ? 40 : -1));
}

static void test_cap_from_name_bad(void)
{
	CHECK(sec_cap_from_name(NULL) == -1);
	CHECK(sec_cap_from_name("") == -1);
	CHECK(sec_cap_from_name("CAP_") == -1);
	CHECK(sec_cap_from_name("SYS_ADMIN") == -1);
	CHECK(sec_cap_from_name("cap_sys_admin") == -1);
	CHECK(sec_cap_from_name("CAP_sys_admin") == -1);
	CHECK(sec_cap_from_name("Cap_Sys_Admin") == -1);
	CHECK(sec_cap_from_name("21") == -1);
	CHECK(sec_cap_from_name("CAP_21") == -1);
	CHECK(sec_cap_from_name("CAP_NO_SUCH_THING") == -1);
	CHECK(sec_cap_from_name("CAP_SYS_ADMIN ") == -1);
	CHECK(sec_cap_from_name("CAP_CHOWN,CAP_KILL") == -1);
}

static void test_cap_names_table(void)
{
	const char *const *names = sec_cap_names();
	size_t n = 0;
	bool admin = false;
	for (; names[n] != NULL; n++) {
		CHECK(sec_cap_from_name(names[n]) == (int)n); /* contiguous, round-trips */
		admin |= strcmp(names[n], "CAP_SYS_ADMIN") == 0;
	}
	CHECK(n >= 41);
	CHECK(n <= 64);
	CHECK_STR(names[0], "CAP_CHOWN");
	CHECK_STR(names[40], "CAP_CHECKPOINT_RESTORE");
	CHECK(admin);
	CHECK(sec_cap_names() == names);
}

static void test_seccomp_action_names(void)
{
	uint32_t a = 1;
	CHECK(sec_seccomp_action("SCMP_ACT_KILL", false, 0, &a) == 0 && a == SCMP_ACT_KILL_THREAD);
	CHECK(sec_seccomp_action("SCMP_ACT_KILL_THREAD", false, 0, &a) == 0 &&
	      a == SCMP_ACT_KILL_THREAD);
	CHECK(sec_seccomp_action("SCMP_ACT_KILL_PROCESS", false, 0, &a) == 0 &&
	      a == SCMP_ACT_KILL_PROCESS);
	CHECK(sec_seccomp_action("SCMP_ACT_TRAP", false, 0, &a) == 0 && a == SCMP_ACT_TRAP);
	CHECK(sec_seccomp_action("SCMP_ACT_ALLOW", false, 0, &a) == 0 && a == SCMP_ACT_ALLOW);
	CHECK(sec_seccomp_action("SCMP_ACT_LOG", false, 0, &a) == 0 && a == SCMP_ACT_LOG);
	CHECK(sec_seccomp_action("SCMP_ACT_NOTIFY", false, 0, &a) == 0 && a == SCMP_ACT_NOTIFY);
}

static void test_seccomp_action_errno_folding(void)
{
	uint32_t a = 0;
	CHECK(sec_seccomp_action("SCMP_ACT_ERRNO", false, 0, &a) == 0 &&
	      a == SCMP_ACT_ERRNO(EPERM));
	CHECK(sec_seccomp_action("SCMP_ACT_ERRNO", true, 38, &a) == 0 && a == SCMP_ACT_ERRNO(38));
	CHECK(sec_seccomp_action("SCMP_ACT_ERRNO", true, 0, &a) == 0 && a == SCMP_ACT_ERRNO(0));
	CHECK(sec_seccomp_action("SCMP_ACT_TRACE", false, 0, &a) == 0 &&
	      a == SCMP_ACT_TRACE(EPERM));
	CHECK(sec_seccomp_action("SCMP_ACT_TRACE", true, 1234, &a) == 0 &&
	      a == SCMP_ACT_TRACE(1234));
	CHECK(sec_seccomp_action("SCMP_ACT_ERRNO", true, 0xffff, &a) == 0 &&
	      a == SCMP_ACT_ERRNO(0xffff));
	CHECK(sec_seccomp_action("SCMP_ACT_ERRNO", true, 0x10000, &a) == -1);
	/* errnoRet only means something to ERRNO and TRACE. */
	CHECK(sec_seccomp_action("SCMP_ACT_ALLOW", true, 1, &a) == -1);
	CHECK(sec_seccomp_action("SCMP_ACT_KILL", true, 0, &a) == -1);
	CHECK(sec_seccomp_action("SCMP_ACT_LOG", true, 5, &a) == -1);
	CHECK(sec_seccomp_action("SCMP_ACT_NOTIFY", true, 5, &a) == -1);
}

static void test_seccomp_action_bad(void)
{
	uint32_t a = 0x1234;
	CHECK(sec_seccomp_action(NULL, false, 0, &a) == -1);
	CHECK(sec_seccomp_action("", false, 0, &a) == -1);
	CHECK(sec_seccomp_action("scmp_act_allow", false, 0, &a) == -1);
	CHECK(sec_seccomp_action("ALLOW", false, 0, &a) == -1);
	CHECK(sec_seccomp_action("SCMP_ACT_ALLOWX", false, 0, &a) == -1);
	CHECK(a == 0x1234);
}

static void test_seccomp_arch_names(void)
{
	uint32_t t = 0;
	CHECK(sec_seccomp_arch("SCMP_ARCH_X86_64", &t) == 0 && t == SCMP_ARCH_X86_64);
	CHECK(sec_seccomp_arch("SCMP_ARCH_X86", &t) == 0 && t == SCMP_ARCH_X86);
	CHECK(sec_seccomp_arch("SCMP_ARCH_X32", &t) == 0 && t == SCMP_ARCH_X32);
	CHECK(sec_seccomp_arch("SCMP_ARCH_AARCH64", &t) == 0 && t == SCMP_ARCH_AARCH64);
	CHECK(sec_seccomp_arch("SCMP_ARCH_MIPSEL64N32", &t) == 0 && t == SCMP_ARCH_MIPSEL64N32);
	CHECK(sec_seccomp_arch("SCMP_ARCH_PPC64LE", &t) == 0 && t == SCMP_ARCH_PPC64LE);
	CHECK(sec_seccomp_arch("SCMP_ARCH_S390X", &t) == 0 && t == SCMP_ARCH_S390X);
	CHECK(sec_seccomp_arch("SCMP_ARCH_RISCV64", &t) == 0 && t == SCMP_ARCH_RISCV64);
	CHECK(sec_seccomp_arch("SCMP_ARCH_PARISC64", &t) == 0 && t == SCMP_ARCH_PARISC64);
	CHECK(sec_seccomp_arch("SCMP_ARCH_NATIVE", &t) == -1);
	CHECK(sec_seccomp_arch("SCMP_ARCH_x86_64", &t) == -1);
	CHECK(sec_seccomp_arch("scmp_arch_x86_64", &t) == -1);
	CHECK(sec_seccomp_arch("X86_64", &t) == -1);
	CHECK(sec_seccomp_arch("x86_64", &t) == -1);
	CHECK(sec_seccomp_arch("SCMP_ARCH_VAX", &t) == -1);
	CHECK(sec_seccomp_arch(NULL, &t) == -1);
}

static void test_seccomp_arch_table(void)
{
	size_t n = 0, known = 0;
	bool x86_64 = false, loong = false;
	for (; sec_seccomp_arch_names[n] != NULL; n++) {
		uint32_t t = 0;
		known += sec_seccomp_arch(sec_seccomp_arch_names[n], &t) == 0;
		x86_64 |= strcmp(sec_seccomp_arch_names[n], "SCMP_ARCH_X86_64") == 0;
		loong |= strcmp(sec_seccomp_arch_names[n], "SCMP_ARCH_LOONGARCH64") == 0;
	}
	CHECK(n == 23);
	CHECK(known >= 19); /* libseccomp 2.5 knows all but LOONGARCH64, M68K, SH, SHEB */
	CHECK(x86_64 && loong);
}

static void test_seccomp_op_names(void)
{
	static const struct {
		const char *name;
		int op;
	} want[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
		    {"SCMP_CMP_LT", SCMP_CMP_LT},
		    {"SCMP_CMP_LE", SCMP_CMP_LE},
		    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
		    {"SCMP_CMP_GE", SCMP_CMP_GE},
		    {"SCMP_CMP_GT", SCMP_CMP_GT},
		    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
	size_t n = 0;
	for (; sec_seccomp_op_names[n] != NULL; n++) {
		CHECK(n < 7);
		if (n < 7)
			CHECK_STR(sec_seccomp_op_names[n], want[n].name);
	}
	CHECK(n == 7);
	for (size_t i = 0; i < 7; i++) {
		int op = -1;
		CHECK(sec_seccomp_op(want[i].name, &op) == 0 && op == want[i].op);
	}
	int op = 0;
	CHECK(sec_seccomp_op("SCMP_CMP_eq", &op) == -1);
	CHECK(sec_seccomp_op("EQ", &op) == -1);
	CHECK(sec_seccomp_op(NULL, &op) == -1);
}

static void test_seccomp_flag_names(void)
{
	unsigned f = 0;
	CHECK(sec_seccomp_flag("SECCOMP_FILTER_FLAG_TSYNC", &f) == 0 && f == 1);
	CHECK(sec_seccomp_flag("SECCOMP_FILTER_FLAG_LOG", &f) == 0 && f == 2);
	CHECK(sec_seccomp_flag("SECCOMP_FILTER_FLAG_SPEC_ALLOW", &f) == 0 && f == 4);
	CHECK(sec_seccomp_flag("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", &f) == 0 && f == 32);
	CHECK(sec_seccomp_flag("SECCOMP_FILTER_FLAG_NEW_LISTENER", &f) == -1);
	CHECK(sec_seccomp_flag("seccomp_filter_flag_log", &f) == -1);
	CHECK(sec_seccomp_flag(NULL, &f) == -1);
	size_t n = 0;
	for (; sec_seccomp_flag_names[n] != NULL; n++)
		CHECK(sec_seccomp_flag(sec_seccomp_flag_names[n], &f) == 0);
	CHECK(n == 4);
}

static void test_seccomp_action_table(void)
{
	size_t n = 0;
	bool errno_act = false, notify = false;
	for (; sec_seccomp_action_names[n] != NULL; n++) {
		uint32_t a;
		CHECK(sec_seccomp_action(sec_seccomp_action_names[n], false, 0, &a) == 0);
		errno_act |= strcmp(sec_seccomp_action_names[n], "SCMP_ACT_ERRNO") == 0;
		notify |= strcmp(sec_seccomp_action_names[n], "SCMP_ACT_NOTIFY") == 0;
	}
	CHECK(n == 9);
	CHECK(errno_act && notify);
}

/* ---- seccomp filters, loaded in children ---- */

#define RULE(act, ...)                                                                             \
	{                                                                                          \
		.names = (char *[]){__VA_ARGS__},                                                  \
		.n_names = sizeof((char *[]){__VA_ARGS__}) / sizeof(char *), .action = (act)       \
	}

static struct oci_seccomp allow_with(struct oci_seccomp_rule *rules, size_t n)
{
	return (struct oci_seccomp){.default_action = SCMP_ACT_ALLOW, .rules = rules, .n_rules = n};
}

static int child_errno_ret(void)
{
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ERRNO(38), "getppid")};
	struct oci_seccomp s = allow_with(rules, 1);
	if (load(&s) != 0)
		return 1;
	if (sys(SYS_getppid, 0, 0) != -38)
		return fail("getppid gave %ld", sys(SYS_getppid, 0, 0));
	if (sys(SYS_getpid, 0, 0) != getpid())
		return fail("getpid was filtered");
	return 0;
}

static void test_seccomp_errno_ret(void)
{
	CHECK_CHILD(child_errno_ret);
}

/* personality(0xffffffff) only queries; Docker's profile allows exactly such values. */
static int child_arg_eq(void)
{
	struct oci_seccomp_arg args[] = {{.index = 0, .value = 0xffffffff, .op = SCMP_CMP_EQ}};
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ERRNO(MY_ERRNO), "personality")};
	rules[0].args = args;
	rules[0].n_args = 1;
	struct oci_seccomp s = allow_with(rules, 1);
	if (load(&s) != 0)
		return 1;
	if (sys(SYS_personality, 0xffffffff, 0) != -MY_ERRNO)
		return fail("matching value not filtered");
	if (sys(SYS_personality, 0, 0) < 0)
		return fail("other value filtered");
	return 0;
}

static void test_seccomp_arg_condition(void)
{
	CHECK_CHILD(child_arg_eq);
}

static int child_same_index_or(void)
{
	struct oci_seccomp_arg args[] = {{.index = 0, .value = 0xffffffff, .op = SCMP_CMP_EQ},
					 {.index = 0, .value = 0x0008, .op = SCMP_CMP_EQ}};
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ERRNO(MY_ERRNO), "personality")};
	rules[0].args = args;
	rules[0].n_args = 2;
	struct oci_seccomp s = allow_with(rules, 1);
	if (load(&s) != 0)
		return 1;
	if (sys(SYS_personality, 0xffffffff, 0) != -MY_ERRNO)
		return fail("first alternative not filtered");
	if (sys(SYS_personality, 0x0008, 0) != -MY_ERRNO)
		return fail("second alternative not filtered");
	if (sys(SYS_personality, 0, 0) < 0)
		return fail("unlisted value filtered");
	return 0;
}

static void test_seccomp_same_index_is_or(void)
{
	CHECK_CHILD(child_same_index_or);
}

/* getpriority(which, who): both arguments must match for the rule to apply. */
static int child_indexes_and(void)
{
	struct oci_seccomp_arg args[] = {{.index = 1, .value = NO_SUCH_PID, .op = SCMP_CMP_EQ},
					 {.index = 0, .value = PRIO_PROCESS, .op = SCMP_CMP_EQ}};
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ERRNO(MY_ERRNO), "getpriority")};
	rules[0].args = args;
	rules[0].n_args = 2;
	struct oci_seccomp s = allow_with(rules, 1);
	if (load(&s) != 0)
		return 1;
	if (sys(SYS_getpriority, PRIO_PROCESS, NO_SUCH_PID) != -MY_ERRNO)
		return fail("both matching: not filtered");
	if (sys(SYS_getpriority, PRIO_PROCESS, 0) < 0)
		return fail("only arg0 matching: filtered");
	if (sys(SYS_getpriority, PRIO_PGRP, NO_SUCH_PID) != -ESRCH)
		return fail("only arg1 matching: filtered");
	return 0;
}

static void test_seccomp_different_indexes_are_and(void)
{
	CHECK_CHILD(child_indexes_and);
}

/* (arg0 == PROCESS || arg0 == PGRP) && arg1 == NO_SUCH_PID */
static int child_mixed(void)
{
	struct oci_seccomp_arg args[] = {{.index = 0, .value = PRIO_PROCESS, .op = SCMP_CMP_EQ},
					 {.index = 1, .value = NO_SUCH_PID, .op = SCMP_CMP_EQ},
					 {.index = 0, .value = PRIO_PGRP, .op = SCMP_CMP_EQ}};
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ERRNO(MY_ERRNO), "getpriority")};
	rules[0].args = args;
	rules[0].n_args = 3;
	struct oci_seccomp s = allow_with(rules, 1);
	if (load(&s) != 0)
		return 1;
	if (sys(SYS_getpriority, PRIO_PROCESS, NO_SUCH_PID) != -MY_ERRNO ||
	    sys(SYS_getpriority, PRIO_PGRP, NO_SUCH_PID) != -MY_ERRNO)
		return fail("a matching combination was not filtered");
	if (sys(SYS_getpriority, PRIO_USER, NO_SUCH_PID) == -MY_ERRNO)
		return fail("arg0 outside the alternatives was filtered");
	if (sys(SYS_getpriority, PRIO_PROCESS, 0) < 0 || sys(SYS_getpriority, PRIO_PGRP, 0) < 0)
		return fail("arg1 not matching was filtered");
	return 0;
}

static void test_seccomp_mixed_or_and(void)
{
	CHECK_CHILD(child_mixed);
}

static int child_masked_eq(void)
{
	/* MASKED_EQ: (arg & value) == valueTwo */
	struct oci_seccomp_arg args[] = {
	    {.index = 0, .value = 0xff00, .value_two = 0x1200, .op = SCMP_CMP_MASKED_EQ}};
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ERRNO(MY_ERRNO), "getpriority")};
	rules[0].args = args;
	rules[0].n_args = 1;
	struct oci_seccomp s = allow_with(rules, 1);
	if (load(&s) != 0)
		return 1;
	if (sys(SYS_getpriority, 0x1234, 0) != -MY_ERRNO)
		return fail("masked match not filtered");
	if (sys(SYS_getpriority, 0x1334, 0) != -EINVAL)
		return fail("masked mismatch filtered");
	return 0;
}

static void test_seccomp_masked_eq(void)
{
	CHECK_CHILD(child_masked_eq);
}

static int child_unknown_names(void)
{
	struct oci_seccomp_rule rules[] = {
	    RULE(SCMP_ACT_ERRNO(38), "hull_no_such_syscall", "getppid", "another_fake_one")};
	struct oci_seccomp s = allow_with(rules, 1);
	if (load(&s) != 0)
		return 1;
	if (sys(SYS_getppid, 0, 0) != -38)
		return fail("the known name after an unknown one was not filtered");
	return 0;
}

static void test_seccomp_unknown_names_skipped(void)
{
	CHECK_CHILD(child_unknown_names);
}

static int child_default_repeated(void)
{
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ALLOW, "getpid", "getppid"),
					   RULE(SCMP_ACT_ERRNO(38), "getppid")};
	struct oci_seccomp s = allow_with(rules, 2);
	if (load(&s) != 0)
		return 1;
	if (sys(SYS_getppid, 0, 0) != -38)
		return fail("getppid not filtered");
	return 0;
}

static void test_seccomp_rule_with_default_action_skipped(void)
{
	CHECK_CHILD(child_default_repeated);
}

/* Default deny with an allow list, as Docker's profile is written. */
static int child_allow_list(void)
{
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ALLOW, "getpid", "exit", "exit_group",
						"write", "rt_sigreturn", "munmap", "brk")};
	struct oci_seccomp s = {
	    .default_action = SCMP_ACT_ERRNO(MY_ERRNO), .rules = rules, .n_rules = 1};
	if (load(&s) != 0)
		return 1;
	int rc = 0;
	if (sys(SYS_getppid, 0, 0) != -MY_ERRNO)
		rc = fail("default action not applied");
	else if (sys(SYS_getpid, 0, 0) != getpid())
		rc = fail("allowed syscall denied");
	/* Straight out: sanitizer exit hooks make syscalls this filter denies. */
	syscall(SYS_exit_group, rc);
	return rc;
}

static void test_seccomp_default_deny_allow_list(void)
{
	CHECK_CHILD(child_allow_list);
}

static int child_kill_process(void)
{
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_KILL_PROCESS, "getppid")};
	struct oci_seccomp s = allow_with(rules, 1);
	if (load(&s) != 0)
		return 1;
	sys(SYS_getppid, 0, 0);
	return fail("still alive after getppid");
}

static void test_seccomp_kill_process(void)
{
	CHECK(in_child(child_kill_process) == 128 + SIGSYS);
}

static int child_multi_arch_flags(void)
{
	uint32_t arches[3];
	const char *names[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
	for (int i = 0; i < 3; i++)
		if (sec_seccomp_arch(names[i], &arches[i]) < 0)
			return fail("resolve %s", names[i]);
	unsigned tsync = 0, log = 0, spec = 0;
	sec_seccomp_flag("SECCOMP_FILTER_FLAG_TSYNC", &tsync);
	sec_seccomp_flag("SECCOMP_FILTER_FLAG_LOG", &log);
	sec_seccomp_flag("SECCOMP_FILTER_FLAG_SPEC_ALLOW", &spec);
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ERRNO(38), "getppid", "socketcall")};
	struct oci_seccomp s = allow_with(rules, 1);
	s.architectures = arches;
	s.n_architectures = 3;
	s.flags = tsync | log | spec;
	if (load(&s) != 0)
		return 1;
	if (sys(SYS_getppid, 0, 0) != -38)
		return fail("getppid not filtered");
	return 0;
}

#if defined(__x86_64__)
static void test_seccomp_architectures_and_flags(void)
{
	CHECK_CHILD(child_multi_arch_flags);
}
#endif

/* The filter count must not move: nothing may be loaded before the refusal. */
static int child_notify(void)
{
	int64_t before = status_field("Seccomp_filters", 10);
	struct hull_err err = {0};
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_NOTIFY, "getppid")};
	struct oci_seccomp by_rule = allow_with(rules, 1);
	struct oci_seccomp by_default = {.default_action = SCMP_ACT_NOTIFY};
	if (sec_seccomp_load(&by_default, &err) == 0)
		return fail("default NOTIFY accepted");
	snprintf(note, NOTE_SZ, "%s", hull_err_text(&err));
	if (sec_seccomp_load(&by_rule, &err) == 0)
		return fail("rule NOTIFY accepted");
	if (strcmp(note, hull_err_text(&err)) != 0)
		return fail("messages differ: %s", hull_err_text(&err));
	hull_err_clear(&err);
	if (status_field("Seccomp_filters", 10) != before)
		return fail("a filter was loaded");
	return 0;
}

static void test_seccomp_notify_refused(void)
{
	CHECK(in_child(child_notify) == 0);
	CHECK_STR(note, "seccomp: SCMP_ACT_NOTIFY (listenerPath) is not supported yet");
}

/* The exported program loaded by hand, as the micro-VM guest init loads it. */
static int child_export(void)
{
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ERRNO(MY_ERRNO), "getppid")};
	struct oci_seccomp s = allow_with(rules, 1);
	s.flags = SECCOMP_FILTER_FLAG_LOG | 32u; /* | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV */
	struct hull_err err = {0};
	unsigned char *bpf = NULL;
	size_t len = 0;
	unsigned flags = 99;
	if (sec_seccomp_export(&s, &bpf, &len, &flags, &err) < 0)
		return fail("export: %s", hull_err_text(&err));
	if (len == 0 || len % sizeof(struct sock_filter) != 0)
		return fail("exported %zu bytes", len);
	/* WAIT_KILLABLE_RECV acts on notify listeners only, and there is none. */
	if (flags != SECCOMP_FILTER_FLAG_LOG)
		return fail("flags 0x%x", flags);
	if (sys(SYS_getppid, 0, 0) < 0)
		return fail("getppid filtered before the load");
	struct sock_fprog prog = {.len = (unsigned short)(len / sizeof(struct sock_filter)),
				  .filter = (struct sock_filter *)(void *)bpf};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0)
		return fail("load the exported filter: %s", strerror(errno));
	free(bpf);
	if (sys(SYS_getppid, 0, 0) != -MY_ERRNO)
		return fail("getppid gave %ld", sys(SYS_getppid, 0, 0));
	if (sys(SYS_getpid, 0, 0) != getpid())
		return fail("getpid was filtered");
	return 0;
}

static void test_seccomp_export(void)
{
	CHECK_CHILD(child_export);
}

/* Export is pure: it loads nothing, and refuses what load refuses. */
static void test_seccomp_export_refuses_notify(void)
{
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_NOTIFY, "getppid")};
	struct oci_seccomp s = allow_with(rules, 1);
	CHECK(sec_seccomp_uses_notify(&s));
	struct hull_err err = {0};
	unsigned char *bpf = NULL;
	size_t len = 0;
	unsigned flags = 0;
	CHECK(sec_seccomp_export(&s, &bpf, &len, &flags, &err) < 0 && bpf == NULL);
	CHECK_CONTAINS(err.msg, "SCMP_ACT_NOTIFY");
	hull_err_clear(&err);
	rules[0].action = SCMP_ACT_ERRNO(1);
	CHECK(!sec_seccomp_uses_notify(&s));
	CHECK(sec_seccomp_export(&s, &bpf, &len, &flags, &err) == 0 && len > 0);
	CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0);
	free(bpf);
}

static int child_bad_op(void)
{
	struct oci_seccomp_arg args[] = {{.index = 0, .value = 1, .op = 99}};
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ERRNO(38), "getppid")};
	rules[0].args = args;
	rules[0].n_args = 1;
	struct oci_seccomp s = allow_with(rules, 1);
	struct hull_err err = {0};
	if (sec_seccomp_load(&s, &err) == 0)
		return fail("loaded");
	snprintf(note, NOTE_SZ, "%s", hull_err_text(&err));
	hull_err_clear(&err);
	return 0;
}

static int child_bad_index(void)
{
	struct oci_seccomp_arg args[] = {{.index = 6, .value = 1, .op = SCMP_CMP_EQ}};
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ERRNO(38), "open")};
	rules[0].args = args;
	rules[0].n_args = 1;
	struct oci_seccomp s = allow_with(rules, 1);
	struct hull_err err = {0};
	if (sec_seccomp_load(&s, &err) == 0)
		return fail("loaded");
	snprintf(note, NOTE_SZ, "%s", hull_err_text(&err));
	hull_err_clear(&err);
	return 0;
}

static void test_seccomp_error_names_syscall(void)
{
	CHECK(in_child(child_bad_op) == 0);
	CHECK_STR(note, "seccomp: rule for \"getppid\": Invalid argument");
	CHECK(in_child(child_bad_index) == 0);
	CHECK_CONTAINS(note, "seccomp: rule for \"open\": argument index 6");
}

/* The runtime owns no_new_privs (process.noNewPrivileges); loading must not set it. */
static int child_no_nnp(void)
{
	struct oci_seccomp_rule rules[] = {RULE(SCMP_ACT_ERRNO(38), "getppid")};
	struct oci_seccomp s = allow_with(rules, 1);
	if (load(&s) != 0)
		return 1;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		return fail("no_new_privs was set");
	if (status_field("Seccomp", 10) != SECCOMP_MODE_FILTER)
		return fail("not in filter mode");
	return 0;
}

static void test_seccomp_leaves_no_new_privs_alone(void)
{
	CHECK_CHILD(child_no_nnp);
}

/* ---- capabilities, applied in children ---- */

static int check_masks(uint64_t bnd, uint64_t eff, uint64_t prm, uint64_t inh, uint64_t amb)
{
	const struct {
		const char *key;
		uint64_t want;
	} m[] = {
	    {"CapBnd", bnd}, {"CapEff", eff}, {"CapPrm", prm}, {"CapInh", inh}, {"CapAmb", amb}};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		uint64_t got = (uint64_t)status_field(m[i].key, 16);
		if (got != m[i].want)
			return fail("%s %016" PRIx64 ", want %016" PRIx64, m[i].key, got,
				    m[i].want);
	}
	return 0;
}

static int apply(const struct oci_caps *caps)
{
	struct hull_err err = {0};
	if (sec_caps_apply(caps, &err) < 0)
		return fail("sec_caps_apply: %s", hull_err_text(&err));
	return 0;
}

static int child_caps_exact(void)
{
	uint64_t set = BIT(CAP_CHOWN) | BIT(CAP_KILL);
	struct oci_caps c = {.bounding = set, .effective = set, .permitted = set};
	if (apply(&c) != 0)
		return 1;
	return check_masks(0x21, 0x21, 0x21, 0, 0);
}

static void test_caps_exact_sets(void)
{
	CHECK_CHILD(child_caps_exact);
}

static int child_caps_null(void)
{
	if (apply(NULL) != 0)
		return 1;
	return check_masks(0, 0, 0, 0, 0);
}

static void test_caps_null_drops_everything(void)
{
	CHECK_CHILD(child_caps_null);
}

/* CAP_SYS_ADMIN is asked for as ambient but is neither permitted nor inheritable. */
static int child_caps_ambient(void)
{
	uint64_t set = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);
	struct oci_caps c = {.bounding = set,
			     .effective = set,
			     .permitted = set,
			     .inheritable = set,
			     .ambient =
				 BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_ADMIN)};
	if (apply(&c) != 0)
		return 1;
	return check_masks(0x421, 0x421, 0x421, 0x421, 0x420);
}

static void test_caps_ambient_raised(void)
{
	CHECK_CHILD(child_caps_ambient);
}

/* The order the container's init uses: keep caps, switch user, then apply. */
static int child_caps_after_setuid(void)
{
	struct hull_err err = {0};
	if (sec_caps_keep_on_setuid(&err) < 0)
		return fail("keep: %s", hull_err_text(&err));
	if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 1)
		return fail("PR_SET_KEEPCAPS not set");
	if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
		return fail("setresuid: %s", strerror(errno));
	uint64_t set = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_RAW);
	struct oci_caps c = {.bounding = set,
			     .effective = set,
			     .permitted = set,
			     .inheritable = BIT(CAP_NET_RAW),
			     .ambient = BIT(CAP_NET_RAW)};
	if (apply(&c) != 0)
		return 1;
	if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
		return fail("PR_SET_KEEPCAPS left on");
	return check_masks(0x2021, 0x2021, 0x2021, 0x2000, 0x2000);
}

static void test_caps_after_setuid(void)
{
	CHECK_CHILD(child_caps_after_setuid);
}

static int child_caps_above_last(void)
{
	uint64_t set = BIT(CAP_CHOWN) | BIT(63);
	struct oci_caps c = {.bounding = set, .effective = set, .permitted = set};
	if (apply(&c) != 0)
		return 1;
	return check_masks(0x1, 0x1, 0x1, 0, 0);
}

static void test_caps_above_kernel_last_ignored(void)
{
	CHECK_CHILD(child_caps_above_last);
}

/* Without CAP_SETPCAP, a bounding set that is already as asked must not be an error. */
static int child_caps_bounding_already_reduced(void)
{
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (cap != CAP_CHOWN && cap != CAP_KILL && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return fail("setup drop %d: %s", cap, strerror(errno));
	cap_t c = cap_from_text("cap_chown,cap_kill=ep");
	if (c == NULL || cap_set_proc(c) < 0)
		return fail("setup: %s", strerror(errno));
	cap_free(c);
	uint64_t set = BIT(CAP_CHOWN) | BIT(CAP_KILL);
	struct oci_caps want = {.bounding = set, .effective = set, .permitted = set};
	if (apply(&want) != 0)
		return 1;
	return check_masks(0x21, 0x21, 0x21, 0, 0);
}

static void test_caps_bounding_already_reduced(void)
{
	CHECK_CHILD(child_caps_bounding_already_reduced);
}

/* Without CAP_SETPCAP the bounding set cannot shrink; the error names the capability. */
static int child_caps_drop_denied(void)
{
	cap_t c = cap_from_text("cap_chown,cap_kill=ep");
	if (c == NULL || cap_set_proc(c) < 0)
		return fail("setup: %s", strerror(errno));
	cap_free(c);
	struct oci_caps want = {
	    .bounding = BIT(CAP_KILL), .effective = BIT(CAP_KILL), .permitted = BIT(CAP_KILL)};
	struct hull_err err = {0};
	if (sec_caps_apply(&want, &err) == 0)
		return fail("applied without CAP_SETPCAP");
	snprintf(note, NOTE_SZ, "%s", hull_err_text(&err));
	hull_err_clear(&err);
	return 0;
}

static void test_caps_drop_error_names_cap(void)
{
	CHECK(in_child(child_caps_drop_denied) == 0);
	CHECK_STR(note, "capabilities: drop CAP_CHOWN from the bounding set: Operation not "
			"permitted");
}

/* The kernel refuses an effective capability that is not permitted. */
static int child_caps_eff_not_prm(void)
{
	struct oci_caps want = {.bounding = BIT(CAP_KILL) | BIT(CAP_CHOWN),
				.effective = BIT(CAP_KILL) | BIT(CAP_CHOWN),
				.permitted = BIT(CAP_KILL)};
	struct hull_err err = {0};
	if (sec_caps_apply(&want, &err) == 0)
		return fail("applied");
	snprintf(note, NOTE_SZ, "%s", hull_err_text(&err));
	hull_err_clear(&err);
	return 0;
}

static void test_caps_effective_outside_permitted_fails(void)
{
	CHECK(in_child(child_caps_eff_not_prm) == 0);
	CHECK_CONTAINS(note, "capabilities: set effective, permitted and inheritable");
}

int main(void)
{
	note = mmap(NULL, NOTE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (note == MAP_FAILED)
		return 2;
	if (geteuid() != 0)
		printf("# not root: the seccomp and capability cases will fail\n");

	RUN(test_cap_from_name_good);
	RUN(test_cap_from_name_bad);
	RUN(test_cap_names_table);
	RUN(test_seccomp_action_names);
	RUN(test_seccomp_action_errno_folding);
	RUN(test_seccomp_action_bad);
	RUN(test_seccomp_action_table);
	RUN(test_seccomp_arch_names);
	RUN(test_seccomp_arch_table);
	RUN(test_seccomp_op_names);
	RUN(test_seccomp_flag_names);

	RUN(test_seccomp_errno_ret);
	RUN(test_seccomp_arg_condition);
	RUN(test_seccomp_same_index_is_or);
	RUN(test_seccomp_different_indexes_are_and);
	RUN(test_seccomp_mixed_or_and);
	RUN(test_seccomp_masked_eq);
	RUN(test_seccomp_unknown_names_skipped);
	RUN(test_seccomp_rule_with_default_action_skipped);
	RUN(test_seccomp_default_deny_allow_list);
	RUN(test_seccomp_kill_process);
#if defined(__x86_64__)
	RUN(test_seccomp_architectures_and_flags);
#endif
	RUN(test_seccomp_notify_refused);
	RUN(test_seccomp_export);
	RUN(test_seccomp_export_refuses_notify);
	RUN(test_seccomp_error_names_syscall);
	RUN(test_seccomp_leaves_no_new_privs_alone);

	RUN(test_caps_exact_sets);
	RUN(test_caps_null_drops_everything);
	RUN(test_caps_ambient_raised);
	RUN(test_caps_after_setuid);
	RUN(test_caps_above_kernel_last_ignored);
	RUN(test_caps_bounding_already_reduced);
	RUN(test_caps_drop_error_names_cap);
	RUN(test_caps_effective_outside_permitted_fails);
	return unit_done();
}
