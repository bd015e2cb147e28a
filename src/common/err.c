#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int hull_error(struct hull_err *err, int code, const char *fmt, ...)
{
	if (err == NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	free(err->msg);
	err->msg = msg;
	err->code = code;
	return -1;
}

int hull_error_wrap(struct hull_err *err, const char *fmt, ...)
{
	if (err == NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *prefix = vformat(fmt, ap);
	va_end(ap);
	char *joined = NULL;
	if (prefix != NULL &&
	    asprintf(&joined, "%s: %s", prefix, err->msg ? err->msg : "error") >= 0) {
		free(err->msg);
		err->msg = joined;
	}
	free(prefix);
	return -1;
}

void hull_err_clear(struct hull_err *err)
{
	free(err->msg);
	err->msg = NULL;
	err->code = 0;
}

const char *hull_err_text(const struct hull_err *err)
{
	static char buf[4096];
	const char *msg = err->msg ? err->msg : "unknown error";
	if (err->code > 0)
		snprintf(buf, sizeof buf, "%s: %s", msg, strerror(err->code));
	else
		snprintf(buf, sizeof buf, "%s", msg);
	return buf;
}
