/* Entering the container's cgroup at clone time; see cgroup_fork_begin in cgroups.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups.h"
#include "common/cleanup.h"
#include "layout.h"

static int step_into(const char *dir, struct hull_err *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/tasks", dir);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	/* "0" is the writing thread: the kernel then needs no global lock (v1 `tasks`). */
	if (fd < 0 || write(fd, "0", 1) != 1)
		return hull_error(err, errno, "enter cgroup %s", dir);
	return 0;
}

/* Where this process is now in hierarchy h, as a directory. */
static char *current_dir(const struct cgroup_hier *h, const char *self, struct arena *a)
{
	const char *rel = cgroup_proc_rel(h, self, a);
	if (rel == NULL)
		return NULL;
	char *dir = NULL;
	if (asprintf(&dir, "%s%s", h->mount, rel) < 0)
		return NULL;
	return dir;
}

int cgroup_fork_begin(const struct cgroup *cg, struct cgroup_fork *f, struct hull_err *err)
{
	*f = (struct cgroup_fork){.clone_fd = -1};
	_cleanup_free_ char *self = cgroup_read_text("/proc/self/cgroup", err);
	if (self == NULL)
		return -1;
	struct arena a = {0};
	int r = 0;
	for (size_t i = 0; i < cg->n && r == 0; i++) {
		const struct cgroup_place *p = &cg->places[i];
		if (p->h->v2) {
			f->clone_fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (f->clone_fd < 0)
				r = hull_error(err, errno, "open cgroup %s", p->dir);
			continue;
		}
		char *back = current_dir(p->h, self, &a);
		if (back == NULL || f->n_back == sizeof f->back / sizeof f->back[0]) {
			free(back);
			r = hull_error(err, ENOENT, "find hull's own cgroup in %s", p->h->mount);
			break;
		}
		f->back[f->n_back++] = back;
		r = step_into(p->dir, err);
	}
	arena_free(&a);
	if (r < 0)
		cgroup_fork_end(f, NULL);
	return r;
}

int cgroup_fork_end(struct cgroup_fork *f, struct hull_err *err)
{
	int r = 0;
	for (size_t i = 0; i < f->n_back; i++) {
		if (r == 0 && step_into(f->back[i], err) < 0)
			r = -1;
		free(f->back[i]);
	}
	f->n_back = 0;
	if (f->clone_fd >= 0)
		close(f->clone_fd);
	f->clone_fd = -1;
	return r;
}
