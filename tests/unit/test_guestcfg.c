/* The micro-VM guest config (src/common/guestcfg.c): round trips and every rejection. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/guestcfg.h"
#include "unit.h"

/* NULL when buf parses; else the error message (static). */
static const char *parse_error(const char *buf, size_t len)
{
	static char msg[512];
	struct guestcfg cfg;
	struct hull_err err = {0};
	int r = guestcfg_parse(buf, len, &cfg, &err);
	guestcfg_free(&cfg);
	if (r == 0) {
		hull_err_clear(&err);
		return NULL;
	}
	snprintf(msg, sizeof msg, "%s", err.msg ? err.msg : "(no message)");
	hull_err_clear(&err);
	return msg;
}

#define BASE "hull-guest-config 1\narg 4:true\ncwd 1:/\nuid 1:0\ngid 1:0\n"
#define END  "end 0:\n"

/* A config of BASE + extra records + END must fail with a message containing want. */
static void check_rejects(const char *extra, const char *want)
{
	char buf[4096];
	int n = snprintf(buf, sizeof buf, "%s%s%s", BASE, extra, END);
	const char *got = parse_error(buf, (size_t)n);
	if (got == NULL)
		printf("#   accepted: %s\n", extra);
	CHECK_CONTAINS(got, want);
}

static void test_round_trip_full(void)
{
	char *args[] = {"/bin/sh", "-c", "echo 'a  b'\nexit 3", "", NULL};
	char *env[] = {"PATH=/usr/bin:/bin", "MULTI=line1\nline2", "EMPTY=", "SP=a b  c", NULL};
	uint32_t groups[] = {10, 20, 4294967294u};
	struct guestcfg_rlimit rl[] = {{RLIMIT_NOFILE, 1024, 4096},
				       {RLIMIT_CORE, 0, RLIM_INFINITY}};
	struct guestcfg in = {.args = args,
			      .n_args = 4,
			      .env = env,
			      .n_env = 4,
			      .cwd = "/home/a dir\nwith newline",
			      .uid = 1000,
			      .gid = 1001,
			      .groups = groups,
			      .n_groups = 3,
			      .has_umask = true,
			      .umask = 027,
			      .hostname = "box 1",
			      .rlimits = rl,
			      .n_rlimits = 2,
			      .terminal = true,
			      .no_new_privs = true,
			      .readonly_rootfs = true};
	char *buf = NULL;
	size_t len = 0;
	struct hull_err err = {0};
	CHECK(guestcfg_write(&in, &buf, &len, &err) == 0);
	struct guestcfg out;
	CHECK(guestcfg_parse(buf, len, &out, &err) == 0);
	CHECK(out.n_args == 4 && out.args[4] == NULL);
	for (size_t i = 0; i < 4 && i < out.n_args; i++)
		CHECK_STR(out.args[i], args[i]);
	CHECK(out.n_env == 4 && out.env[4] == NULL);
	for (size_t i = 0; i < 4 && i < out.n_env; i++)
		CHECK_STR(out.env[i], env[i]);
	CHECK_STR(out.cwd, in.cwd);
	CHECK(out.uid == 1000 && out.gid == 1001);
	CHECK(out.n_groups == 3 && out.groups[2] == 4294967294u && out.groups[0] == 10);
	CHECK(out.has_umask && out.umask == 027);
	CHECK_STR(out.hostname, "box 1");
	CHECK(out.n_rlimits == 2 && out.rlimits[0].resource == RLIMIT_NOFILE &&
	      out.rlimits[0].soft == 1024 && out.rlimits[0].hard == 4096);
	CHECK(out.n_rlimits == 2 && out.rlimits[1].hard == RLIM_INFINITY);
	CHECK(out.terminal && out.no_new_privs && out.readonly_rootfs);
	guestcfg_free(&out);
	free(buf);
	hull_err_clear(&err);
}

/* The exact bytes of a minimal config: the format is a contract with older guests. */
static void test_exact_bytes(void)
{
	char *args[] = {"a\nb", NULL};
	struct guestcfg in = {.args = args, .n_args = 1, .cwd = "/", .uid = 5, .gid = 6};
	char *buf = NULL;
	size_t len = 0;
	CHECK(guestcfg_write(&in, &buf, &len, NULL) == 0);
	const char *want = "hull-guest-config 1\narg 3:a\nb\ncwd 1:/\nuid 1:5\ngid 1:6\n"
			   "terminal 1:0\nno_new_privs 1:0\nreadonly_rootfs 1:0\nend 0:\n";
	CHECK(buf != NULL && len == strlen(want) && memcmp(buf, want, len) == 0);
	struct guestcfg out;
	CHECK(guestcfg_parse(buf, len, &out, NULL) == 0);
	CHECK(out.env != NULL || out.n_env == 0);
	CHECK(!out.has_umask && out.hostname == NULL && out.n_groups == 0);
	CHECK(!out.terminal && !out.no_new_privs && !out.readonly_rootfs);
	guestcfg_free(&out);
	free(buf);
}

static void test_minimal_parses(void)
{
	const char buf[] = BASE END;
	CHECK(parse_error(buf, sizeof buf - 1) == NULL);
}

static void test_writer_rejects_invalid(void)
{
	struct guestcfg none = {.cwd = "/"};
	char *buf = NULL;
	size_t len = 0;
	struct hull_err err = {0};
	CHECK(guestcfg_write(&none, &buf, &len, &err) < 0 && buf == NULL);
	CHECK_CONTAINS(err.msg, "missing \"arg\"");
	char *args[] = {"x", NULL};
	struct guestcfg rel = {.args = args, .n_args = 1, .cwd = "rel"};
	CHECK(guestcfg_write(&rel, &buf, &len, &err) < 0);
	CHECK_CONTAINS(err.msg, "not an absolute path");
	hull_err_clear(&err);
}

static void test_nul_in_values(void)
{
	static const char arg[] =
	    "hull-guest-config 1\narg 3:a\0b\ncwd 1:/\nuid 1:0\ngid 1:0\n" END;
	CHECK_CONTAINS(parse_error(arg, sizeof arg - 1), "arg holds a NUL byte");
	static const char cwd[] = "hull-guest-config 1\narg 1:a\ncwd 2:/\0\nuid 1:0\ngid 1:0\n" END;
	CHECK_CONTAINS(parse_error(cwd, sizeof cwd - 1), "cwd holds a NUL byte");
	static const char env[] = BASE "env 4:A=\0b\n" END;
	CHECK_CONTAINS(parse_error(env, sizeof env - 1), "env holds a NUL byte");
	static const char host[] = BASE "hostname 2:\0h\n" END;
	CHECK_CONTAINS(parse_error(host, sizeof host - 1), "hostname holds a NUL byte");
}

static void test_rejects_framing(void)
{
	CHECK_CONTAINS(parse_error("", 0), "not a \"hull-guest-config 1\" file");
	const char v2[] = "hull-guest-config 2\n" END;
	CHECK_CONTAINS(parse_error(v2, sizeof v2 - 1), "not a \"hull-guest-config 1\" file");
	const char noend[] = BASE;
	CHECK_CONTAINS(parse_error(noend, sizeof noend - 1), "truncated: no \"end\" record");
	const char after[] = BASE END "x";
	CHECK_CONTAINS(parse_error(after, sizeof after - 1), "data after the \"end\" record");
	const char endlen[] = BASE "end 1:x\n";
	CHECK_CONTAINS(parse_error(endlen, sizeof endlen - 1), "data after the \"end\" record");
	const char cut[] = BASE "env 10:A=b\n";
	CHECK_CONTAINS(parse_error(cut, sizeof cut - 1), "env: value of 10 bytes is truncated");
	const char nonl[] = BASE "env 3:A=bc\n" END;
	CHECK_CONTAINS(parse_error(nonl, sizeof nonl - 1),
		       "env: no newline after its 3-byte value");
	const char halfkey[] = BASE "env";
	CHECK_CONTAINS(parse_error(halfkey, sizeof halfkey - 1), "truncated record");
	const char nolen[] = BASE "env ";
	CHECK_CONTAINS(parse_error(nolen, sizeof nolen - 1), "env: bad length");
	/* The whole file over the limit is refused before it is read. */
	size_t big = GUESTCFG_MAX_SIZE + 1;
	char *huge = calloc(1, big);
	CHECK(huge != NULL);
	if (huge != NULL) {
		memcpy(huge, BASE, strlen(BASE));
		CHECK_CONTAINS(parse_error(huge, big), "more than the limit");
		free(huge);
	}
}

static void test_rejects_keys_and_lengths(void)
{
	check_rejects("color 3:red\n", "unknown key \"color\"");
	check_rejects("Env 3:A=b\n", "bad key at byte");
	check_rejects("env\t3:A=b\n", "bad key at byte");
	check_rejects(" 3:A=b\n", "bad key at byte");
	check_rejects("env x:A=b\n", "env: bad length");
	check_rejects("env 03:A=b\n", "env: bad length");
	check_rejects("env :A=b\n", "env: bad length");
	check_rejects("env 3A=b\n", "env: bad length");
	check_rejects("env 123456789:A=b\n", "env: bad length");
	check_rejects("env -3:A=b\n", "env: bad length");
	check_rejects("averyveryverylongkeyname_x 1:a\n", "bad key at byte");
}

static void test_rejects_values(void)
{
	check_rejects("cwd 1:/\n", "cwd given twice");
	check_rejects("uid 1:1\n", "uid given twice");
	check_rejects("umask 3:022\numask 3:022\n", "umask given twice");
	check_rejects("env 3:ABC\n", "is not NAME=value");
	check_rejects("env 2:=x\n", "is not NAME=value");
	check_rejects("umask 3:089\n", "not an octal mode");
	check_rejects("umask 4:1000\n", "above 0777");
	check_rejects("umask 0:\n", "not an octal mode");
	check_rejects("group 10:4294967295\n", "is not an id");
	check_rejects("group 2:-1\n", "is not an id");
	check_rejects("group 2:01\n", "is not an id");
	check_rejects("group 0:\n", "is not an id");
	check_rejects("group 3:1 2\n", "is not an id");
	check_rejects("hostname 65:"
		      "12345678901234567890123456789012345678901234567890123456789012345\n",
		      "longer than 64 bytes");
	check_rejects("terminal 1:2\n", "terminal \"2\" is not 0 or 1");
	check_rejects("no_new_privs 3:yes\n", "is not 0 or 1");
	check_rejects("readonly_rootfs 0:\n", "is not 0 or 1");
	check_rejects("terminal 1:1\nterminal 1:1\n", "terminal given twice");
}

static void test_rejects_rlimits(void)
{
	check_rejects("rlimit 5:7 1 2\nrlimit 5:7 1 2\n", "rlimit 7 given twice");
	check_rejects("rlimit 5:7 3 2\n", "soft limit above the hard limit");
	check_rejects("rlimit 6:16 1 2\n", "rlimit resource 16 is unknown");
	check_rejects("rlimit 3:7 1\n", "is not RESOURCE SOFT HARD");
	check_rejects("rlimit 7:7 1 2 3\n", "is not RESOURCE SOFT HARD");
	check_rejects("rlimit 6:7  1 2\n", "is not RESOURCE SOFT HARD");
	check_rejects("rlimit 24:7 1 18446744073709551616\n", "is not RESOURCE SOFT HARD");
	/* Each of the 16 resources once is fine; the parser's duplicate check is per resource. */
	char many[1024] = "";
	for (int i = 0; i < GUESTCFG_MAX_RLIMITS; i++) {
		char rec[64];
		int n = snprintf(rec, sizeof rec, "%d 1 1", i);
		snprintf(many + strlen(many), sizeof many - strlen(many), "rlimit %d:%s\n", n, rec);
	}
	char buf[2048];
	int n = snprintf(buf, sizeof buf, "%s%s%s", BASE, many, END);
	CHECK(parse_error(buf, (size_t)n) == NULL);
	strcat(many, "rlimit 5:0 1 1\n");
	check_rejects(many, "more than 16 rlimit entries");
}

static void test_rejects_missing(void)
{
	const char *base[] = {"arg 4:true\n", "cwd 1:/\n", "uid 1:0\n", "gid 1:0\n"};
	const char *want[] = {"missing \"arg\"", "missing \"cwd\"", "missing \"uid\"",
			      "missing \"gid\""};
	for (int skip = 0; skip < 4; skip++) {
		char buf[256];
		strcpy(buf, GUESTCFG_MAGIC);
		for (int i = 0; i < 4; i++)
			if (i != skip)
				strcat(buf, base[i]);
		strcat(buf, END);
		CHECK_CONTAINS(parse_error(buf, strlen(buf)), want[skip]);
	}
}

static void test_rejects_too_many_args(void)
{
	size_t n = GUESTCFG_MAX_ARGS + 1, rec = strlen("arg 1:a\n");
	size_t size = strlen(GUESTCFG_MAGIC) + n * rec + strlen("cwd 1:/\nuid 1:0\ngid 1:0\n" END);
	char *buf = malloc(size + 1);
	CHECK(buf != NULL);
	if (buf == NULL)
		return;
	char *p = stpcpy(buf, GUESTCFG_MAGIC);
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, "arg 1:a\n");
	p = stpcpy(p, "cwd 1:/\nuid 1:0\ngid 1:0\n" END);
	CHECK_CONTAINS(parse_error(buf, (size_t)(p - buf)), "more than 65536 arg entries");
	/* One fewer is accepted. */
	char *q =
	    stpcpy(buf + strlen(GUESTCFG_MAGIC) + (n - 1) * rec, "cwd 1:/\nuid 1:0\ngid 1:0\n" END);
	CHECK(parse_error(buf, (size_t)(q - buf)) == NULL);
	free(buf);
}

/* Eight bytes per instruction, any byte values: a newline and a NUL among them. */
static const unsigned char PROG[16] = {0x20, 0, 0, 0, 4, 0, 0, 0, '\n', 0, 0, 0, 0, 0, 0xff, 0x7f};
#define CAPS_RECORDS                                                                               \
	"cap_bounding 2:33\ncap_effective 1:1\ncap_inheritable 1:0\ncap_permitted 2:33\n"          \
	"cap_ambient 1:0\n"

static void test_round_trip_security(void)
{
	char *args[] = {"x", NULL};
	unsigned char prog[sizeof PROG];
	memcpy(prog, PROG, sizeof prog);
	struct guestcfg in = {.args = args,
			      .n_args = 1,
			      .cwd = "/",
			      .has_caps = true,
			      .caps = {.bounding = UINT64_MAX,
				       .effective = 1,
				       .inheritable = 0,
				       .permitted = UINT64_C(1) << 63,
				       .ambient = 0x400},
			      .seccomp = prog,
			      .seccomp_len = sizeof prog,
			      .seccomp_flags = 6};
	char *buf = NULL;
	size_t len = 0;
	struct hull_err err = {0};
	CHECK(guestcfg_write(&in, &buf, &len, &err) == 0);
	struct guestcfg out;
	CHECK(guestcfg_parse(buf, len, &out, &err) == 0);
	CHECK(out.has_caps && out.caps.bounding == UINT64_MAX && out.caps.effective == 1);
	CHECK(out.caps.inheritable == 0 && out.caps.permitted == UINT64_C(1) << 63);
	CHECK(out.caps.ambient == 0x400);
	CHECK(out.seccomp != NULL && out.seccomp_len == sizeof PROG &&
	      memcmp(out.seccomp, PROG, sizeof PROG) == 0);
	CHECK(out.seccomp_flags == 6);
	guestcfg_free(&out);
	free(buf);
	/* Empty sets are sent as such: "no capabilities" is not "leave them alone". */
	in.caps = (struct guestcfg_caps){0};
	in.seccomp = NULL;
	CHECK(guestcfg_write(&in, &buf, &len, &err) == 0);
	CHECK(guestcfg_parse(buf, len, &out, &err) == 0);
	CHECK(out.has_caps && out.caps.bounding == 0 && out.caps.permitted == 0);
	CHECK(out.seccomp == NULL && out.seccomp_len == 0 && out.seccomp_flags == 0);
	CHECK(buf != NULL && strstr(buf, "cap_ambient 1:0\n") != NULL);
	CHECK(buf != NULL && strstr(buf, "seccomp") == NULL);
	guestcfg_free(&out);
	free(buf);
	hull_err_clear(&err);
}

/* The records' exact bytes, and that a config without them leaves the process's
 * capabilities alone (what a guest init reads from an older hull). */
static void test_security_exact_bytes(void)
{
	char *args[] = {"x", NULL};
	unsigned char prog[8] = {6, 0, 0, 0, 0, 0, 0xff, 0x7f}; /* ret SECCOMP_RET_ALLOW */
	struct guestcfg in = {.args = args,
			      .n_args = 1,
			      .cwd = "/",
			      .has_caps = true,
			      .caps = {.bounding = 33, .effective = 1, .permitted = 33},
			      .seccomp = prog,
			      .seccomp_len = 8};
	char *buf = NULL;
	size_t len = 0;
	CHECK(guestcfg_write(&in, &buf, &len, NULL) == 0);
	const char head[] =
	    "hull-guest-config 1\narg 1:x\ncwd 1:/\nuid 1:0\ngid 1:0\nterminal 1:0\n"
	    "no_new_privs 1:0\nreadonly_rootfs 1:0\n" CAPS_RECORDS "seccomp 8:";
	const char tail[] = "\nseccomp_flags 1:0\nend 0:\n";
	size_t hl = strlen(head), tl = strlen(tail);
	CHECK(buf != NULL && len == hl + 8 + tl && memcmp(buf, head, hl) == 0 &&
	      memcmp(buf + hl, prog, 8) == 0 && memcmp(buf + hl + 8, tail, tl) == 0);
	free(buf);
	struct guestcfg out;
	const char none[] = BASE END;
	CHECK(guestcfg_parse(none, sizeof none - 1, &out, NULL) == 0);
	CHECK(!out.has_caps && out.seccomp == NULL);
	guestcfg_free(&out);
}

/* A seccomp record of len bytes (value: len 'x's) after BASE; NULL when it parses. */
static const char *seccomp_of(size_t len, const char *more)
{
	size_t size = strlen(BASE) + 32 + len + strlen(more) + strlen(END);
	char *buf = malloc(size);
	if (buf == NULL)
		return "(no memory)";
	int n = snprintf(buf, size, "%sseccomp %zu:", BASE, len);
	memset(buf + n, 'x', len);
	int m = snprintf(buf + (size_t)n + len, size - (size_t)n - len, "\n%s%s", more, END);
	const char *r = parse_error(buf, (size_t)n + len + (size_t)m);
	free(buf);
	return r;
}

static void test_rejects_seccomp(void)
{
	CHECK(seccomp_of(8, "") == NULL);
	CHECK(seccomp_of(GUESTCFG_MAX_BPF * 8, "seccomp_flags 1:7\n") == NULL);
	CHECK_CONTAINS(seccomp_of(0, ""), "seccomp: 0 bytes are not 1 to 4096 instructions");
	CHECK_CONTAINS(seccomp_of(7, ""), "seccomp: 7 bytes are not 1 to 4096 instructions");
	CHECK_CONTAINS(seccomp_of(12, ""), "seccomp: 12 bytes are not");
	CHECK_CONTAINS(seccomp_of(GUESTCFG_MAX_BPF * 8 + 8, ""), "seccomp: 32776 bytes are not");
	CHECK_CONTAINS(seccomp_of(8, "seccomp 8:xxxxxxxx\n"), "seccomp given twice");
	CHECK_CONTAINS(seccomp_of(8, "seccomp_flags 1:8\n"), "holds an unknown flag");
	CHECK_CONTAINS(seccomp_of(8, "seccomp_flags 2:-1\n"), "holds an unknown flag");
	CHECK_CONTAINS(seccomp_of(8, "seccomp_flags 10:4294967296\n"), "holds an unknown flag");
	CHECK_CONTAINS(seccomp_of(8, "seccomp_flags 1:1\nseccomp_flags 1:1\n"),
		       "seccomp_flags given twice");
	check_rejects("seccomp_flags 1:1\n", "seccomp_flags without a seccomp program");
	/* A length that runs past the buffer is a truncation, not a short program. */
	const char cut[] = BASE "seccomp 16:12345678";
	CHECK_CONTAINS(parse_error(cut, sizeof cut - 1), "seccomp: value of 16 bytes is truncated");
}

static void test_rejects_caps(void)
{
	CHECK(parse_error(BASE CAPS_RECORDS END, strlen(BASE CAPS_RECORDS END)) == NULL);
	check_rejects("cap_bounding 1:1\n", "1 of the five cap_* sets given: all or none");
	check_rejects("cap_bounding 1:1\ncap_effective 1:1\ncap_inheritable 1:0\n"
		      "cap_permitted 1:1\n",
		      "4 of the five cap_* sets given");
	check_rejects(CAPS_RECORDS "cap_ambient 1:0\n", "cap_ambient given twice");
	check_rejects("cap_bounding 20:18446744073709551616\n",
		      "cap_bounding \"18446744073709551616\" is not a 64-bit mask");
	check_rejects("cap_effective 2:01\n", "cap_effective \"01\" is not a 64-bit mask");
	check_rejects("cap_permitted 3:0x1\n", "is not a 64-bit mask");
	check_rejects("cap_inheritable 0:\n", "is not a 64-bit mask");
	check_rejects("cap_ambient 2:-1\n", "is not a 64-bit mask");
}

int main(void)
{
	RUN(test_round_trip_full);
	RUN(test_exact_bytes);
	RUN(test_minimal_parses);
	RUN(test_writer_rejects_invalid);
	RUN(test_nul_in_values);
	RUN(test_rejects_framing);
	RUN(test_rejects_keys_and_lengths);
	RUN(test_rejects_values);
	RUN(test_rejects_rlimits);
	RUN(test_rejects_missing);
	RUN(test_rejects_too_many_args);
	RUN(test_round_trip_security);
	RUN(test_security_exact_bytes);
	RUN(test_rejects_seccomp);
	RUN(test_rejects_caps);
	return unit_done();
}
