/* A sub-cgroup of a container's cgroup (`exec --cgroup PATH`): it must already exist in
 * every hierarchy, and nothing of it belongs to the container (never removed by it). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroups.h"
#include "common/cleanup.h"
#include "layout.h"

static int check_sub_path(const char *sub, struct hull_err *err)
{
	if (strchr(sub, ':') != NULL)
		return hull_error(err, 0,
				  "--cgroup %s: per-controller sub-cgroups are not supported; give "
				  "a path below the container's cgroup",
				  sub);
	if (sub[0] == '\0' || sub[0] == '/' || strstr(sub, "//") || sub[strlen(sub) - 1] == '/')
		return hull_error(err, 0, "--cgroup %s: not a relative cgroup path", sub);
	for (const char *part = sub;;) {
		size_t len = strcspn(part, "/");
		if ((len == 1 && part[0] == '.') || (len == 2 && strncmp(part, "..", 2) == 0))
			return hull_error(
			    err, 0, "--cgroup %s: must stay below the container's cgroup", sub);
		if (part[len] == '\0')
			return 0;
		part += len + 1;
	}
}

static int descend(struct cgroup *cg, const char *sub, struct hull_err *err)
{
	for (size_t i = 0; i < cg->n; i++) {
		struct cgroup_place *p = &cg->places[i];
		p->rel = arena_printf(&cg->arena, "%s/%s", p->rel, sub);
		p->dir = arena_printf(&cg->arena, "%s/%s", p->dir, sub);
		p->created = 0;
		struct stat st;
		if (stat(p->dir, &st) < 0)
			return hull_error(err, errno, "--cgroup %s: %s", sub, p->dir);
		if (!S_ISDIR(st.st_mode))
			return hull_error(err, ENOTDIR, "--cgroup %s: %s", sub, p->dir);
	}
	cg->saved = cgroup_saved_format(cg->places, cg->n, &cg->arena);
	return 0;
}

struct cgroup *cgroup_open_sub(const char *saved, const char *sub, struct hull_err *err)
{
	if (check_sub_path(sub, err) < 0)
		return NULL;
	struct cgroup *cg = cgroup_open(saved, err);
	if (cg != NULL && descend(cg, sub, err) < 0) {
		cgroup_free(cg);
		return NULL;
	}
	return cg;
}
