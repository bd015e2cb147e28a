/* Private to src/cgroups: parsing the text of cgroup interface files. Pure (text in,
 * numbers out) so unit tests feed canned file contents of v1 and v2 hosts. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroups.h"
#include "common/arena.h"

/* A single-value file ("123\n"); "max" (v2's no limit) is UINT64_MAX. -1 on anything
 * else, e.g. v1's "-1" or an empty file. */
int cgroup_parse_u64(const char *text, uint64_t *v);

/* The value of key in a flat keyed file of "key value" lines (cpu.stat, memory.stat,
 * memory.events, memory.oom_control, cpuacct.stat, cgroup.events); false when the key is
 * not there or its value is not a number. */
bool cgroup_kv_get(const char *text, const char *key, uint64_t *v);

/* Every "key value" line of text in order, into a; lines that do not parse are skipped.
 * Returns how many. */
size_t cgroup_kv_all(const char *text, struct arena *a, struct cgroup_stat_kv **out);

/* Numbers separated by blanks (cpuacct.usage_percpu), into a; returns how many. */
size_t cgroup_u64_list(const char *text, struct arena *a, uint64_t **out);

/* A cpuset list ("0-2,5\n", cpuset.cpus and cpuset.mems) expanded into numbers, into a;
 * an empty list is n 0. -1 when text is not such a list. */
int cgroup_cpu_list(const char *text, struct arena *a, uint64_t **out, size_t *n);
