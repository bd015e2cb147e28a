/* Namespace names, joining by path, and the maps a parent writes for a new user namespace. */
#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	const char *name;
	int type;
} ns_table[] = {
    {"pid", CLONE_NEWPID},	 {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
    {"ipc", CLONE_NEWIPC},	 {"uts", CLONE_NEWUTS},	    {"user", CLONE_NEWUSER},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

const char *const ns_names[] = {"pid",	"network", "mount", "ipc", "uts",
				"user", "cgroup",  "time",  NULL};

int ns_type_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof ns_table / sizeof ns_table[0]; i++)
		if (strcmp(ns_table[i].name, name) == 0)
			return ns_table[i].type;
	return -1;
}

const char *ns_name(int type)
{
	for (size_t i = 0; i < sizeof ns_table / sizeof ns_table[0]; i++)
		if (ns_table[i].type == type)
			return ns_table[i].name;
	return "?";
}

int ns_join(const struct oci_namespace *ns, struct hull_err *err)
{
	_cleanup_close_ int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "linux.namespaces: %s: open %s", ns_name(ns->type),
				  ns->path);
	/* Passing the type makes the kernel refuse a file of another namespace kind. */
	if (setns(fd, ns->type) < 0)
		return hull_error(err, errno, "linux.namespaces: %s: join %s", ns_name(ns->type),
				  ns->path);
	return 0;
}

static int write_file(const char *path, const char *text, struct hull_err *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "open %s", path);
	size_t len = strlen(text);
	/* id maps must be written in one write(2): the kernel accepts a single write only. */
	if (write(fd, text, len) != (ssize_t)len)
		return hull_error(err, errno, "write %s", path);
	return 0;
}

static int format_map(const struct oci_id_map *map, size_t n, char *buf, size_t size)
{
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + used, size - used, "%u %u %u\n", map[i].container_id,
				 map[i].host_id, map[i].size);
		if (w < 0 || (size_t)w >= size - used)
			return -1;
		used += (size_t)w;
	}
	return 0;
}

static int write_map(pid_t pid, const char *file, const struct oci_id_map *map, size_t n,
		     struct hull_err *err)
{
	char path[64], text[4096];
	if (n == 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
	if (format_map(map, n, text, sizeof text) < 0)
		return hull_error(err, E2BIG, "linux.%s: too many mappings",
				  file[0] == 'u' ? "uidMappings" : "gidMappings");
	if (write_file(path, text, err) < 0)
		return hull_error_wrap(err, "linux.%s",
				       file[0] == 'u' ? "uidMappings" : "gidMappings");
	return 0;
}

int ns_write_id_maps(pid_t pid, const struct oci_spec *spec, struct hull_err *err)
{
	const struct oci_linux *l = &spec->linux_cfg;
	if (write_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, err) < 0)
		return -1;
	/* As root we keep setgroups allowed (the container may need additionalGids); an
	 * unprivileged writer must deny it first or the kernel refuses gid_map. */
	if (geteuid() != 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
		if (write_file(path, "deny", err) < 0)
			return -1;
	}
	return write_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err);
}

int ns_write_time_offsets(const struct oci_spec *spec, struct hull_err *err)
{
	char text[128];
	const struct oci_time_offset *mono = &spec->linux_cfg.time_monotonic,
				     *boot = &spec->linux_cfg.time_boottime;
	int used = 0;
	if (mono->present)
		used += snprintf(text + used, sizeof text - (size_t)used, "monotonic %lld %u\n",
				 (long long)mono->secs, mono->nanosecs);
	if (boot->present)
		used += snprintf(text + used, sizeof text - (size_t)used, "boottime %lld %u\n",
				 (long long)boot->secs, boot->nanosecs);
	if (used == 0)
		return 0;
	/* One write per clock: the kernel parses the offsets file line by line per write. */
	char *line = text;
	while (*line) {
		char *end = strchr(line, '\n');
		*end = '\0';
		if (write_file("/proc/self/timens_offsets", line, err) < 0)
			return hull_error_wrap(err, "linux.timeOffsets");
		line = end + 1;
	}
	return 0;
}
