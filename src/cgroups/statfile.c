/* The formats of cgroup interface files (Documentation/admin-guide/cgroup-v2.rst,
 * "Interface Files": single values, flat keyed and space separated; v1's files use the
 * same shapes). */
#include "statfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One unsigned decimal number at *p, skipping leading blanks; *p moves past it. */
static bool take_u64(const char **p, uint64_t *v)
{
	const char *s = *p + strspn(*p, " \t");
	if (!isdigit((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return false;
	*v = n;
	*p = end;
	return true;
}

static bool only_space(const char *p)
{
	return p[strspn(p, " \t\n")] == '\0';
}

int cgroup_parse_u64(const char *text, uint64_t *v)
{
	const char *p = text + strspn(text, " \t\n");
	if (strncmp(p, "max", 3) == 0 && only_space(p + 3)) {
		*v = UINT64_MAX;
		return 0;
	}
	uint64_t n;
	if (!take_u64(&p, &n) || !only_space(p))
		return -1;
	*v = n;
	return 0;
}

/* The line starting at p: its key (length *klen) and, after it, its value. */
static bool split_line(const char *p, size_t *klen, uint64_t *v)
{
	*klen = strcspn(p, " \t\n");
	if (*klen == 0 || (p[*klen] != ' ' && p[*klen] != '\t'))
		return false;
	const char *rest = p + *klen;
	if (!take_u64(&rest, v))
		return false;
	return rest[strspn(rest, " \t")] == '\n' || rest[strspn(rest, " \t")] == '\0';
}

static const char *next_line(const char *p)
{
	p += strcspn(p, "\n");
	return *p == '\n' ? p + 1 : p;
}

bool cgroup_kv_get(const char *text, const char *key, uint64_t *v)
{
	size_t len = strlen(key), klen;
	uint64_t n;
	for (const char *p = text; *p != '\0'; p = next_line(p))
		if (split_line(p, &klen, &n) && klen == len && memcmp(p, key, len) == 0) {
			*v = n;
			return true;
		}
	return false;
}

size_t cgroup_kv_all(const char *text, struct arena *a, struct cgroup_stat_kv **out)
{
	size_t n = 0, klen;
	uint64_t v;
	for (const char *p = text; *p != '\0'; p = next_line(p))
		n += split_line(p, &klen, &v);
	*out = n ? arena_alloc(a, n * sizeof **out) : NULL;
	size_t i = 0;
	for (const char *p = text; *p != '\0' && i < n; p = next_line(p)) {
		if (!split_line(p, &klen, &v))
			continue;
		char *key = arena_alloc(a, klen + 1);
		memcpy(key, p, klen);
		(*out)[i++] = (struct cgroup_stat_kv){key, v};
	}
	return n;
}

size_t cgroup_u64_list(const char *text, struct arena *a, uint64_t **out)
{
	size_t n = 0;
	uint64_t v;
	for (const char *p = text; take_u64(&p, &v);)
		n++;
	*out = n ? arena_alloc(a, n * sizeof **out) : NULL;
	const char *p = text;
	for (size_t i = 0; i < n; i++)
		take_u64(&p, &(*out)[i]);
	return n;
}

/* The kernel's cpulist_parse() bounds ids by nr_cpu_ids; 65536 is runc's uint16. */
#define CPU_LIST_MAX 65536

/* One "a" or "a-b" part at *p, moved past it; false when malformed. */
static bool take_range(const char **p, uint64_t *lo, uint64_t *hi)
{
	if (!isdigit((unsigned char)**p) || !take_u64(p, lo))
		return false;
	*hi = *lo;
	if (**p == '-') {
		(*p)++;
		if (!isdigit((unsigned char)**p) || !take_u64(p, hi))
			return false;
	}
	return *lo <= *hi && *hi < CPU_LIST_MAX;
}

/* Counts the numbers of text, or writes them to out when it is not NULL. */
static int walk_cpu_list(const char *text, uint64_t *out, size_t *n)
{
	const char *p = text + strspn(text, " \t\n");
	*n = 0;
	while (*p != '\0' && !only_space(p)) {
		uint64_t lo, hi;
		if (!take_range(&p, &lo, &hi) || *n + (hi - lo) >= CPU_LIST_MAX)
			return -1;
		for (uint64_t v = lo; v <= hi; v++, (*n)++)
			if (out != NULL)
				out[*n] = v;
		if (*p == ',')
			p++;
		else if (!only_space(p))
			return -1;
	}
	return 0;
}

int cgroup_cpu_list(const char *text, struct arena *a, uint64_t **out, size_t *n)
{
	*out = NULL;
	if (walk_cpu_list(text, NULL, n) < 0) {
		*n = 0;
		return -1;
	}
	if (*n == 0)
		return 0;
	*out = arena_alloc(a, *n * sizeof **out);
	return walk_cpu_list(text, *out, n);
}
