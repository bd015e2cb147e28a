/* cgroup statistics: parsing canned interface files of v1 and v2 hosts, runc's events
 * JSON, runc's value formats; then freeze, stats and the OOM watch on a real cgroup of
 * this host (needs root). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "cgroups/layout.h"
#include "cgroups/statfile.h"
#include "common/cleanup.h"
#include "runtime/runtime.h"
#include "unit.h"

/* ---- canned files ---- */

static const char V2_CPU_STAT[] = "usage_usec 1234567\n"
				  "user_usec 1000000\n"
				  "system_usec 234567\n"
				  "core_sched.force_idle_usec 0\n"
				  "nr_periods 10\n"
				  "nr_throttled 3\n"
				  "throttled_usec 4500\n"
				  "nr_bursts 0\n"
				  "burst_usec 0\n";

static const char V1_MEMORY_STAT[] = "cache 8192\n"
				     "rss 49152\n"
				     "rss_huge 0\n"
				     "hierarchical_memory_limit 9223372036854771712\n"
				     "total_cache 8192\n";

static const char V2_MEMORY_EVENTS[] = "low 0\nhigh 0\nmax 17\noom 2\noom_kill 1\n"
				       "oom_group_kill 0\n";

static const char V1_OOM_CONTROL[] = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";

static void test_parse_u64(void)
{
	uint64_t v = 7;
	CHECK(cgroup_parse_u64("123\n", &v) == 0 && v == 123);
	CHECK(cgroup_parse_u64("max\n", &v) == 0 && v == UINT64_MAX);
	CHECK(cgroup_parse_u64("9223372036854771712\n", &v) == 0 && v == 9223372036854771712ULL);
	CHECK(cgroup_parse_u64("0", &v) == 0 && v == 0);
	v = 7;
	CHECK(cgroup_parse_u64("-1\n", &v) < 0 && v == 7);
	CHECK(cgroup_parse_u64("", &v) < 0);
	CHECK(cgroup_parse_u64("maxi\n", &v) < 0);
	CHECK(cgroup_parse_u64("12 34\n", &v) < 0);
	CHECK(cgroup_parse_u64("99999999999999999999999\n", &v) < 0);
}

static void test_kv_get(void)
{
	uint64_t v = 0;
	CHECK(cgroup_kv_get(V2_CPU_STAT, "usage_usec", &v) && v == 1234567);
	CHECK(cgroup_kv_get(V2_CPU_STAT, "throttled_usec", &v) && v == 4500);
	CHECK(cgroup_kv_get(V2_CPU_STAT, "core_sched.force_idle_usec", &v) && v == 0);
	CHECK(!cgroup_kv_get(V2_CPU_STAT, "usage", &v));
	CHECK(!cgroup_kv_get(V2_CPU_STAT, "burst", &v));
	/* "max" in memory.events is a key, not oom's prefix; keys match whole */
	CHECK(cgroup_kv_get(V2_MEMORY_EVENTS, "max", &v) && v == 17);
	CHECK(cgroup_kv_get(V2_MEMORY_EVENTS, "oom", &v) && v == 2);
	CHECK(cgroup_kv_get(V2_MEMORY_EVENTS, "oom_kill", &v) && v == 1);
	CHECK(cgroup_kv_get(V1_OOM_CONTROL, "oom_kill", &v) && v == 3);
	CHECK(cgroup_kv_get("populated 1\nfrozen 1", "frozen", &v) && v == 1);
	CHECK(!cgroup_kv_get("", "x", &v));
	CHECK(!cgroup_kv_get("x\n", "x", &v));
	CHECK(!cgroup_kv_get("x y\n", "x", &v));
	CHECK(!cgroup_kv_get("x 1 2\n", "x", &v));
}

static void test_kv_all(void)
{
	struct arena a = {0};
	struct cgroup_stat_kv *kv = NULL;
	size_t n = cgroup_kv_all(V1_MEMORY_STAT, &a, &kv);
	CHECK(n == 5);
	if (n == 5) {
		CHECK_STR(kv[0].key, "cache");
		CHECK(kv[0].value == 8192);
		CHECK_STR(kv[3].key, "hierarchical_memory_limit");
		CHECK(kv[3].value == 9223372036854771712ULL);
		CHECK_STR(kv[4].key, "total_cache");
	}
	/* a line that does not parse is skipped, not the rest */
	n = cgroup_kv_all("a 1\nbad\nb x\nc 3", &a, &kv);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(kv[0].key, "a");
		CHECK_STR(kv[1].key, "c");
		CHECK(kv[1].value == 3);
	}
	CHECK(cgroup_kv_all("", &a, &kv) == 0 && kv == NULL);
	arena_free(&a);
}

static void test_u64_list(void)
{
	struct arena a = {0};
	uint64_t *v = NULL;
	size_t n = cgroup_u64_list("4203524 0 17 \n", &a, &v);
	CHECK(n == 3);
	if (n == 3)
		CHECK(v[0] == 4203524 && v[1] == 0 && v[2] == 17);
	CHECK(cgroup_u64_list("\n", &a, &v) == 0);
	arena_free(&a);
}

static void test_cpu_list(void)
{
	struct arena a = {0};
	uint64_t *v = NULL;
	size_t n = 0;
	CHECK(cgroup_cpu_list("0-2,5,7-8\n", &a, &v, &n) == 0 && n == 6);
	if (n == 6)
		CHECK(v[0] == 0 && v[2] == 2 && v[3] == 5 && v[4] == 7 && v[5] == 8);
	CHECK(cgroup_cpu_list("\n", &a, &v, &n) == 0 && n == 0);
	CHECK(cgroup_cpu_list("1", &a, &v, &n) == 0 && n == 1 && v[0] == 1);
	CHECK(cgroup_cpu_list("3-1", &a, &v, &n) < 0);
	CHECK(cgroup_cpu_list("0-", &a, &v, &n) < 0);
	CHECK(cgroup_cpu_list("0,,1", &a, &v, &n) < 0);
	CHECK(cgroup_cpu_list("x", &a, &v, &n) < 0);
	CHECK(cgroup_cpu_list("0-99999999", &a, &v, &n) < 0);
	arena_free(&a);
}

/* ---- runc's JSON ---- */

static void test_stats_json(void)
{
	struct cgroup_stat_kv raw[] = {{"rss", 4096}, {"cache", 8192}, {"active_anon", 1}};
	uint64_t percpu[] = {10, 20};
	struct cgroup_stats s = {0};
	s.cpu.total = 30;
	s.cpu.percpu = percpu;
	s.cpu.n_percpu = 2;
	s.cpu.user = 5;
	s.memory.usage = (struct cgroup_mem_entry){.usage = 100, .limit = UINT64_MAX};
	s.memory.cache = 8192;
	s.memory.raw = raw;
	s.memory.n_raw = 3;
	s.pids.current = 2;
	s.pids.limit = UINT64_MAX;
	char *j = events_stats_json("c1", &s);
	CHECK_STR(j, "{\"type\":\"stats\",\"id\":\"c1\",\"data\":{"
		     "\"cpu\":{\"usage\":{\"total\":30,\"percpu\":[10,20],\"kernel\":0,\"user\":5},"
		     "\"throttling\":{}},"
		     "\"cpuset\":{\"cpu_exclusive\":0,\"mem_hardwall\":0,\"mem_exclusive\":0,"
		     "\"memory_migrate\":0,\"memory_spread_page\":0,\"memory_spread_slab\":0,"
		     "\"memory_pressure\":0,\"sched_load_balance\":0,"
		     "\"sched_relax_domain_level\":0},"
		     "\"memory\":{\"cache\":8192,"
		     "\"usage\":{\"limit\":18446744073709551615,\"usage\":100,\"failcnt\":0},"
		     "\"swap\":{\"limit\":0,\"failcnt\":0},\"kernel\":{\"limit\":0,\"failcnt\":0},"
		     "\"kernelTCP\":{\"limit\":0,\"failcnt\":0},"
		     "\"raw\":{\"active_anon\":1,\"cache\":8192,\"rss\":4096}},"
		     "\"pids\":{\"current\":2},\"blkio\":{},\"hugetlb\":{},"
		     "\"intel_rdt\":{},\"network_interfaces\":null}}");
	free(j);
	s.pids.limit = 100;
	s.cpu.throttled_periods = 4;
	j = events_stats_json("c1", &s);
	CHECK_CONTAINS(j, "\"pids\":{\"current\":2,\"limit\":100}");
	CHECK_CONTAINS(j, "\"throttling\":{\"throttledPeriods\":4}");
	free(j);
	uint64_t cpus[] = {0, 1}, mems[] = {0};
	s.cpuset = (struct cgroup_cpuset){.cpus = cpus,
					  .n_cpus = 2,
					  .mems = mems,
					  .n_mems = 1,
					  .sched_load_balance = 1,
					  .sched_relax_domain_level = -1};
	j = events_stats_json("c1", &s);
	CHECK_CONTAINS(j, "\"cpuset\":{\"cpus\":[0,1],\"cpu_exclusive\":0,\"mems\":[0],"
			  "\"mem_hardwall\":0,\"mem_exclusive\":0,\"memory_migrate\":0,"
			  "\"memory_spread_page\":0,\"memory_spread_slab\":0,"
			  "\"memory_pressure\":0,\"sched_load_balance\":1,"
			  "\"sched_relax_domain_level\":-1},\"memory\":");
	free(j);
	j = events_oom_json("c1");
	CHECK_STR(j, "{\"type\":\"oom\",\"id\":\"c1\"}");
	free(j);
}

/* ---- runc's value formats ---- */

static void test_duration(void)
{
	struct hull_err err = {0};
	long long ms = 0;
	CHECK(units_duration_ms("5s", &ms, &err) == 0 && ms == 5000);
	CHECK(units_duration_ms("500ms", &ms, &err) == 0 && ms == 500);
	CHECK(units_duration_ms("1m30s", &ms, &err) == 0 && ms == 90000);
	CHECK(units_duration_ms("1.5h", &ms, &err) == 0 && ms == 5400000);
	CHECK(units_duration_ms("1500us", &ms, &err) == 0 && ms == 2);
	CHECK(units_duration_ms("2000000ns", &ms, &err) == 0 && ms == 2);
	CHECK(units_duration_ms("5", &ms, &err) < 0);
	CHECK_CONTAINS(err.msg, "\"5\"");
	CHECK(units_duration_ms("0s", &ms, &err) < 0);
	CHECK(units_duration_ms("", &ms, &err) < 0);
	CHECK(units_duration_ms("-5s", &ms, &err) < 0);
	CHECK(units_duration_ms("5x", &ms, &err) < 0);
	CHECK(units_duration_ms("1.2.3s", &ms, &err) < 0);
	hull_err_clear(&err);
}

static void test_bytes(void)
{
	struct hull_err err = {0};
	int64_t v = 0;
	CHECK(units_bytes("33554432", &v, &err) == 0 && v == 33554432);
	CHECK(units_bytes("-1", &v, &err) == 0 && v == -1);
	CHECK(units_bytes("512k", &v, &err) == 0 && v == 512 * 1024);
	CHECK(units_bytes("32m", &v, &err) == 0 && v == 32 << 20);
	CHECK(units_bytes("32M", &v, &err) == 0 && v == 32 << 20);
	CHECK(units_bytes("64MiB", &v, &err) == 0 && v == 64 << 20);
	CHECK(units_bytes("64mb", &v, &err) == 0 && v == 64 << 20);
	CHECK(units_bytes("1.5g", &v, &err) == 0 && v == 3LL << 29);
	CHECK(units_bytes("2 t", &v, &err) == 0 && v == 2LL << 40);
	CHECK(units_bytes("10b", &v, &err) == 0 && v == 10);
	CHECK(units_bytes("", &v, &err) < 0);
	CHECK(units_bytes("m", &v, &err) < 0);
	CHECK(units_bytes("12x", &v, &err) < 0);
	CHECK(units_bytes("-2", &v, &err) < 0);
	CHECK(units_bytes("1e6", &v, &err) < 0);
	CHECK(units_bytes("99999p", &v, &err) < 0);
	CHECK_CONTAINS(err.msg, "99999p");
	hull_err_clear(&err);
}

/* ---- a real cgroup ---- */

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p && p[1] ? p[2] : '?';
}

static void check_stats(const struct cgroup *cg)
{
	struct hull_err err = {0};
	struct cgroup_stats s;
	CHECK(cgroup_stats(cg, &s, &err) == 0);
	CHECK(s.has_pids && s.pids.current == 1);
	CHECK(s.has_memory && s.memory.usage.limit > 0);
	CHECK(s.has_cpu);
	CHECK(s.memory.n_raw > 0);
	uint64_t kills = 99;
	int r = cgroup_oom_count(cg, &kills, &err);
	CHECK((r == 0 && kills == 0) || err.code == ENOTSUP);
	if (r == 0)
		CHECK(s.has_oom_kills && s.oom_kills == 0);
	int fd = cgroup_oom_watch(cg, &err);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	cgroup_stats_free(&s);
	hull_err_clear(&err);
}

static void test_real_freeze_and_stats(void)
{
	struct hull_err err = {0};
	char rel[64];
	snprintf(rel, sizeof rel, "/hull-test-stats-%d/c", (int)getpid());
	struct cgroup *cg = cgroup_create(rel, "c", &err);
	CHECK(cg != NULL);
	if (cg == NULL) {
		printf("#   %s\n", hull_err_text(&err));
		hull_err_clear(&err);
		return;
	}
	pid_t child = spawn_sleeper();
	CHECK(cgroup_enter(cg, child, &err) == 0);
	CHECK(!cgroup_is_frozen(cg));
	CHECK(cgroup_freeze(cg, true, &err) == 0);
	CHECK(cgroup_is_frozen(cg));
	CHECK(proc_state(child) != 'R');
	check_stats(cg);
	CHECK(cgroup_freeze(cg, false, &err) == 0);
	CHECK(!cgroup_is_frozen(cg));
	CHECK(cgroup_freeze(cg, true, &err) == 0);
	/* destroy thaws a frozen cgroup before it kills; it removes both levels it made */
	CHECK(cgroup_destroy(cg, &err) == 0);
	int status = 0;
	CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status));
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	hull_err_clear(&err);
}

/* The cgroup2 code paths on any host with a cgroup2 mount (on a hybrid one, where the
 * v1 hierarchies would be chosen, by looking at the container's cgroup2 place alone). */
static void test_real_v2_only(void)
{
	struct hull_err err = {0};
	char rel[64];
	snprintf(rel, sizeof rel, "/hull-test-stats2-%d", (int)getpid());
	struct cgroup *cg = cgroup_create(rel, "c", &err);
	CHECK(cg != NULL);
	const struct cgroup_place *p2 = cg ? cgroup_v2_place(cg) : NULL;
	pid_t child = -1;
	if (p2 != NULL) {
		struct cgroup only = {.places = (struct cgroup_place *)p2, .n = 1};
		child = spawn_sleeper();
		CHECK(cgroup_enter(cg, child, &err) == 0);
		CHECK(cgroup_freeze(&only, true, &err) == 0);
		CHECK(cgroup_is_frozen(&only));
		CHECK(proc_state(child) != 'R');
		CHECK(cgroup_freeze(&only, false, &err) == 0);
		CHECK(!cgroup_is_frozen(&only));
		struct cgroup_stats s;
		CHECK(cgroup_stats(&only, &s, &err) == 0);
		/* cpu.stat's usage keys are there without the cpu controller */
		CHECK(s.has_cpu);
		cgroup_stats_free(&s);
	} else if (cg != NULL) {
		printf("# no cgroup2 hierarchy here\n");
	}
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	hull_err_clear(&err);
	if (cg != NULL)
		CHECK(cgroup_destroy(cg, &err) == 0);
	if (child > 0)
		waitpid(child, NULL, 0);
	hull_err_clear(&err);
}

int main(void)
{
	RUN(test_parse_u64);
	RUN(test_kv_get);
	RUN(test_kv_all);
	RUN(test_u64_list);
	RUN(test_cpu_list);
	RUN(test_stats_json);
	RUN(test_duration);
	RUN(test_bytes);
	if (geteuid() != 0 || access("/sys/fs/cgroup", F_OK) != 0) {
		printf("# skipping real cgroup tests: need root and a cgroup mount\n");
		return unit_done();
	}
	RUN(test_real_freeze_and_stats);
	RUN(test_real_v2_only);
	return unit_done();
}
