#include <stdlib.h>

#include "runtime/cli.h"
#include "runtime/runtime.h"
#include "unit.h"

struct parsed {
	const char *bundle, *log;
	bool detach;
	int fds;
	struct cli_strings env;
};

static int parse(struct parsed *p, int argc, char **argv, int *first, struct hull_err *err)
{
	const struct cli_opt opts[] = {
	    {"bundle", 'b', CLI_STRING, &p->bundle}, {"log", 0, CLI_STRING, &p->log},
	    {"detach", 'd', CLI_FLAG, &p->detach},   {"preserve-fds", 0, CLI_INT, &p->fds},
	    {"env", 'e', CLI_STRINGS, &p->env},	     {0},
	};
	return cli_parse(opts, argc, argv, first, err);
}

static void test_long_forms_with_space_and_equals(void)
{
	char *argv[] = {"run", "--bundle", "/b", "--log=/l", "--preserve-fds=2", "id", NULL};
	struct parsed p = {0};
	struct hull_err err = {0};
	int first = 0;
	CHECK(parse(&p, 6, argv, &first, &err) == 0);
	CHECK_STR(p.bundle, "/b");
	CHECK_STR(p.log, "/l");
	CHECK(p.fds == 2);
	CHECK(first == 5);
}

static void test_short_and_single_dash_long(void)
{
	char *argv[] = {"run", "-b", "/b", "-detach", "-e", "A=1", "-e", "B=2", "id", NULL};
	struct parsed p = {0};
	struct hull_err err = {0};
	int first = 0;
	CHECK(parse(&p, 9, argv, &first, &err) == 0);
	CHECK_STR(p.bundle, "/b");
	CHECK(p.detach);
	CHECK(p.env.n == 2);
	CHECK(p.env.n == 2 && strcmp(p.env.items[1], "B=2") == 0);
	CHECK(first == 8);
	free(p.env.items);
}

/* "-it" as docker and podman take it: every letter a flag; else an unknown option. */
static void test_short_flags_together(void)
{
	bool i = false, t = false;
	const char *v = NULL;
	const struct cli_opt opts[] = {{"interactive", 'i', CLI_FLAG, &i},
				       {"tty", 't', CLI_FLAG, &t},
				       {"value", 'v', CLI_STRING, &v},
				       {0}};
	char *argv[] = {"run", "-it", "id", NULL};
	struct hull_err err = {0};
	int first = 0;
	CHECK(cli_parse(opts, 3, argv, &first, &err) == 0);
	CHECK(i && t && first == 2);
	char *with_value[] = {"run", "-tv", "x", "id", NULL};
	CHECK(cli_parse(opts, 4, with_value, &first, &err) < 0);
	CHECK_CONTAINS(err.msg, "-tv");
	char *unknown[] = {"run", "-tz", "id", NULL};
	CHECK(cli_parse(opts, 3, unknown, &first, &err) < 0);
	hull_err_clear(&err);
}

static void test_double_dash_ends_options(void)
{
	char *argv[] = {"exec", "-d", "--", "-not-an-option", NULL};
	struct parsed p = {0};
	struct hull_err err = {0};
	int first = 0;
	CHECK(parse(&p, 4, argv, &first, &err) == 0);
	CHECK(p.detach);
	CHECK(first == 3);
}

static void test_errors_name_the_option(void)
{
	struct parsed p = {0};
	struct hull_err err = {0};
	int first = 0;
	char *unknown[] = {"run", "--bogus", "id", NULL};
	CHECK(parse(&p, 3, unknown, &first, &err) < 0);
	CHECK_CONTAINS(err.msg, "--bogus");
	char *missing[] = {"run", "--bundle", NULL};
	CHECK(parse(&p, 2, missing, &first, &err) < 0);
	CHECK_CONTAINS(err.msg, "--bundle");
	char *notnum[] = {"run", "--preserve-fds", "x", "id", NULL};
	CHECK(parse(&p, 4, notnum, &first, &err) < 0);
	CHECK_CONTAINS(err.msg, "preserve-fds");
	char *flagval[] = {"run", "--detach=maybe", "id", NULL};
	CHECK(parse(&p, 3, flagval, &first, &err) < 0);
	hull_err_clear(&err);
}

static void test_expect_args(void)
{
	char *argv[] = {"state", "a", "b", NULL};
	struct hull_err err = {0};
	CHECK(cli_expect_args("state", 3, argv, 1, 1, "container id", &err) < 0);
	CHECK_CONTAINS(err.msg, "unexpected argument: b");
	CHECK(cli_expect_args("state", 1, argv, 1, 1, "container id", &err) < 0);
	CHECK_CONTAINS(err.msg, "missing container id");
	CHECK(cli_expect_args("state", 2, argv, 1, 1, "container id", &err) == 0);
	hull_err_clear(&err);
}

static void test_container_ids(void)
{
	struct hull_err err = {0};
	CHECK(state_validate_id("web-1_a.b+c", &err) == 0);
	CHECK(state_validate_id("", &err) < 0);
	CHECK(state_validate_id("..", &err) < 0);
	CHECK(state_validate_id("../etc", &err) < 0);
	CHECK_CONTAINS(err.msg, "invalid container id");
	CHECK(state_validate_id("a/b", &err) < 0);
	CHECK(state_validate_id("sp ace", &err) < 0);
	CHECK(state_validate_id("images", &err) < 0); /* --root/images: the image store */
	CHECK_CONTAINS(err.msg, "image store");
	CHECK(state_validate_id("images2", &err) == 0);
	hull_err_clear(&err);
}

int main(void)
{
	RUN(test_long_forms_with_space_and_equals);
	RUN(test_short_and_single_dash_long);
	RUN(test_short_flags_together);
	RUN(test_double_dash_ends_options);
	RUN(test_errors_name_the_option);
	RUN(test_expect_args);
	RUN(test_container_ids);
	return unit_done();
}
