/* The device policy (src/cgroups/devices.c, devices_bpf.c): the v1 kernel semantics the
 * rule list is computed with, the BPF program built from it (run here by a small
 * interpreter over every kind of access, against the computed policy), and, as root, the
 * kernel's verifier and a real attach to a cgroup2 directory. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/resources.h"
#include "common/cleanup.h"
#include "unit.h"

#define RULE(allow, type, major, minor, access)                                                    \
	(struct oci_device_rule)                                                                   \
	{                                                                                          \
		allow, type, major, minor, access                                                  \
	}
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct oci_device_rule DENY_ALL = {false, 'a', -1, -1, "rwm"};
static const struct oci_device_rule ALLOW_ALL = {true, 'a', -1, -1, "rwm"};

static bool build(const struct oci_device_rule *rules, size_t n, struct cgroup_dev_policy *p)
{
	struct hull_err err = {0};
	int r = cgroup_dev_policy_build(rules, n, p, &err);
	hull_err_clear(&err);
	return r == 0;
}

/* ---- the v1 semantics ---- */

static void test_policy_narrowing_deny(void)
{
	struct oci_device_rule rules[] = {DENY_ALL, RULE(true, 'c', 1, 3, "rwm"),
					  RULE(false, 'c', 1, 3, "w")};
	struct cgroup_dev_policy p;
	CHECK(build(rules, N(rules), &p));
	CHECK(!p.default_allow && p.n == 1);
	CHECK_STR(p.ex[0].access, "rm");
	CHECK(cgroup_dev_allowed(&p, 'c', 1, 3, "r"));
	CHECK(cgroup_dev_allowed(&p, 'c', 1, 3, "m"));
	CHECK(!cgroup_dev_allowed(&p, 'c', 1, 3, "w"));
	CHECK(!cgroup_dev_allowed(&p, 'c', 1, 3, "rw"));
	CHECK(!cgroup_dev_allowed(&p, 'c', 1, 5, "r"));
	CHECK(!cgroup_dev_allowed(&p, 'b', 1, 3, "r"));
	cgroup_dev_policy_free(&p);
}

static void test_policy_blacklist(void)
{
	struct oci_device_rule rules[] = {ALLOW_ALL, RULE(false, 'c', 1, 3, "w")};
	struct cgroup_dev_policy p;
	CHECK(build(rules, N(rules), &p));
	CHECK(p.default_allow && p.n == 1);
	CHECK(cgroup_dev_allowed(&p, 'c', 1, 3, "r"));
	CHECK(!cgroup_dev_allowed(&p, 'c', 1, 3, "w"));
	CHECK(!cgroup_dev_allowed(&p, 'c', 1, 3, "rw")); /* any shared bit denies */
	CHECK(cgroup_dev_allowed(&p, 'c', 1, 5, "rwm"));
	cgroup_dev_policy_free(&p);
}

static void test_policy_merge_and_wildcards(void)
{
	/* Two allows of one node merge (the kernel's dev_exception_add). */
	struct oci_device_rule merge[] = {RULE(true, 'c', 1, 3, "r"), RULE(true, 'c', 1, 3, "w")};
	struct cgroup_dev_policy p;
	CHECK(build(merge, N(merge), &p));
	CHECK(p.n == 1 && cgroup_dev_allowed(&p, 'c', 1, 3, "rw"));
	cgroup_dev_policy_free(&p);
	/* A deny matches exactly: it takes nothing out of a wildcard allow. */
	struct oci_device_rule wild[] = {DENY_ALL, RULE(true, 'c', -1, -1, "rwm"),
					 RULE(false, 'c', 1, 3, "rwm"),
					 RULE(true, 'c', 136, -1, "rw")};
	CHECK(build(wild, N(wild), &p));
	CHECK(cgroup_dev_allowed(&p, 'c', 1, 3, "rw"));
	CHECK(cgroup_dev_allowed(&p, 'c', 136, 7, "rw"));
	CHECK(!cgroup_dev_allowed(&p, 'b', 8, 0, "r"));
	cgroup_dev_policy_free(&p);
}

static void test_policy_resets_and_split(void)
{
	/* "a" resets whatever came before, either way. */
	struct oci_device_rule rules[] = {RULE(true, 'c', 1, 3, "rwm"), DENY_ALL,
					  RULE(true, 'a', 10, 200, "rw")};
	struct cgroup_dev_policy p;
	CHECK(build(rules, N(rules), &p));
	CHECK(!p.default_allow && p.n == 2);
	CHECK(!cgroup_dev_allowed(&p, 'c', 1, 3, "r"));
	/* a narrow "a" rule stays narrow: both kinds, those numbers, that access */
	CHECK(cgroup_dev_allowed(&p, 'c', 10, 200, "rw"));
	CHECK(cgroup_dev_allowed(&p, 'b', 10, 200, "r"));
	CHECK(!cgroup_dev_allowed(&p, 'c', 10, 200, "m"));
	CHECK(!cgroup_dev_allowed(&p, 'c', 10, 201, "r"));
	cgroup_dev_policy_free(&p);
	struct oci_device_rule again[] = {DENY_ALL, RULE(true, 'c', 1, 3, "rwm"), ALLOW_ALL};
	CHECK(build(again, N(again), &p));
	CHECK(p.default_allow && p.n == 0 && cgroup_dev_allowed(&p, 'b', 8, 0, "rwm"));
	cgroup_dev_policy_free(&p);
	/* nothing at all: default deny */
	CHECK(build(NULL, 0, &p));
	CHECK(!p.default_allow && !cgroup_dev_allowed(&p, 'c', 1, 3, "r"));
	cgroup_dev_policy_free(&p);
}

/* ---- the BPF program, interpreted ---- */

/* Just the instructions cgroup_dev_bpf_insns emits; anything else fails the run. */
static int interpret(const struct bpf_insn *insn, size_t n, const struct bpf_cgroup_dev_ctx *ctx)
{
	uint64_t r[11] = {0};
	const uint8_t *mem = (const uint8_t *)ctx;
	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *i = &insn[pc];
		uint64_t imm = (uint64_t)(int64_t)i->imm;
		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W: {
			uint32_t v;
			if (i->src_reg != 1 || i->off < 0 || (size_t)i->off + 4 > sizeof *ctx)
				return -1;
			memcpy(&v, mem + i->off, 4);
			r[i->dst_reg] = v;
			break;
		}
		case BPF_ALU | BPF_MOV | BPF_X:
			r[i->dst_reg] = (uint32_t)r[i->src_reg];
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			r[i->dst_reg] = (uint32_t)(r[i->dst_reg] & imm);
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			r[i->dst_reg] = imm;
			break;
		case BPF_JMP | BPF_JNE | BPF_K:
			pc += r[i->dst_reg] != imm ? i->off : 0;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += r[i->dst_reg] == imm ? i->off : 0;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)r[0];
		default:
			return -1;
		}
	}
	return -1;
}

static uint32_t bpf_access_of(const char *a)
{
	uint32_t v = 0;
	for (; *a; a++)
		v |= *a == 'r'	 ? BPF_DEVCG_ACC_READ
		     : *a == 'w' ? BPF_DEVCG_ACC_WRITE
				 : BPF_DEVCG_ACC_MKNOD;
	return v;
}

/* The program and the policy agree on every type, access and a spread of numbers. */
static bool program_matches_policy(const struct oci_device_rule *rules, size_t n)
{
	static const char *const accesses[] = {"r", "w", "m", "rw", "rm", "wm", "rwm"};
	static const uint32_t numbers[] = {0, 1, 3, 5, 8, 136, 200, 4095};
	struct cgroup_dev_policy p;
	struct hull_err err = {0};
	struct bpf_insn *insns = NULL;
	size_t ni = 0;
	bool ok = build(rules, n, &p) && cgroup_dev_bpf_insns(&p, &insns, &ni, &err) == 0;
	for (int t = 0; ok && t < 2; t++)
		for (size_t a = 0; ok && a < N(accesses); a++)
			for (size_t ma = 0; ok && ma < N(numbers); ma++)
				for (size_t mi = 0; ok && mi < N(numbers); mi++) {
					char type = t ? 'b' : 'c';
					struct bpf_cgroup_dev_ctx ctx = {
					    (bpf_access_of(accesses[a]) << 16) |
						(t ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR),
					    numbers[ma], numbers[mi]};
					int want = cgroup_dev_allowed(&p, type, numbers[ma],
								      numbers[mi], accesses[a]);
					int got = interpret(insns, ni, &ctx);
					if (got != want) {
						printf("#   %c %u:%u %s: program %d, policy %d\n",
						       type, numbers[ma], numbers[mi], accesses[a],
						       got, want);
						ok = false;
					}
				}
	free(insns);
	cgroup_dev_policy_free(&p);
	hull_err_clear(&err);
	return ok;
}

static void test_bpf_layout(void)
{
	struct oci_device_rule rules[] = {DENY_ALL, RULE(true, 'c', 1, 3, "rw")};
	struct cgroup_dev_policy p;
	struct hull_err err = {0};
	struct bpf_insn *insns = NULL;
	size_t n = 0;
	CHECK(build(rules, N(rules), &p));
	CHECK(cgroup_dev_bpf_insns(&p, &insns, &n, &err) == 0);
	/* 6 to read the context, 8 for the one exception, 2 for the default */
	CHECK(n == 16);
	if (n == 16) {
		CHECK(insns[6].code == (BPF_JMP | BPF_JNE | BPF_K) && insns[6].imm == 2);
		CHECK(insns[6].off == 7 && insns[7].off == 6 && insns[8].off == 5);
		CHECK(insns[10].imm == BPF_DEVCG_ACC_MKNOD && insns[11].off == 2);
		CHECK(insns[12].imm == 1 && insns[13].code == (BPF_JMP | BPF_EXIT));
		CHECK(insns[14].imm == 0 && insns[15].code == (BPF_JMP | BPF_EXIT));
	}
	free(insns);
	cgroup_dev_policy_free(&p);
}

static void test_bpf_agrees_with_policy(void)
{
	struct oci_device_rule defaults[] = {DENY_ALL,
					     RULE(true, 'c', -1, -1, "m"),
					     RULE(true, 'b', -1, -1, "m"),
					     RULE(true, 'c', 1, 3, "rwm"),
					     RULE(true, 'c', 1, 5, "rwm"),
					     RULE(true, 'c', 136, -1, "rwm"),
					     RULE(true, 'c', 5, 2, "rwm"),
					     RULE(false, 'c', 1, 5, "w")};
	CHECK(program_matches_policy(defaults, N(defaults)));
	struct oci_device_rule black[] = {ALLOW_ALL, RULE(false, 'b', 8, -1, "rw"),
					  RULE(false, 'c', -1, 200, "m"),
					  RULE(false, 'c', 1, 3, "w")};
	CHECK(program_matches_policy(black, N(black)));
	struct oci_device_rule mixed[] = {RULE(true, 'a', 8, 0, "r"), RULE(true, 'b', 8, 0, "w"),
					  ALLOW_ALL, DENY_ALL, RULE(true, 'c', 4095, 0, "rwm")};
	CHECK(program_matches_policy(mixed, N(mixed)));
	CHECK(program_matches_policy(NULL, 0));
	struct oci_device_rule all[] = {ALLOW_ALL};
	CHECK(program_matches_policy(all, N(all)));
}

/* ---- the kernel ---- */

static int load(const struct oci_device_rule *rules, size_t n, struct hull_err *err)
{
	struct cgroup_dev_policy p;
	struct bpf_insn *insns = NULL;
	size_t ni = 0;
	int fd = -1;
	if (build(rules, n, &p) && cgroup_dev_bpf_insns(&p, &insns, &ni, err) == 0)
		fd = cgroup_dev_bpf_load(insns, ni, err);
	free(insns);
	cgroup_dev_policy_free(&p);
	return fd;
}

static void test_kernel_verifier_accepts(void)
{
	struct oci_device_rule rules[] = {DENY_ALL, RULE(true, 'c', -1, -1, "m"),
					  RULE(true, 'c', 1, 3, "rwm"), RULE(false, 'c', 1, 3, "w"),
					  RULE(true, 'b', 8, -1, "r")};
	struct oci_device_rule black[] = {ALLOW_ALL, RULE(false, 'c', 1, 3, "rw")};
	struct hull_err err = {0};
	int fd = load(rules, N(rules), &err);
	if (fd < 0)
		printf("#   %s (errno %d)\n", err.msg ? err.msg : "?", err.code);
	CHECK(fd >= 0);
	close(fd);
	fd = load(black, N(black), &err);
	CHECK(fd >= 0);
	close(fd);
	fd = load(NULL, 0, &err);
	CHECK(fd >= 0);
	close(fd);
	hull_err_clear(&err);
}

/* A cgroup2 mount to try a real attach in, or NULL. */
static const char *cgroup2_mount(void)
{
	static const char *const candidates[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
	for (size_t i = 0; i < N(candidates); i++) {
		struct statfs s;
		if (statfs(candidates[i], &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC)
			return candidates[i];
	}
	return NULL;
}

/* A child moves itself into dir and reports: bit 0 /dev/null opens for writing, bit 1
 * for reading. */
static int probe_in(const char *dir)
{
	pid_t pid = fork();
	if (pid == 0) {
		char procs[512];
		snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
		int fd = open(procs, O_WRONLY);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(100);
		close(fd);
		int w = open("/dev/null", O_WRONLY), r = open("/dev/null", O_RDONLY);
		_exit((w >= 0 ? 1 : 0) | (r >= 0 ? 2 : 0) | (w < 0 && errno != EPERM ? 4 : 0));
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int attached_count(int dirfd)
{
	uint32_t ids[16];
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.query.target_fd = (uint32_t)dirfd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = 16;
	if (syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof attr) < 0)
		return -1;
	return (int)attr.query.prog_cnt;
}

static void attach_and_probe(const char *dir)
{
	struct oci_device_rule no_write[] = {ALLOW_ALL, RULE(false, 'c', 1, 3, "w")};
	struct oci_device_rule all[] = {ALLOW_ALL};
	struct hull_err err = {0};
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dirfd >= 0);
	int prog = load(no_write, N(no_write), &err);
	CHECK(prog >= 0 && dirfd >= 0 && cgroup_dev_bpf_attach(dirfd, prog, &err) == 0);
	close(prog);
	CHECK(attached_count(dirfd) == 1);
	CHECK(probe_in(dir) == 2); /* read yes, write EPERM */
	/* an update replaces hull's program rather than stacking another */
	prog = load(all, N(all), &err);
	CHECK(prog >= 0 && cgroup_dev_bpf_attach(dirfd, prog, &err) == 0);
	close(prog);
	CHECK(attached_count(dirfd) == 1);
	CHECK(probe_in(dir) == 3);
	if (err.msg)
		printf("#   %s (errno %d)\n", err.msg, err.code);
	hull_err_clear(&err);
}

static void test_kernel_attach_denies(void)
{
	const char *mnt = cgroup2_mount();
	if (mnt == NULL) {
		printf("# no cgroup2 mount: attach not tried\n");
		return;
	}
	char dir[256];
	snprintf(dir, sizeof dir, "%s/hull-unit-devices-%d", mnt, (int)getpid());
	CHECK(mkdir(dir, 0755) == 0);
	attach_and_probe(dir);
	/* the children are gone; a just-exited one can pin the cgroup for a moment */
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
		usleep(10000);
	struct stat st;
	CHECK(stat(dir, &st) < 0 && errno == ENOENT);
}

int main(void)
{
	RUN(test_policy_narrowing_deny);
	RUN(test_policy_blacklist);
	RUN(test_policy_merge_and_wildcards);
	RUN(test_policy_resets_and_split);
	RUN(test_bpf_layout);
	RUN(test_bpf_agrees_with_policy);
	if (geteuid() != 0) {
		printf("# skipping kernel tests: need root\n");
		return unit_done();
	}
	RUN(test_kernel_verifier_accepts);
	RUN(test_kernel_attach_denies);
	return unit_done();
}
