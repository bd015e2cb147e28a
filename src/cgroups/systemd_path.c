/* linux.cgroupsPath in the systemd form "slice:prefix:name" (runtime-spec config-linux.md,
 * what containerd and podman send with the systemd driver), turned into the cgroupfs path
 * systemd itself would give that unit, so that both forms land in the same place. */
#include <errno.h>
#include <string.h>

#include "layout.h"

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* systemd nests "a-b-c.slice" as /a.slice/a-b.slice/a-b-c.slice (systemd.slice(5)). */
static char *slice_path(struct arena *a, const char *slice)
{
	char *out = arena_strdup(a, "");
	size_t stem = strlen(slice) - strlen(".slice");
	for (size_t i = 0; i <= stem; i++)
		if (i == stem || slice[i] == '-')
			out = arena_printf(a, "%s/%.*s.slice", out, (int)i, slice);
	return out;
}

static int check_name(const char *what, const char *s, struct hull_err *err)
{
	if (strchr(s, '/') != NULL || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return hull_error(err, EINVAL, "linux.cgroupsPath: %s \"%s\" is not a unit name",
				  what, s);
	return 0;
}

int cgroup_systemd_path(struct arena *a, const char *spec, const char **out, struct hull_err *err)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (c2 == NULL || strchr(c2 + 1, ':') != NULL || spec[0] == '/')
		return 0;
	char *slice = arena_printf(a, "%.*s", (int)(c1 - spec), spec);
	char *prefix = arena_printf(a, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
	const char *name = c2 + 1;
	if (slice[0] == '\0')
		slice = arena_strdup(a, "system.slice");
	bool root_slice = strcmp(slice, "-.slice") == 0;
	if (!has_suffix(slice, ".slice") ||
	    (!root_slice && (strstr(slice, "--") || slice[0] == '-')))
		return hull_error(err, EINVAL,
				  "linux.cgroupsPath: \"%s\" is not a slice name (NAME.slice)",
				  slice);
	if (name[0] == '\0')
		return hull_error(err, EINVAL, "linux.cgroupsPath: \"%s\" names no unit", spec);
	if (check_name("slice", slice, err) < 0 || check_name("prefix", prefix, err) < 0 ||
	    check_name("name", name, err) < 0)
		return -1;
	const char *base = root_slice ? "" : slice_path(a, slice);
	/* A name that is itself a slice is nested as one; anything else is a scope. */
	if (has_suffix(name, ".slice"))
		*out = arena_printf(a, "%s/%s", base, name);
	else if (prefix[0] != '\0')
		*out = arena_printf(a, "%s/%s-%s.scope", base, prefix, name);
	else
		*out = arena_printf(a, "%s/%s.scope", base, name);
	return 1;
}
