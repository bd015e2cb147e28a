/* The guest config's writer and its strict parser (format: guestcfg.h). The parser runs as
 * PID 1 in the guest on data the host wrote; it still treats the data as untrusted: every
 * length is checked against the buffer, every count against a limit. */
#include "guestcfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

static int add_string(char ***vec, size_t *n, const char *v, size_t len)
{
	char **nv = realloc(*vec, (*n + 2) * sizeof **vec);
	if (nv == NULL)
		return -1;
	*vec = nv;
	nv[*n] = strndup(v, len);
	if (nv[*n] == NULL)
		return -1;
	nv[++*n] = NULL;
	return 0;
}

/* Decimal without sign or leading zeros, at most max. */
static int parse_u64(const char *v, size_t len, uint64_t max, uint64_t *out)
{
	if (len == 0 || len > 20 || (v[0] == '0' && len > 1))
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		unsigned d = (unsigned)(v[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	if (x > max)
		return -1;
	*out = x;
	return 0;
}

static int c_string(const char *key, const char *v, size_t len, struct hull_err *err)
{
	if (memchr(v, '\0', len) != NULL)
		return hull_error(err, 0, "%s holds a NUL byte", key);
	return 0;
}

static int set_arg(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	if (c_string("arg", v, len, err) < 0)
		return -1;
	return add_string(&c->args, &c->n_args, v, len) < 0 ? hull_error(err, ENOMEM, "arg") : 0;
}

static int set_env(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	if (c_string("env", v, len, err) < 0)
		return -1;
	const char *eq = memchr(v, '=', len);
	if (eq == NULL || eq == v)
		return hull_error(err, 0, "env \"%.*s\" is not NAME=value", (int)len, v);
	return add_string(&c->env, &c->n_env, v, len) < 0 ? hull_error(err, ENOMEM, "env") : 0;
}

static int set_cwd(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	if (c_string("cwd", v, len, err) < 0)
		return -1;
	if (len == 0 || v[0] != '/')
		return hull_error(err, 0, "cwd \"%.*s\" is not an absolute path", (int)len, v);
	c->cwd = strndup(v, len);
	return c->cwd == NULL ? hull_error(err, ENOMEM, "cwd") : 0;
}

static int parse_id(const char *key, const char *v, size_t len, uint32_t *out, struct hull_err *err)
{
	uint64_t x;
	/* (uid_t)-1 means "unchanged" to setresuid: never a real id. */
	if (parse_u64(v, len, UINT32_MAX - 1, &x) < 0)
		return hull_error(err, 0, "%s \"%.*s\" is not an id", key, (int)len, v);
	*out = (uint32_t)x;
	return 0;
}

static int set_uid(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	return parse_id("uid", v, len, &c->uid, err);
}

static int set_gid(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	return parse_id("gid", v, len, &c->gid, err);
}

static int set_group(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	uint32_t gid = 0;
	if (parse_id("group", v, len, &gid, err) < 0)
		return -1;
	uint32_t *ng = realloc(c->groups, (c->n_groups + 1) * sizeof *ng);
	if (ng == NULL)
		return hull_error(err, ENOMEM, "group");
	c->groups = ng;
	ng[c->n_groups++] = gid;
	return 0;
}

static int set_umask(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	uint32_t m = 0;
	if (len == 0 || len > 4)
		return hull_error(err, 0, "umask \"%.*s\" is not an octal mode", (int)len, v);
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '7')
			return hull_error(err, 0, "umask \"%.*s\" is not an octal mode", (int)len,
					  v);
		m = m * 8 + (uint32_t)(v[i] - '0');
	}
	if (m > 0777)
		return hull_error(err, 0, "umask %.*s is above 0777", (int)len, v);
	c->umask = m;
	c->has_umask = true;
	return 0;
}

static int set_hostname(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	if (c_string("hostname", v, len, err) < 0)
		return -1;
	if (len > GUESTCFG_MAX_HOSTNAME)
		return hull_error(err, 0, "hostname is longer than %d bytes",
				  GUESTCFG_MAX_HOSTNAME);
	c->hostname = strndup(v, len);
	return c->hostname == NULL ? hull_error(err, ENOMEM, "hostname") : 0;
}

/* "RESOURCE SOFT HARD" */
static int set_rlimit(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	uint64_t num[3];
	const char *p = v, *end = v + len;
	for (int i = 0; i < 3; i++) {
		const char *sp = i < 2 ? memchr(p, ' ', (size_t)(end - p)) : end;
		if (sp == NULL || parse_u64(p, (size_t)(sp - p), UINT64_MAX, &num[i]) < 0)
			return hull_error(err, 0, "rlimit \"%.*s\" is not RESOURCE SOFT HARD",
					  (int)len, v);
		p = sp + 1;
	}
	if (num[0] >= GUESTCFG_MAX_RLIMITS)
		return hull_error(err, 0, "rlimit resource %llu is unknown",
				  (unsigned long long)num[0]);
	if (num[1] > num[2])
		return hull_error(err, 0, "rlimit %llu: soft limit above the hard limit",
				  (unsigned long long)num[0]);
	for (size_t i = 0; i < c->n_rlimits; i++)
		if (c->rlimits[i].resource == (int)num[0])
			return hull_error(err, 0, "rlimit %llu given twice",
					  (unsigned long long)num[0]);
	struct guestcfg_rlimit *nr = realloc(c->rlimits, (c->n_rlimits + 1) * sizeof *nr);
	if (nr == NULL)
		return hull_error(err, ENOMEM, "rlimit");
	c->rlimits = nr;
	nr[c->n_rlimits++] = (struct guestcfg_rlimit){(int)num[0], num[1], num[2]};
	return 0;
}

static int parse_flag(const char *key, const char *v, size_t len, bool *out, struct hull_err *err)
{
	if (len != 1 || (v[0] != '0' && v[0] != '1'))
		return hull_error(err, 0, "%s \"%.*s\" is not 0 or 1", key, (int)len, v);
	*out = v[0] == '1';
	return 0;
}

static int set_terminal(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	return parse_flag("terminal", v, len, &c->terminal, err);
}

static int set_nnp(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	return parse_flag("no_new_privs", v, len, &c->no_new_privs, err);
}

static int set_ro(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	return parse_flag("readonly_rootfs", v, len, &c->readonly_rootfs, err);
}

static int parse_mask(const char *key, const char *v, size_t len, uint64_t *out,
		      struct hull_err *err)
{
	if (parse_u64(v, len, UINT64_MAX, out) < 0)
		return hull_error(err, 0, "%s \"%.*s\" is not a 64-bit mask", key, (int)len, v);
	return 0;
}

static int set_cap_bnd(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	return parse_mask("cap_bounding", v, len, &c->caps.bounding, err);
}

static int set_cap_eff(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	return parse_mask("cap_effective", v, len, &c->caps.effective, err);
}

static int set_cap_inh(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	return parse_mask("cap_inheritable", v, len, &c->caps.inheritable, err);
}

static int set_cap_prm(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	return parse_mask("cap_permitted", v, len, &c->caps.permitted, err);
}

static int set_cap_amb(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	return parse_mask("cap_ambient", v, len, &c->caps.ambient, err);
}

/* Whole instructions only, and no more than the kernel would take (it refuses a longer
 * program with EINVAL; better to know that on the host, at create). */
static int set_seccomp(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	if (len == 0 || len % GUESTCFG_BPF_INSN != 0 || len / GUESTCFG_BPF_INSN > GUESTCFG_MAX_BPF)
		return hull_error(err, 0,
				  "seccomp: %zu bytes are not 1 to %d instructions of %d bytes",
				  len, GUESTCFG_MAX_BPF, GUESTCFG_BPF_INSN);
	c->seccomp = malloc(len);
	if (c->seccomp == NULL)
		return hull_error(err, ENOMEM, "seccomp");
	memcpy(c->seccomp, v, len);
	c->seccomp_len = len;
	return 0;
}

static int set_seccomp_flags(struct guestcfg *c, const char *v, size_t len, struct hull_err *err)
{
	uint64_t f = 0;
	if (parse_u64(v, len, UINT32_MAX, &f) < 0 || (f & ~(uint64_t)GUESTCFG_SECCOMP_FLAGS) != 0)
		return hull_error(err, 0, "seccomp_flags \"%.*s\" holds an unknown flag", (int)len,
				  v);
	c->seccomp_flags = (uint32_t)f;
	return 0;
}

struct key_rule {
	const char *name;
	int (*set)(struct guestcfg *c, const char *v, size_t len, struct hull_err *err);
	size_t max;
};

enum {
	RULE_ARG,
	RULE_ENV,
	RULE_CWD,
	RULE_UID,
	RULE_GID,
	RULE_GROUP,
	RULE_UMASK,
	RULE_HOSTNAME,
	RULE_RLIMIT,
	RULE_TERMINAL,
	RULE_NNP,
	RULE_RO,
	RULE_CAP_BND, /* the five cap_* in a row: check_sets counts them */
	RULE_CAP_EFF,
	RULE_CAP_INH,
	RULE_CAP_PRM,
	RULE_CAP_AMB,
	RULE_SECCOMP,
	RULE_SECCOMP_FLAGS,
	N_RULES
};

static const struct key_rule RULES[N_RULES] = {
    [RULE_ARG] = {"arg", set_arg, GUESTCFG_MAX_ARGS},
    [RULE_ENV] = {"env", set_env, GUESTCFG_MAX_ENV},
    [RULE_CWD] = {"cwd", set_cwd, 1},
    [RULE_UID] = {"uid", set_uid, 1},
    [RULE_GID] = {"gid", set_gid, 1},
    [RULE_GROUP] = {"group", set_group, GUESTCFG_MAX_GROUPS},
    [RULE_UMASK] = {"umask", set_umask, 1},
    [RULE_HOSTNAME] = {"hostname", set_hostname, 1},
    [RULE_RLIMIT] = {"rlimit", set_rlimit, GUESTCFG_MAX_RLIMITS},
    [RULE_TERMINAL] = {"terminal", set_terminal, 1},
    [RULE_NNP] = {"no_new_privs", set_nnp, 1},
    [RULE_RO] = {"readonly_rootfs", set_ro, 1},
    [RULE_CAP_BND] = {"cap_bounding", set_cap_bnd, 1},
    [RULE_CAP_EFF] = {"cap_effective", set_cap_eff, 1},
    [RULE_CAP_INH] = {"cap_inheritable", set_cap_inh, 1},
    [RULE_CAP_PRM] = {"cap_permitted", set_cap_prm, 1},
    [RULE_CAP_AMB] = {"cap_ambient", set_cap_amb, 1},
    [RULE_SECCOMP] = {"seccomp", set_seccomp, 1},
    [RULE_SECCOMP_FLAGS] = {"seccomp_flags", set_seccomp_flags, 1},
};

struct record {
	char key[24];
	const char *val;
	size_t len;
};

/* One "KEY LEN:VALUE\n" at *pos; on success *pos is past its newline. */
static int next_record(const char *buf, size_t size, size_t *pos, struct record *r,
		       struct hull_err *err)
{
	size_t at = *pos, k = 0;
	while (at < size && buf[at] != ' ') {
		char ch = buf[at++];
		if (!((ch >= 'a' && ch <= 'z') || ch == '_') || k + 1 >= sizeof r->key)
			return hull_error(err, 0, "bad key at byte %zu", *pos);
		r->key[k++] = ch;
	}
	r->key[k] = '\0';
	if (k == 0)
		return hull_error(err, 0, "bad key at byte %zu", *pos);
	if (at >= size)
		return hull_error(err, 0, "truncated record at byte %zu", *pos);
	size_t digits = ++at;
	while (at < size && buf[at] >= '0' && buf[at] <= '9' && at - digits < 9)
		at++;
	uint64_t len;
	if (at >= size || buf[at] != ':' ||
	    parse_u64(buf + digits, at - digits, 99999999, &len) < 0)
		return hull_error(err, 0, "%s: bad length at byte %zu", r->key, digits);
	at++;
	if (len >= size - at) /* the value and its newline must fit */
		return hull_error(err, 0, "%s: value of %llu bytes is truncated", r->key,
				  (unsigned long long)len);
	if (buf[at + len] != '\n')
		return hull_error(err, 0, "%s: no newline after its %llu-byte value", r->key,
				  (unsigned long long)len);
	r->val = buf + at;
	r->len = len;
	*pos = at + len + 1;
	return 0;
}

static int apply_record(struct guestcfg *cfg, const struct record *r, size_t *counts,
			struct hull_err *err)
{
	for (size_t i = 0; i < N_RULES; i++) {
		if (strcmp(r->key, RULES[i].name) != 0)
			continue;
		if (counts[i] >= RULES[i].max)
			return RULES[i].max == 1 ? hull_error(err, 0, "%s given twice", r->key)
						 : hull_error(err, 0, "more than %zu %s entries",
							      RULES[i].max, r->key);
		counts[i]++;
		return RULES[i].set(cfg, r->val, r->len, err);
	}
	return hull_error(err, 0, "unknown key \"%s\"", r->key);
}

/* Records that only make sense together. Half the capability sets would leave the others
 * at PID 1's full sets: a config that asks for that is the writer's bug. */
static int check_sets(const size_t *counts, struct guestcfg *cfg, struct hull_err *err)
{
	size_t n_caps = 0;
	for (int i = RULE_CAP_BND; i <= RULE_CAP_AMB; i++)
		n_caps += counts[i];
	if (n_caps != 0 && n_caps != 5)
		return hull_error(err, 0, "%zu of the five cap_* sets given: all or none", n_caps);
	cfg->has_caps = n_caps == 5;
	if (counts[RULE_SECCOMP_FLAGS] != 0 && counts[RULE_SECCOMP] == 0)
		return hull_error(err, 0, "seccomp_flags without a seccomp program");
	return 0;
}

static int parse_records(const char *buf, size_t len, struct guestcfg *cfg, struct hull_err *err)
{
	size_t counts[N_RULES] = {0};
	size_t pos = strlen(GUESTCFG_MAGIC);
	for (;;) {
		struct record r;
		if (pos >= len)
			return hull_error(err, 0, "truncated: no \"end\" record");
		if (next_record(buf, len, &pos, &r, err) < 0)
			return -1;
		if (strcmp(r.key, "end") == 0) {
			if (r.len != 0 || pos != len)
				return hull_error(err, 0, "data after the \"end\" record");
			break;
		}
		if (apply_record(cfg, &r, counts, err) < 0)
			return -1;
	}
	static const int required[] = {RULE_ARG, RULE_CWD, RULE_UID, RULE_GID};
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
		if (counts[required[i]] == 0)
			return hull_error(err, 0, "missing \"%s\"", RULES[required[i]].name);
	return check_sets(counts, cfg, err);
}

int guestcfg_parse(const char *buf, size_t len, struct guestcfg *cfg, struct hull_err *err)
{
	memset(cfg, 0, sizeof *cfg);
	if (len > GUESTCFG_MAX_SIZE)
		return hull_error(err, 0, "guest config: %zu bytes, more than the limit of %u", len,
				  GUESTCFG_MAX_SIZE);
	size_t mlen = strlen(GUESTCFG_MAGIC);
	if (len < mlen || memcmp(buf, GUESTCFG_MAGIC, mlen) != 0)
		return hull_error(err, 0, "guest config: not a \"%.*s\" file", (int)mlen - 1,
				  GUESTCFG_MAGIC);
	if (parse_records(buf, len, cfg, err) < 0)
		return hull_error_wrap(err, "guest config");
	return 0;
}

void guestcfg_free(struct guestcfg *cfg)
{
	for (size_t i = 0; i < cfg->n_args; i++)
		free(cfg->args[i]);
	for (size_t i = 0; i < cfg->n_env; i++)
		free(cfg->env[i]);
	free(cfg->args);
	free(cfg->env);
	free(cfg->cwd);
	free(cfg->groups);
	free(cfg->hostname);
	free(cfg->rlimits);
	free(cfg->seccomp);
	memset(cfg, 0, sizeof *cfg);
}

static void put(FILE *f, const char *key, const char *v, size_t len)
{
	fprintf(f, "%s %zu:", key, len);
	fwrite(v, 1, len, f);
	fputc('\n', f);
}

static void put_str(FILE *f, const char *key, const char *v)
{
	put(f, key, v, strlen(v));
}

static void put_fmt(FILE *f, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put_fmt(FILE *f, const char *key, const char *fmt, ...)
{
	char v[96];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(v, sizeof v, fmt, ap);
	va_end(ap);
	put(f, key, v, n < 0 ? 0 : (size_t)n);
}

static void write_security(FILE *f, const struct guestcfg *c)
{
	if (c->has_caps) {
		const struct guestcfg_caps *k = &c->caps;
		put_fmt(f, "cap_bounding", "%llu", (unsigned long long)k->bounding);
		put_fmt(f, "cap_effective", "%llu", (unsigned long long)k->effective);
		put_fmt(f, "cap_inheritable", "%llu", (unsigned long long)k->inheritable);
		put_fmt(f, "cap_permitted", "%llu", (unsigned long long)k->permitted);
		put_fmt(f, "cap_ambient", "%llu", (unsigned long long)k->ambient);
	}
	if (c->seccomp != NULL) {
		put(f, "seccomp", (const char *)c->seccomp, c->seccomp_len);
		put_fmt(f, "seccomp_flags", "%u", c->seccomp_flags);
	}
}

static void write_records(FILE *f, const struct guestcfg *c)
{
	fputs(GUESTCFG_MAGIC, f);
	for (size_t i = 0; i < c->n_args; i++)
		put_str(f, "arg", c->args[i]);
	for (size_t i = 0; i < c->n_env; i++)
		put_str(f, "env", c->env[i]);
	if (c->cwd != NULL)
		put_str(f, "cwd", c->cwd);
	put_fmt(f, "uid", "%u", c->uid);
	put_fmt(f, "gid", "%u", c->gid);
	for (size_t i = 0; i < c->n_groups; i++)
		put_fmt(f, "group", "%u", c->groups[i]);
	if (c->has_umask)
		put_fmt(f, "umask", "%04o", c->umask);
	if (c->hostname != NULL)
		put_str(f, "hostname", c->hostname);
	for (size_t i = 0; i < c->n_rlimits; i++)
		put_fmt(f, "rlimit", "%d %llu %llu", c->rlimits[i].resource,
			(unsigned long long)c->rlimits[i].soft,
			(unsigned long long)c->rlimits[i].hard);
	put_fmt(f, "terminal", "%d", c->terminal);
	put_fmt(f, "no_new_privs", "%d", c->no_new_privs);
	put_fmt(f, "readonly_rootfs", "%d", c->readonly_rootfs);
	write_security(f, c);
	fputs("end 0:\n", f);
}

int guestcfg_write(const struct guestcfg *cfg, char **out, size_t *out_len, struct hull_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return hull_error(err, errno, "guest config: open_memstream");
	write_records(f, cfg);
	if (ferror(f) | fclose(f))
		return hull_error(err, ENOMEM, "guest config: writing");
	struct guestcfg check;
	int r = guestcfg_parse(buf, len, &check, err);
	guestcfg_free(&check);
	if (r < 0)
		return hull_error_wrap(err, "the config for the guest is invalid");
	*out = steal_ptr(&buf);
	*out_len = len;
	return 0;
}
