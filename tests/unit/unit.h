/* A minimal TAP producer for hull's C unit tests.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_STR(a, "b"); }
 *   int main(void) { RUN(test_something); return unit_done(); }
 *
 * Each RUN prints "ok N - name" or "not ok N - name" with the failed checks above it. */
#pragma once
#include <stdio.h>
#include <string.h>

static int unit_count, unit_failed, unit_case_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);        \
			unit_case_failed = 1;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                             \
			printf("#   %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,                \
			       a_ ? a_ : "(null)", b_ ? b_ : "(null)");                            \
			unit_case_failed = 1;                                                      \
		}                                                                                  \
	} while (0)

/* The string s contains the substring sub. */
#define CHECK_CONTAINS(s, sub)                                                                     \
	do {                                                                                       \
		const char *s_ = (s), *sub_ = (sub);                                               \
		if (s_ == NULL || strstr(s_, sub_) == NULL) {                                      \
			printf("#   %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,  \
			       s_ ? s_ : "(null)", sub_);                                          \
			unit_case_failed = 1;                                                      \
		}                                                                                  \
	} while (0)

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		unit_case_failed = 0;                                                              \
		fn();                                                                              \
		unit_count++;                                                                      \
		unit_failed += unit_case_failed;                                                   \
		printf("%sok %d - %s\n", unit_case_failed ? "not " : "", unit_count, #fn);         \
		fflush(stdout);                                                                    \
	} while (0)

static inline int unit_done(void)
{
	printf("1..%d\n", unit_count);
	return unit_failed ? 1 : 0;
}
