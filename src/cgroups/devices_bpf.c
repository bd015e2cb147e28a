/* cgroup v2's device control: a BPF_PROG_TYPE_CGROUP_DEVICE program, built here as raw
 * instructions from a computed policy (devices.c) and attached to the container's cgroup
 * with bpf(2) alone. The kernel runs it on every open and mknod of a device node with a
 * struct bpf_cgroup_dev_ctx: access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*,
 * major, minor; it returns 1 to allow, 0 to deny. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "resources.h"

enum { MAX_ATTACHED = 64, LOG_SIZE = 8192 };

/* Registers: the context comes in r1 and is read once; r0 is the verdict. */
enum { R0 = 0, R1, R2, R3, R4, R5 };
enum { REG_ACCESS = R2, REG_TYPE = R3, REG_MAJOR = R4, REG_MINOR = R5, REG_TMP = R1 };

struct prog {
	struct bpf_insn *v;
	size_t n;
};

static size_t emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	p->v[p->n] =
	    (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
	return p->n++;
}

static int32_t bpf_access(const char *access)
{
	int32_t bits = 0;
	for (; *access; access++)
		bits |= *access == 'r'	 ? BPF_DEVCG_ACC_READ
			: *access == 'w' ? BPF_DEVCG_ACC_WRITE
			: *access == 'm' ? BPF_DEVCG_ACC_MKNOD
					 : 0;
	return bits;
}

static void emit_header(struct prog *p)
{
	emit(p, BPF_LDX | BPF_MEM | BPF_W, REG_ACCESS, R1,
	     offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, REG_MAJOR, R1,
	     offsetof(struct bpf_cgroup_dev_ctx, major), 0);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, REG_MINOR, R1,
	     offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
	emit(p, BPF_ALU | BPF_MOV | BPF_X, REG_TYPE, REG_ACCESS, 0, 0);
	emit(p, BPF_ALU | BPF_AND | BPF_K, REG_TYPE, 0, 0, 0xffff);
	emit(p, BPF_ALU | BPF_RSH | BPF_K, REG_ACCESS, 0, 0, 16);
}

/* One exception: every test jumps past the block when it fails; falling through to the
 * end returns the exception's verdict. Numbers beyond INT32_MAX cannot be an immediate;
 * they never name a real device (majors have 12 bits, minors 20), and as the immediate is
 * sign-extended against a zero-extended register, such a test never matches, just as the
 * v1 kernel would never match them. */
static void emit_exception(struct prog *p, const struct oci_device_rule *ex, bool default_allow)
{
	size_t jumps[5], nj = 0;
	int32_t type = ex->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
	int32_t access = bpf_access(ex->access);
	jumps[nj++] = emit(p, BPF_JMP | BPF_JNE | BPF_K, REG_TYPE, 0, 0, type);
	if (ex->major >= 0)
		jumps[nj++] =
		    emit(p, BPF_JMP | BPF_JNE | BPF_K, REG_MAJOR, 0, 0, (int32_t)ex->major);
	if (ex->minor >= 0)
		jumps[nj++] =
		    emit(p, BPF_JMP | BPF_JNE | BPF_K, REG_MINOR, 0, 0, (int32_t)ex->minor);
	if (!default_allow && access != 7) {
		/* An allow exception must cover every bit asked for. */
		emit(p, BPF_ALU | BPF_MOV | BPF_X, REG_TMP, REG_ACCESS, 0, 0);
		emit(p, BPF_ALU | BPF_AND | BPF_K, REG_TMP, 0, 0, ~access & 7);
		jumps[nj++] = emit(p, BPF_JMP | BPF_JNE | BPF_K, REG_TMP, 0, 0, 0);
	} else if (default_allow) {
		/* A deny exception hits when it shares any bit with the request. */
		emit(p, BPF_ALU | BPF_MOV | BPF_X, REG_TMP, REG_ACCESS, 0, 0);
		emit(p, BPF_ALU | BPF_AND | BPF_K, REG_TMP, 0, 0, access);
		jumps[nj++] = emit(p, BPF_JMP | BPF_JEQ | BPF_K, REG_TMP, 0, 0, 0);
	}
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, default_allow ? 0 : 1);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	for (size_t i = 0; i < nj; i++)
		p->v[jumps[i]].off = (int16_t)(p->n - jumps[i] - 1);
}

int cgroup_dev_bpf_insns(const struct cgroup_dev_policy *pol, struct bpf_insn **insns, size_t *n,
			 struct hull_err *err)
{
	/* Jump offsets are 16 bits; a block is at most 8 instructions. */
	if (pol->n > 4000)
		return hull_error(err, E2BIG, "%zu device rules are too many", pol->n);
	struct prog p = {calloc(6 + 8 * pol->n + 2, sizeof(struct bpf_insn)), 0};
	if (p.v == NULL)
		return hull_error(err, ENOMEM, "device program");
	emit_header(&p);
	for (size_t i = 0; i < pol->n; i++)
		emit_exception(&p, &pol->ex[i], pol->default_allow);
	emit(&p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, pol->default_allow ? 1 : 0);
	emit(&p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	*insns = p.v;
	*n = p.n;
	return 0;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

/* The verifier's last complaint, for the error message. */
static void last_line(char *log, char out[256])
{
	size_t len = strlen(log);
	while (len > 0 && log[len - 1] == '\n')
		log[--len] = '\0';
	char *nl = strrchr(log, '\n');
	snprintf(out, 256, "%s", nl ? nl + 1 : log);
}

int cgroup_dev_bpf_load(const struct bpf_insn *insns, size_t n, struct hull_err *err)
{
	union bpf_attr attr;
	_cleanup_free_ char *log = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		memset(&attr, 0, sizeof attr);
		attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
		attr.insns = (uint64_t)(uintptr_t)insns;
		attr.insn_cnt = (uint32_t)n;
		attr.license = (uint64_t)(uintptr_t) "GPL";
		snprintf(attr.prog_name, sizeof attr.prog_name, "%s", CGROUP_DEV_BPF_NAME);
		if (log != NULL) {
			attr.log_buf = (uint64_t)(uintptr_t)log;
			attr.log_size = LOG_SIZE;
			attr.log_level = 1;
		}
		int fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
		if (fd >= 0)
			return fd;
		int e = errno;
		/* Only the verifier explains itself; run it again with a log to hear why. */
		if (attempt == 0 && (e == EACCES || e == EINVAL) &&
		    (log = calloc(1, LOG_SIZE)) != NULL)
			continue;
		char why[256] = "";
		if (log != NULL)
			last_line(log, why);
		return hull_error(err, e, "load the device program%s%s", why[0] ? ": " : "", why);
	}
	return -1;
}

static bool prog_name_is_ours(int fd)
{
	struct bpf_prog_info info;
	union bpf_attr attr;
	memset(&info, 0, sizeof info);
	memset(&attr, 0, sizeof attr);
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = sizeof info;
	attr.info.info = (uint64_t)(uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0)
		return false;
	return strncmp(info.name, CGROUP_DEV_BPF_NAME, sizeof info.name) == 0;
}

/* The programs attached to this very cgroup (not inherited ones) before ours. */
static int query_attached(int cgroup_fd, uint32_t ids[MAX_ATTACHED], uint32_t *n,
			  struct hull_err *err)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.query.target_fd = (uint32_t)cgroup_fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = MAX_ATTACHED;
	if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
		return hull_error(err, errno, "query the device programs");
	*n = attr.query.prog_cnt;
	return 0;
}

static int detach_ours(int cgroup_fd, uint32_t id, struct hull_err *err)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.prog_id = id;
	_cleanup_close_ int fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
	if (fd < 0)
		return errno == ENOENT ? 0 : hull_error(err, errno, "open device program %u", id);
	if (!prog_name_is_ours(fd))
		return 0;
	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
		return hull_error(err, errno, "detach the previous device program");
	return 0;
}

int cgroup_dev_bpf_attach(int cgroup_fd, int prog_fd, struct hull_err *err)
{
	uint32_t ids[MAX_ATTACHED], n = 0;
	if (query_attached(cgroup_fd, ids, &n, err) < 0)
		return -1;
	/* New first, old after: with several programs on one cgroup every one must allow,
	 * so the container never has more access than either policy gives it. */
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return hull_error(err, errno, "attach the device program");
	for (uint32_t i = 0; i < n && i < MAX_ATTACHED; i++)
		if (detach_ours(cgroup_fd, ids[i], err) < 0)
			return -1;
	return 0;
}
