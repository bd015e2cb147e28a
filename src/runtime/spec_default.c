/* The config.json `hull spec` writes: the same starting point `runc spec` gives, so
 * bundles and tutorials made for runc work unchanged. */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "common/json.h"
#include "spec.h"

struct default_mount {
	const char *destination, *type, *source;
	const char *options[8];
};

static const struct default_mount default_mounts[] = {
    {"/proc", "proc", "proc", {NULL}},
    {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k", NULL}},
    {"/dev/pts",
     "devpts",
     "devpts",
     {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL}},
    {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL}},
    {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev", NULL}},
    {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro", NULL}},
    {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro", NULL}},
};

/* Without privilege sysfs cannot be mounted fresh; the host's is bound instead. */
static const struct default_mount rootless_sys = {
    "/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro", NULL}};

static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
					   NULL};

static void gen_strings(yajl_gen g, const char *key, const char *const *items, bool rootless)
{
	json_key(g, key);
	yajl_gen_array_open(g);
	for (; *items != NULL; items++)
		/* An unprivileged user cannot own files by ids outside its single mapping. */
		if (!rootless ||
		    (strncmp(*items, "uid=", 4) != 0 && strncmp(*items, "gid=", 4) != 0))
			json_str(g, *items);
	yajl_gen_array_close(g);
}

static void gen_process(yajl_gen g)
{
	static const char *const args[] = {"sh", NULL};
	static const char *const env[] = {
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
	    NULL};
	json_key(g, "process");
	yajl_gen_map_open(g);
	json_key_bool(g, "terminal", 1);
	json_key(g, "user");
	yajl_gen_map_open(g);
	json_key_int(g, "uid", 0);
	json_key_int(g, "gid", 0);
	yajl_gen_map_close(g);
	gen_strings(g, "args", args, false);
	gen_strings(g, "env", env, false);
	json_key_str(g, "cwd", "/");
	json_key(g, "capabilities");
	yajl_gen_map_open(g);
	gen_strings(g, "bounding", default_caps, false);
	gen_strings(g, "effective", default_caps, false);
	gen_strings(g, "permitted", default_caps, false);
	/* As runc 1.1.5's template. Without them in inheritable the kernel keeps none of them
	 * ambient (capabilities(7)), so a root process runs the same; it is what a user who
	 * adds inheritable ones expects to find there. */
	gen_strings(g, "ambient", default_caps, false);
	yajl_gen_map_close(g);
	json_key(g, "rlimits");
	yajl_gen_array_open(g);
	yajl_gen_map_open(g);
	json_key_str(g, "type", "RLIMIT_NOFILE");
	json_key_int(g, "hard", 1024);
	json_key_int(g, "soft", 1024);
	yajl_gen_map_close(g);
	yajl_gen_array_close(g);
	json_key_bool(g, "noNewPrivileges", 1);
	yajl_gen_map_close(g);
}

static void gen_mount(yajl_gen g, const struct default_mount *m, bool rootless)
{
	yajl_gen_map_open(g);
	json_key_str(g, "destination", m->destination);
	json_key_str(g, "type", m->type);
	json_key_str(g, "source", m->source);
	if (m->options[0] != NULL)
		gen_strings(g, "options", m->options, rootless);
	yajl_gen_map_close(g);
}

static void gen_mounts(yajl_gen g, bool rootless)
{
	json_key(g, "mounts");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < sizeof default_mounts / sizeof default_mounts[0]; i++) {
		const struct default_mount *m = &default_mounts[i];
		if (rootless && strcmp(m->destination, "/sys") == 0)
			m = &rootless_sys;
		gen_mount(g, m, rootless);
	}
	yajl_gen_array_close(g);
}

static void gen_id_map(yajl_gen g, const char *key, unsigned host_id)
{
	json_key(g, key);
	yajl_gen_array_open(g);
	yajl_gen_map_open(g);
	json_key_int(g, "containerID", 0);
	json_key_int(g, "hostID", host_id);
	json_key_int(g, "size", 1);
	yajl_gen_map_close(g);
	yajl_gen_array_close(g);
}

static void gen_namespaces(yajl_gen g, bool rootless)
{
	static const char *const privileged[] = {"pid",	  "network", "ipc", "uts",
						 "mount", "cgroup",  NULL};
	static const char *const unprivileged[] = {"pid", "ipc", "uts", "mount", "user", NULL};
	json_key(g, "namespaces");
	yajl_gen_array_open(g);
	for (const char *const *ns = rootless ? unprivileged : privileged; *ns != NULL; ns++) {
		yajl_gen_map_open(g);
		json_key_str(g, "type", *ns);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}

static void gen_linux(yajl_gen g, bool rootless)
{
	static const char *const masked[] = {"/proc/acpi",
					     "/proc/asound",
					     "/proc/kcore",
					     "/proc/keys",
					     "/proc/latency_stats",
					     "/proc/timer_list",
					     "/proc/timer_stats",
					     "/proc/sched_debug",
					     "/sys/firmware",
					     "/proc/scsi",
					     NULL};
	static const char *const readonly[] = {
	    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};
	json_key(g, "linux");
	yajl_gen_map_open(g);
	if (rootless) {
		gen_id_map(g, "uidMappings", (unsigned)getuid());
		gen_id_map(g, "gidMappings", (unsigned)getgid());
	} else {
		/* Deny every device by default; the runtime adds the standard ones. */
		json_key(g, "resources");
		yajl_gen_map_open(g);
		json_key(g, "devices");
		yajl_gen_array_open(g);
		yajl_gen_map_open(g);
		json_key_bool(g, "allow", 0);
		json_key_str(g, "access", "rwm");
		yajl_gen_map_close(g);
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	gen_namespaces(g, rootless);
	gen_strings(g, "maskedPaths", masked, false);
	gen_strings(g, "readonlyPaths", readonly, false);
	yajl_gen_map_close(g);
}

char *spec_default_config(bool rootless, struct hull_err *err)
{
	(void)err; /* building from constants cannot fail; allocation failure aborts */
	yajl_gen g = json_gen_new(1);
	yajl_gen_map_open(g);
	json_key_str(g, "ociVersion", "1.2.0");
	gen_process(g);
	json_key(g, "root");
	yajl_gen_map_open(g);
	json_key_str(g, "path", "rootfs");
	json_key_bool(g, "readonly", 1);
	yajl_gen_map_close(g);
	json_key_str(g, "hostname", "hull");
	gen_mounts(g, rootless);
	gen_linux(g, rootless);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}
