#include <errno.h>
#include <string.h>

#include "common/arena.h"
#include "common/err.h"
#include "unit.h"

static void test_error_message_and_code(void)
{
	struct hull_err err = {0};
	CHECK(hull_error(&err, ENOENT, "open %s", "/x") == -1);
	CHECK_STR(err.msg, "open /x");
	CHECK(err.code == ENOENT);
	CHECK_STR(hull_err_text(&err), "open /x: No such file or directory");
	hull_err_clear(&err);
	CHECK(err.msg == NULL && err.code == 0);
}

static void test_error_wrap_prefixes(void)
{
	struct hull_err err = {0};
	hull_error(&err, 0, "must be a string");
	hull_error_wrap(&err, "config.json: %s", "process.cwd");
	CHECK_STR(hull_err_text(&err), "config.json: process.cwd: must be a string");
	hull_err_clear(&err);
}

static void test_arena_strings_survive_many_blocks(void)
{
	struct arena a = {0};
	char *first = arena_strdup(&a, "first");
	for (int i = 0; i < 5000; i++)
		arena_printf(&a, "string number %d", i);
	char *big = arena_alloc(&a, 100000);
	memset(big, 'x', 100000);
	CHECK_STR(first, "first");
	CHECK(arena_strdup(&a, NULL) == NULL);
	arena_free(&a);
	CHECK(a.head == NULL);
}

int main(void)
{
	RUN(test_error_message_and_code);
	RUN(test_error_wrap_prefixes);
	RUN(test_arena_strings_survive_many_blocks);
	return unit_done();
}
