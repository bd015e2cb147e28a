/* Errors travel up as a struct; only main prints them. */
#pragma once
#include <stdarg.h>

struct hull_err {
	int code;  /* errno value, 0 when none applies */
	char *msg; /* heap string, owned */
};

/* Fill err (replacing any previous message) and return -1, so callers can write
 * `return hull_error(err, errno, "open %s", path);`. */
int hull_error(struct hull_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in err with more context; returns -1. */
int hull_error_wrap(struct hull_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void hull_err_clear(struct hull_err *err);

/* "msg: strerror(code)" or just "msg"; a static buffer, for main and logs. */
const char *hull_err_text(const struct hull_err *err);
