/* The control channel's line protocol (guest.h), as pure functions. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "guest.h"

/* A decimal in [min, max] at *p, no sign or leading zeros; advances *p. */
static int number(const char **p, const char *end, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t x = 0;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (x > max / 10 || d > max - x * 10)
			return -1;
		x = x * 10 + d;
	}
	if (s == *p || (**p == '0' && s - *p > 1) || x < min)
		return -1;
	*p = s;
	*out = x;
	return 0;
}

static int prefix(const char **p, const char *end, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(end - *p) < n || memcmp(*p, word, n) != 0)
		return -1;
	*p += n;
	return 0;
}

int guest_ctl_parse(const char *line, size_t len, struct guest_ctl *out)
{
	const char *p = line, *end = line + len;
	uint64_t a, b;
	if (prefix(&p, end, "signal ") == 0) {
		if (number(&p, end, 1, (uint64_t)SIGRTMAX, &a) < 0 || p != end)
			return -1;
		*out = (struct guest_ctl){.kind = GUEST_CTL_SIGNAL, .signal = (int)a};
		return 0;
	}
	if (prefix(&p, end, "winsize ") == 0) {
		if (number(&p, end, 0, 65535, &a) < 0 || prefix(&p, end, " ") < 0 ||
		    number(&p, end, 0, 65535, &b) < 0 || p != end)
			return -1;
		*out = (struct guest_ctl){
		    .kind = GUEST_CTL_WINSIZE, .rows = (uint16_t)a, .cols = (uint16_t)b};
		return 0;
	}
	if (prefix(&p, end, "eof ") == 0) {
		if (number(&p, end, 0, GUEST_EOF_MAX, &a) < 0 || p != end)
			return -1;
		*out = (struct guest_ctl){.kind = GUEST_CTL_EOF, .bytes = a};
		return 0;
	}
	return -1;
}

void guest_lines_feed(struct guest_lines *l, const char *data, size_t n, guest_line_fn fn,
		      void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n') {
			if (!l->overlong)
				fn(ctx, l->buf, l->len);
			l->len = 0;
			l->overlong = false;
		} else if (l->len < sizeof l->buf) {
			l->buf[l->len++] = data[i];
		} else {
			l->overlong = true;
		}
	}
}

size_t guest_report_format(int wstatus, char *buf, size_t size)
{
	int n;
	if (WIFSIGNALED(wstatus))
		n = snprintf(buf, size, "signaled %d\n", WTERMSIG(wstatus));
	else
		n = snprintf(buf, size, "exit %d\n", WEXITSTATUS(wstatus));
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

int guest_exec_status(int errnum)
{
	return errnum == ENOENT ? GUEST_EXIT_NOT_FOUND : GUEST_EXIT_CANNOT_RUN;
}
