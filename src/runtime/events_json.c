/* `hull events` objects in runc's JSON: {"type":"stats","id":ID,"data":{...}} with the
 * field names and order of runc's types/events.go, and Go's omitempty where runc asks for
 * it (a zero counter with omitempty is left out). blkio, hugetlb and intel_rdt are empty;
 * network_interfaces is null, as runc 1.1 prints it for any OCI bundle: it counts only
 * veths libcontainer made itself, which the runtime-spec cannot ask for. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups/cgroups.h"
#include "common/json.h"
#include "runtime.h"

static void gen_u64(yajl_gen g, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%" PRIu64, v);
	yajl_gen_number(g, buf, (size_t)n);
}

static void key_u64(yajl_gen g, const char *key, uint64_t v)
{
	json_key(g, key);
	gen_u64(g, v);
}

static void key_u64_opt(yajl_gen g, const char *key, uint64_t v)
{
	if (v != 0)
		key_u64(g, key, v);
}

static void key_list_opt(yajl_gen g, const char *key, const uint64_t *v, size_t n)
{
	if (n == 0)
		return;
	json_key(g, key);
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++)
		gen_u64(g, v[i]);
	yajl_gen_array_close(g);
}

static void gen_cpu(yajl_gen g, const struct cgroup_stats *s)
{
	json_key(g, "cpu");
	yajl_gen_map_open(g);
	json_key(g, "usage");
	yajl_gen_map_open(g);
	key_u64_opt(g, "total", s->cpu.total);
	key_list_opt(g, "percpu", s->cpu.percpu, s->cpu.n_percpu);
	key_list_opt(g, "percpu_kernel", s->cpu.percpu_kernel, s->cpu.n_percpu_kernel);
	key_list_opt(g, "percpu_user", s->cpu.percpu_user, s->cpu.n_percpu_user);
	key_u64(g, "kernel", s->cpu.kernel);
	key_u64(g, "user", s->cpu.user);
	yajl_gen_map_close(g);
	json_key(g, "throttling");
	yajl_gen_map_open(g);
	key_u64_opt(g, "periods", s->cpu.periods);
	key_u64_opt(g, "throttledPeriods", s->cpu.throttled_periods);
	key_u64_opt(g, "throttledTime", s->cpu.throttled_time);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

static void gen_cpuset(yajl_gen g, const struct cgroup_cpuset *c)
{
	json_key(g, "cpuset");
	yajl_gen_map_open(g);
	key_list_opt(g, "cpus", c->cpus, c->n_cpus);
	key_u64(g, "cpu_exclusive", c->cpu_exclusive);
	key_list_opt(g, "mems", c->mems, c->n_mems);
	key_u64(g, "mem_hardwall", c->mem_hardwall);
	key_u64(g, "mem_exclusive", c->mem_exclusive);
	key_u64(g, "memory_migrate", c->memory_migrate);
	key_u64(g, "memory_spread_page", c->memory_spread_page);
	key_u64(g, "memory_spread_slab", c->memory_spread_slab);
	key_u64(g, "memory_pressure", c->memory_pressure);
	key_u64(g, "sched_load_balance", c->sched_load_balance);
	json_key(g, "sched_relax_domain_level");
	yajl_gen_integer(g, (long long)c->sched_relax_domain_level);
	yajl_gen_map_close(g);
}

static void gen_entry(yajl_gen g, const char *key, const struct cgroup_mem_entry *e)
{
	json_key(g, key);
	yajl_gen_map_open(g);
	key_u64(g, "limit", e->limit);
	key_u64_opt(g, "usage", e->usage);
	key_u64_opt(g, "max", e->max);
	key_u64(g, "failcnt", e->failcnt);
	yajl_gen_map_close(g);
}

static int cmp_kv(const void *a, const void *b)
{
	const struct cgroup_stat_kv *const *x = a, *const *y = b;
	return strcmp((*x)->key, (*y)->key);
}

/* Go writes a map's keys sorted. */
static void gen_raw(yajl_gen g, const struct cgroup_stat_kv *kv, size_t n)
{
	const struct cgroup_stat_kv **sorted = n ? calloc(n, sizeof *sorted) : NULL;
	if (sorted == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		sorted[i] = &kv[i];
	qsort(sorted, n, sizeof *sorted, cmp_kv);
	json_key(g, "raw");
	yajl_gen_map_open(g);
	for (size_t i = 0; i < n; i++)
		key_u64(g, sorted[i]->key, sorted[i]->value);
	yajl_gen_map_close(g);
	free(sorted);
}

static void gen_memory(yajl_gen g, const struct cgroup_stats *s)
{
	json_key(g, "memory");
	yajl_gen_map_open(g);
	key_u64_opt(g, "cache", s->memory.cache);
	gen_entry(g, "usage", &s->memory.usage);
	gen_entry(g, "swap", &s->memory.swap);
	gen_entry(g, "kernel", &s->memory.kernel);
	gen_entry(g, "kernelTCP", &s->memory.kernel_tcp);
	gen_raw(g, s->memory.raw, s->memory.n_raw);
	yajl_gen_map_close(g);
}

/* runc reports pids.max "max" as no limit, 0, which omitempty then drops. */
static void gen_pids(yajl_gen g, const struct cgroup_stats *s)
{
	json_key(g, "pids");
	yajl_gen_map_open(g);
	key_u64_opt(g, "current", s->pids.current);
	key_u64_opt(g, "limit", s->pids.limit == UINT64_MAX ? 0 : s->pids.limit);
	yajl_gen_map_close(g);
}

static void empty_map(yajl_gen g, const char *key)
{
	json_key(g, key);
	yajl_gen_map_open(g);
	yajl_gen_map_close(g);
}

char *events_stats_json(const char *id, const struct cgroup_stats *s)
{
	yajl_gen g = json_gen_new(0);
	yajl_gen_map_open(g);
	json_key_str(g, "type", "stats");
	json_key_str(g, "id", id);
	json_key(g, "data");
	yajl_gen_map_open(g);
	gen_cpu(g, s);
	gen_cpuset(g, &s->cpuset);
	gen_memory(g, s);
	gen_pids(g, s);
	empty_map(g, "blkio");
	empty_map(g, "hugetlb");
	empty_map(g, "intel_rdt");
	json_key(g, "network_interfaces");
	yajl_gen_null(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

char *events_oom_json(const char *id)
{
	yajl_gen g = json_gen_new(0);
	yajl_gen_map_open(g);
	json_key_str(g, "type", "oom");
	json_key_str(g, "id", id);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}
