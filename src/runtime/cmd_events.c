/* hull events [--stats] [--interval 5s] ID: the container's resource use as runc prints
 * it, one JSON object a line: a stats object every interval and an oom object whenever
 * the kernel OOM-kills a process of the container, until the container stops. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "runtime.h"

/* What the loop needs, taken from the container's state so that its lock can go: a
 * long `events` must not hold off `delete`. */
struct watch {
	const char *id;
	struct cgroup *cg;
	struct container_state st; /* pid and pid_start only */
	int pidfd;		   /* the init, or -1 (before 5.3: we check on each wake) */
};

static int watch_open(const struct hull_globals *g, const char *id, struct watch *w,
		      struct hull_err *err)
{
	*w = (struct watch){.id = id, .pidfd = -1};
	struct container c;
	int r = container_open(g, id, false, &c, err);
	if (r == 0 && strcmp(container_status(&c), "stopped") == 0)
		r = container_not_running("watch", id, err);
	if (r == 0 && c.st.cgroup == NULL)
		r = hull_error(err, 0, "container %s has no cgroup", id);
	if (r == 0 && (w->cg = cgroup_open(c.st.cgroup, err)) == NULL)
		r = -1;
	if (r == 0) {
		w->st.pid = c.st.pid;
		w->st.pid_start = c.st.pid_start;
		w->pidfd = (int)syscall(SYS_pidfd_open, c.st.pid, 0);
	}
	container_close(&c);
	return r;
}

static void watch_close(struct watch *w)
{
	cgroup_free(w->cg);
	if (w->pidfd >= 0)
		close(w->pidfd);
}

static void emit(char *json)
{
	printf("%s\n", json);
	/* Whoever reads us wants each event as it happens, not when a buffer fills. */
	fflush(stdout);
	free(json);
}

static int print_stats(const struct watch *w, struct hull_err *err)
{
	struct cgroup_stats s;
	if (cgroup_stats(w->cg, &s, err) < 0)
		return -1;
	emit(events_stats_json(w->id, &s));
	cgroup_stats_free(&s);
	return 0;
}

struct oom_state {
	int fd;		/* cgroup_oom_watch, or -1: stats only */
	bool counted;	/* the kernel counts OOM kills */
	uint64_t kills; /* as last seen */
};

static void oom_open(const struct watch *w, struct oom_state *o)
{
	struct hull_err ignored = {0};
	o->fd = cgroup_oom_watch(w->cg, &ignored);
	o->counted = cgroup_oom_count(w->cg, &o->kills, &ignored) == 0;
	hull_err_clear(&ignored);
}

/* One oom object per look that finds new kills. Without a count (v1 before 4.13) every
 * wake of the eventfd is an OOM, except the one the kernel sends when the cgroup goes. */
static void oom_report(const struct watch *w, struct oom_state *o, bool woken, bool alive)
{
	char buf[4096];
	while (woken && read(o->fd, buf, sizeof buf) > 0)
		;
	uint64_t now = 0;
	struct hull_err ignored = {0};
	bool counted = o->counted && cgroup_oom_count(w->cg, &now, &ignored) == 0;
	hull_err_clear(&ignored);
	if ((counted && now > o->kills) || (!o->counted && woken && alive))
		emit(events_oom_json(w->id));
	if (counted)
		o->kills = now;
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Stats now and every interval; an init that exits ends it (exit status 0, as runc). */
static int event_loop(const struct watch *w, long long interval_ms, struct hull_err *err)
{
	struct oom_state o;
	oom_open(w, &o);
	_cleanup_close_ int oom_fd = o.fd;
	for (long long next = now_ms();;) {
		bool alive = state_pid_alive(&w->st);
		if (alive && now_ms() >= next) {
			/* The cgroup can go between our check and the read: that is a stop. */
			if (print_stats(w, err) < 0)
				return state_pid_alive(&w->st) ? -1 : 0;
			next += interval_ms;
		}
		long long wait = alive ? next - now_ms() : 0;
		struct pollfd p[2] = {{.fd = oom_fd, .events = POLLIN},
				      {.fd = w->pidfd, .events = POLLIN}};
		if (alive && poll(p, 2, wait > 0 ? (int)wait : 0) < 0 && errno != EINTR)
			return hull_error(err, errno, "events: poll");
		oom_report(w, &o, p[0].revents != 0, alive);
		if (!alive || p[1].revents != 0)
			return 0;
	}
}

int cmd_events(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	bool once = false;
	const char *interval = "5s";
	const struct cli_opt opts[] = {
	    {"stats", 0, CLI_FLAG, &once},
	    {"interval", 0, CLI_STRING, &interval},
	    {0},
	};
	int first;
	long long ms;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("events", argc, argv, first, 1, "container id", err) < 0)
		return -1;
	if (units_duration_ms(interval, &ms, err) < 0)
		return hull_error_wrap(err, "events: --interval");
	struct watch w;
	int r = watch_open(g, argv[first], &w, err);
	if (r == 0)
		r = once ? print_stats(&w, err) : event_loop(&w, ms, err);
	watch_close(&w);
	return r;
}
