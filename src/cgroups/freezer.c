/* Pausing a container: the v1 freezer (Documentation/admin-guide/cgroup-v1/freezer-
 * subsystem.rst) or cgroup2's cgroup.freeze (cgroup-v2.rst, "Core Interface Files"). */
#include "cgroups.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "layout.h"
#include "statfile.h"

#define FREEZE_TIMEOUT_MS 2000
/* How long a v1 FREEZING may last before we thaw for a moment and try again. */
#define REFREEZE_MS 100

struct freezer {
	const struct cgroup_place *p;
	bool v2;
};

/* On a hybrid host the processes are in both; the v1 freezer is the one that runc and
 * systemd use there, and the one a v1-only tool watching the container would read. */
static int pick(const struct cgroup *cg, struct freezer *f, struct hull_err *err)
{
	f->p = cgroup_v1_place(cg, "freezer");
	f->v2 = f->p == NULL;
	if (f->p == NULL)
		f->p = cgroup_v2_place(cg);
	if (f->p == NULL)
		return hull_error(err, ENOTSUP, "this host mounts no cgroup freezer");
	return 0;
}

/* 1 frozen, 0 not (or not yet), <0 error. */
static int read_frozen(const struct freezer *f, struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (cgroup_read_at(f->p->dir, f->v2 ? "cgroup.events" : "freezer.state", &text, err) < 0)
		return -1;
	if (text == NULL)
		return hull_error(err, ENOENT, "%s: no freezer files (is the container gone?)",
				  f->p->dir);
	if (!f->v2)
		return strncmp(text, "FROZEN", 6) == 0;
	uint64_t v = 0;
	return cgroup_kv_get(text, "frozen", &v) && v == 1;
}

static int request(const struct freezer *f, bool frozen, struct hull_err *err)
{
	const char *v = f->v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
	return cgroup_write_at(f->p->dir, f->v2 ? "cgroup.freeze" : "freezer.state", v, err);
}

static long ms_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static void nap(long ms)
{
	struct timespec t = {0, ms * 1000000L};
	nanosleep(&t, NULL);
}

/* A v1 FREEZING that lasts is a task the freezer cannot catch where it sleeps (a vfork
 * parent, a task in an uninterruptible wait); thawing for a moment and asking again lets
 * it reach a point where it can be frozen. Writing FROZEN again also retries. */
static int wait_frozen(const struct freezer *f, struct hull_err *err)
{
	struct timespec start, last;
	clock_gettime(CLOCK_MONOTONIC, &start);
	last = start;
	for (long sleep_ms = 1;; sleep_ms = sleep_ms < 10 ? sleep_ms * 2 : 10) {
		int r = read_frozen(f, err);
		if (r != 0)
			return r < 0 ? -1 : 0;
		if (ms_since(&start) > FREEZE_TIMEOUT_MS)
			return hull_error(err, EBUSY, "%s: not frozen after %d s", f->p->dir,
					  FREEZE_TIMEOUT_MS / 1000);
		if (!f->v2 && ms_since(&last) > REFREEZE_MS) {
			if (request(f, false, err) < 0)
				return -1;
			clock_gettime(CLOCK_MONOTONIC, &last);
		}
		if (!f->v2 && request(f, true, err) < 0)
			return -1;
		nap(sleep_ms);
	}
}

int cgroup_freeze(const struct cgroup *cg, bool frozen, struct hull_err *err)
{
	struct freezer f;
	if (pick(cg, &f, err) < 0)
		return -1;
	/* Thawing undoes any freeze in the tree, the same as delete does before it kills. */
	if (!frozen)
		return cgroup_thaw(cg, err);
	if (request(&f, true, err) < 0)
		return -1;
	if (wait_frozen(&f, err) == 0)
		return 0;
	/* Never leave a container half frozen: a later resume could not tell. */
	struct hull_err ignored = {0};
	request(&f, false, &ignored);
	hull_err_clear(&ignored);
	return -1;
}

bool cgroup_is_frozen(const struct cgroup *cg)
{
	struct hull_err ignored = {0};
	struct freezer f;
	int r = pick(cg, &f, &ignored) < 0 ? 0 : read_frozen(&f, &ignored);
	hull_err_clear(&ignored);
	return r > 0;
}
