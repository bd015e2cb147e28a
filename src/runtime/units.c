/* The value formats of runc's command line that are not plain integers: Go durations
 * (`events --interval 5s`) and docker/go-units RAM sizes (`update --memory 512m`). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

/* A decimal number with an optional fraction at *p ("1", "1.5", ".5"); *p moves on. */
static bool take_decimal(const char **p, double *v)
{
	size_t n = strspn(*p, "0123456789.");
	char buf[64];
	if (n == 0 || n >= sizeof buf || memchr(*p, '.', n) != memrchr(*p, '.', n))
		return false;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	if (strcmp(buf, ".") == 0)
		return false;
	*v = strtod(buf, NULL);
	*p += n;
	return true;
}

int units_duration_ms(const char *text, long long *ms, struct hull_err *err)
{
	/* Two-letter names first, so that "ms" is not "m" followed by garbage. */
	static const struct {
		const char *name;
		double ns;
	} units[] = {{"ns", 1},	  {"us", 1e3},	 {"\u00b5s", 1e3}, {"\u03bcs", 1e3},
		     {"ms", 1e6}, {"h", 3.6e12}, {"m", 6e10},	   {"s", 1e9}};
	double total = 0;
	const char *p = text;
	while (*p != '\0') {
		double v;
		size_t i = 0;
		if (!take_decimal(&p, &v))
			break;
		while (i < sizeof units / sizeof *units &&
		       strncmp(p, units[i].name, strlen(units[i].name)) != 0)
			i++;
		if (i == sizeof units / sizeof *units)
			return hull_error(err, 0,
					  "invalid duration \"%s\": a unit (ms, s, m, h) "
					  "must follow each number",
					  text);
		total += v * units[i].ns;
		p += strlen(units[i].name);
	}
	if (*p != '\0' || p == text || total < 1e6 || total > 1e15)
		return hull_error(err, 0, "invalid duration \"%s\": want 1ms to 11d, e.g. 5s",
				  text);
	long long whole = (long long)(total / 1e6);
	*ms = (double)whole * 1e6 < total ? whole + 1 : whole;
	return 0;
}

/* go-units RAMInBytes: a number, an optional space, an optional k/m/g/t/p (powers of
 * 1024, any case), then an optional "i" and an optional "b": 512, 512m, 1.5G, 64MiB. */
int units_bytes(const char *text, int64_t *v, struct hull_err *err)
{
	static const char scale[] = "kmgtp";
	const char *p = text;
	double n, mult = 1;
	if (strcmp(text, "-1") == 0) {
		*v = -1;
		return 0;
	}
	if (!take_decimal(&p, &n))
		return hull_error(err, 0, "invalid size \"%s\"", text);
	p += *p == ' ';
	const char *unit = *p ? strchr(scale, tolower((unsigned char)*p)) : NULL;
	for (const char *s = scale; unit != NULL && s <= unit; s++)
		mult *= 1024;
	p += unit != NULL;
	p += tolower((unsigned char)*p) == 'i';
	p += tolower((unsigned char)*p) == 'b';
	if (*p != '\0' || n * mult >= 9.2e18)
		return hull_error(err, 0,
				  "invalid size \"%s\": want a number of bytes with an "
				  "optional k, m, g, t or p suffix",
				  text);
	*v = (int64_t)(n * mult);
	return 0;
}
