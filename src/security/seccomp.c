/* Build the container's seccomp filter from the typed spec and load it (libseccomp). */
#include "security/security.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

#include "seccomp_flags.h"

#define SYSCALL_ARGS  6	   /* struct seccomp_data.args */
#define MAX_ARG_RULES 1024 /* combinations of OR-ed conditions one syscall may expand to */

static inline void cleanup_scmp(scmp_filter_ctx *ctx)
{
	if (*ctx != NULL)
		seccomp_release(*ctx);
}
#define _cleanup_scmp_ __attribute__((cleanup(cleanup_scmp)))

/* The conditions of one rule grouped by argument index. */
struct arg_groups {
	const struct oci_seccomp_arg *by_index[SYSCALL_ARGS][MAX_ARG_RULES];
	size_t n[SYSCALL_ARGS];
};

bool sec_seccomp_uses_notify(const struct oci_seccomp *s)
{
	if (s->default_action == SCMP_ACT_NOTIFY)
		return true;
	for (size_t i = 0; i < s->n_rules; i++)
		if (s->rules[i].action == SCMP_ACT_NOTIFY)
			return true;
	return false;
}

static int set_attr(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value,
		    const char *what, struct hull_err *err)
{
	int rc = seccomp_attr_set(ctx, attr, value);
	if (rc < 0)
		return hull_error(err, -rc, "seccomp: set %s", what);
	return 0;
}

static int set_attrs(scmp_filter_ctx ctx, unsigned flags, struct hull_err *err)
{
	const unsigned known = SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG |
			       SECCOMP_FILTER_FLAG_SPEC_ALLOW |
			       SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	if (flags & ~known)
		return hull_error(err, EINVAL, "seccomp: unsupported flags 0x%x", flags & ~known);
	/* The runtime sets no_new_privs itself when process.noNewPrivileges asks for it
	 * (runtime-spec config.md); libseccomp would otherwise force it on every container. */
	if (set_attr(ctx, SCMP_FLTATR_CTL_NNP, 0, "no_new_privs off", err) < 0)
		return -1;
	/* Report the kernel's errno from seccomp_load() instead of a generic ECANCELED. */
	if (set_attr(ctx, SCMP_FLTATR_API_SYSRAWRC, 1, "raw return codes", err) < 0)
		return -1;
	if ((flags & SECCOMP_FILTER_FLAG_TSYNC) &&
	    set_attr(ctx, SCMP_FLTATR_CTL_TSYNC, 1, "SECCOMP_FILTER_FLAG_TSYNC", err) < 0)
		return -1;
	if ((flags & SECCOMP_FILTER_FLAG_LOG) &&
	    set_attr(ctx, SCMP_FLTATR_CTL_LOG, 1, "SECCOMP_FILTER_FLAG_LOG", err) < 0)
		return -1;
	if ((flags & SECCOMP_FILTER_FLAG_SPEC_ALLOW) &&
	    set_attr(ctx, SCMP_FLTATR_CTL_SSB, 1, "SECCOMP_FILTER_FLAG_SPEC_ALLOW", err) < 0)
		return -1;
	/* SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only changes how a task waits on a notify
	 * listener, and the kernel refuses it without one; SCMP_ACT_NOTIFY is refused before
	 * we get here, so the flag has nothing to act on. */
	return 0;
}

static int add_arches(scmp_filter_ctx ctx, const struct oci_seccomp *s, struct hull_err *err)
{
	for (size_t i = 0; i < s->n_architectures; i++) {
		int rc = seccomp_arch_add(ctx, s->architectures[i]);
		/* The native architecture is in every new context already. */
		if (rc < 0 && rc != -EEXIST)
			return hull_error(err, -rc, "seccomp: add architecture 0x%x",
					  s->architectures[i]);
	}
	return 0;
}

static int group_args(const struct oci_seccomp_rule *rule, struct arg_groups *g, const char *name,
		      struct hull_err *err)
{
	memset(g->n, 0, sizeof g->n);
	for (size_t i = 0; i < rule->n_args; i++) {
		const struct oci_seccomp_arg *a = &rule->args[i];
		if (a->index >= SYSCALL_ARGS)
			return hull_error(
			    err, EINVAL, "seccomp: rule for \"%s\": argument index %u out of range",
			    name, a->index);
		if (g->n[a->index] == MAX_ARG_RULES)
			return hull_error(err, E2BIG, "seccomp: rule for \"%s\": too many args",
					  name);
		g->by_index[a->index][g->n[a->index]++] = a;
	}
	size_t combinations = 1;
	for (int i = 0; i < SYSCALL_ARGS; i++)
		if (g->n[i] > 0 && (combinations *= g->n[i]) > MAX_ARG_RULES)
			return hull_error(
			    err, E2BIG, "seccomp: rule for \"%s\": too many argument combinations",
			    name);
	return 0;
}

/* Advance a mixed-radix counter over the non-empty groups; false once it wraps. */
static bool next_combination(const struct arg_groups *g, size_t pick[SYSCALL_ARGS])
{
	for (int i = 0; i < SYSCALL_ARGS; i++) {
		if (g->n[i] == 0)
			continue;
		if (++pick[i] < g->n[i])
			return true;
		pick[i] = 0;
	}
	return false;
}

/* Conditions on different arguments must all hold; several conditions on the same argument
 * are alternatives (the spec gives no other meaning to them, and libseccomp cannot compare
 * one argument twice in a rule, which is why runc splits such rules). So one libseccomp rule
 * is added per choice of one condition from each argument's group. */
static int add_syscall(scmp_filter_ctx ctx, const struct oci_seccomp_rule *rule, int nr,
		       const char *name, struct arg_groups *g, struct hull_err *err)
{
	if (group_args(rule, g, name, err) < 0)
		return -1;
	size_t pick[SYSCALL_ARGS] = {0};
	do {
		struct scmp_arg_cmp cmp[SYSCALL_ARGS];
		unsigned n = 0;
		for (int i = 0; i < SYSCALL_ARGS; i++) {
			if (g->n[i] == 0)
				continue;
			const struct oci_seccomp_arg *a = g->by_index[i][pick[i]];
			cmp[n++] = (struct scmp_arg_cmp){.arg = a->index,
							 .op = (enum scmp_compare)a->op,
							 .datum_a = a->value,
							 .datum_b = a->value_two};
		}
		int rc = seccomp_rule_add_array(ctx, rule->action, nr, n, cmp);
		if (rc < 0)
			return hull_error(err, -rc, "seccomp: rule for \"%s\"", name);
	} while (next_combination(g, pick));
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct oci_seccomp *s, struct hull_err *err)
{
	_cleanup_free_ struct arg_groups *g = malloc(sizeof *g);
	if (g == NULL)
		return hull_error(err, ENOMEM, "seccomp: allocate rule buffer");
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct oci_seccomp_rule *rule = &s->rules[i];
		/* libseccomp refuses a rule that repeats the default action; it changes nothing. */
		if (rule->action == s->default_action)
			continue;
		for (size_t j = 0; j < rule->n_names; j++) {
			int nr = seccomp_syscall_resolve_name(rule->names[j]);
			/* runc skips names libseccomp does not know: profiles list syscalls
			 * of newer kernels and other architectures. */
			if (nr == __NR_SCMP_ERROR)
				continue;
			if (add_syscall(ctx, rule, nr, rule->names[j], g, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* The filter as libseccomp builds it, attributes set; NULL after an error. */
static scmp_filter_ctx build(const struct oci_seccomp *seccomp, struct hull_err *err)
{
	if (sec_seccomp_uses_notify(seccomp)) {
		hull_error(err, 0, "seccomp: SCMP_ACT_NOTIFY (listenerPath) is not supported yet");
		return NULL;
	}
	_cleanup_scmp_ scmp_filter_ctx ctx = seccomp_init(seccomp->default_action);
	if (ctx == NULL) {
		hull_error(err, EINVAL, "seccomp: init with default action 0x%x",
			   seccomp->default_action);
		return NULL;
	}
	if (set_attrs(ctx, seccomp->flags, err) < 0 || add_arches(ctx, seccomp, err) < 0 ||
	    add_rules(ctx, seccomp, err) < 0)
		return NULL;
	return steal_ptr(&ctx);
}

int sec_seccomp_load(const struct oci_seccomp *seccomp, struct hull_err *err)
{
	_cleanup_scmp_ scmp_filter_ctx ctx = build(seccomp, err);
	if (ctx == NULL)
		return -1;
	int rc = seccomp_load(ctx);
	if (rc < 0)
		return hull_error(err, -rc, "seccomp: load the filter");
	return 0;
}

/* libseccomp 2.5.4 (Debian 12) can export only to an fd: seccomp_export_bpf_mem came with
 * 2.6. */
static int read_all(int fd, unsigned char **out, size_t *len, struct hull_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error(err, errno, "seccomp: stat the exported filter");
	_cleanup_free_ unsigned char *buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		return hull_error(err, ENOMEM, "seccomp: the exported filter");
	ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n != st.st_size)
		return hull_error(err, n < 0 ? errno : EIO, "seccomp: read the exported filter");
	*out = steal_ptr(&buf);
	*len = (size_t)n;
	return 0;
}

int sec_seccomp_export(const struct oci_seccomp *seccomp, unsigned char **bpf, size_t *len,
		       unsigned *flags, struct hull_err *err)
{
	_cleanup_scmp_ scmp_filter_ctx ctx = build(seccomp, err);
	if (ctx == NULL)
		return -1;
	_cleanup_close_ int fd = memfd_create("hull-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "seccomp: memfd for the exported filter");
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return hull_error(err, -rc, "seccomp: export the filter");
	if (read_all(fd, bpf, len, err) < 0)
		return -1;
	/* What seccomp_load passes to seccomp(2) for the attributes set_attrs sets. */
	*flags = seccomp->flags & (SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG |
				   SECCOMP_FILTER_FLAG_SPEC_ALLOW);
	return 0;
}
