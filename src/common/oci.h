/* The OCI runtime config (runtime-spec 1.0-1.3, Linux) as typed C structs.
 * spec_load() in src/runtime/spec.c fills them once, validated; no other code reads JSON.
 * All memory belongs to spec->arena. Counts are n_<field>; every char ** array is also
 * NULL-terminated (args and env go to execve as they are). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arena.h"

struct oci_kv {
	char *key, *value;
};

struct oci_id_map {
	uint32_t container_id, host_id, size;
};

/* A mount with its options already sorted into what mount(2) and mount_setattr(2) take. */
struct oci_mount {
	char *destination; /* absolute path inside the container */
	char *type;	   /* may be NULL for bind mounts */
	char *source;	   /* absolute; a relative bind source is resolved against the bundle */
	char **options;	   /* as written, for reporting */
	size_t n_options;
	unsigned long flags;	   /* MS_* set by the options (MS_RDONLY, MS_NOSUID, ...) */
	unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, maybe |MS_REC */
	bool bind;		   /* bind or rbind */
	bool recursive;		   /* rbind */
	uint64_t attr_set; /* MOUNT_ATTR_* from r-options (rro, rnosuid, ...), applied with */
	uint64_t attr_clr; /*   mount_setattr(AT_RECURSIVE) */
	char *data;	   /* the options mount(2) does not know, comma-joined, or NULL */
	bool copy_up;	   /* tmpcopyup: a tmpfs starts with what the image has there */
};

struct oci_namespace {
	int type;   /* CLONE_NEWNS, CLONE_NEWPID, ... CLONE_NEWTIME */
	char *path; /* join this namespace instead of creating one, or NULL */
};

struct oci_device {
	char *path;
	char type; /* 'c', 'b', 'u' (unbuffered char, same as 'c') or 'p' */
	int64_t major, minor;
	mode_t file_mode;
	bool has_file_mode;
	uid_t uid;
	gid_t gid;
	bool has_uid, has_gid;
};

struct oci_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

/* Capability sets as bitmasks of CAP_* numbers (bit n = capability n). */
struct oci_caps {
	uint64_t bounding, effective, inheritable, permitted, ambient;
	/* Names libcap or the running kernel does not know, space-separated, each once; they
	 * are left out of the sets with a warning, as runc does. NULL when there are none. */
	char *unknown;
};

struct oci_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	int op; /* enum scmp_compare */
};

struct oci_seccomp_rule {
	char **names; /* unknown names are skipped at load time, as runc does */
	size_t n_names;
	uint32_t action; /* libseccomp action value, errno already folded in */
	struct oci_seccomp_arg *args;
	size_t n_args;
};

struct oci_seccomp {
	uint32_t default_action; /* libseccomp action value */
	uint32_t *architectures; /* SCMP_ARCH_* tokens */
	size_t n_architectures;
	unsigned flags; /* SECCOMP_FILTER_FLAG_* */
	char *listener_path;
	struct oci_seccomp_rule *rules;
	size_t n_rules;
};

struct oci_scheduler {
	int policy; /* SCHED_* */
	int nice, priority;
	uint64_t flags; /* SCHED_FLAG_* */
	uint64_t runtime, deadline, period;
};

struct oci_io_priority {
	int class; /* IOPRIO_CLASS_* */
	int priority;
};

struct oci_process {
	bool terminal;
	bool has_console_size;
	unsigned console_height, console_width;
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	bool has_umask;
	mode_t umask;
	char **args;
	size_t n_args;
	char **env;
	size_t n_env;
	char *cwd;
	bool has_caps; /* absent = drop every capability */
	struct oci_caps caps;
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	bool has_scheduler;
	struct oci_scheduler scheduler;
	bool has_io_priority;
	struct oci_io_priority io_priority;
	char *apparmor_profile, *selinux_label;
	/* Not from config.json: the runtime sets it to the container's id to have the process
	 * join the session keyring "_ses.<id>" (as runc does); NULL keeps the caller's
	 * (--no-new-keyring). */
	const char *keyring_id;
};

enum oci_hook_kind {
	HOOK_PRESTART,
	HOOK_CREATE_RUNTIME,
	HOOK_CREATE_CONTAINER,
	HOOK_START_CONTAINER,
	HOOK_POSTSTART,
	HOOK_POSTSTOP,
	HOOK_KIND_COUNT
};

struct oci_hook {
	char *path;
	char **args; /* NULL-terminated, may be NULL */
	size_t n_args;
	char **env; /* NULL-terminated, may be NULL */
	size_t n_env;
	int timeout; /* seconds, 0 = none */
};

struct oci_hook_list {
	struct oci_hook *hooks;
	size_t n;
};

struct oci_personality {
	bool present;
	unsigned long domain; /* PER_LINUX or PER_LINUX32 */
};

struct oci_time_offset {
	bool present;
	int64_t secs;
	uint32_t nanosecs;
};

/* An optional integer of linux.resources (unsigned fields fit: the kernel caps them). */
struct oci_int {
	bool set;
	int64_t v;
};

struct oci_device_rule { /* linux.resources.devices[] */
	bool allow;
	char type;	      /* 'a', 'c' or 'b' */
	int64_t major, minor; /* -1 = any */
	char access[4];	      /* subset of "rwm" */
};

struct oci_block_device { /* weightDevice[] and throttle*Device[] */
	int64_t major, minor;
	struct oci_int weight, leaf_weight; /* weightDevice */
	uint64_t rate;			    /* throttle*Device */
};

struct oci_hugepage_limit {
	char *page_size; /* "2MB", "1GB" */
	uint64_t limit;
};

struct oci_net_priority {
	char *name;
	uint32_t priority;
};

struct oci_rdma_limit {
	char *device;
	struct oci_int hca_handles, hca_objects;
};

struct oci_resources {
	/* From config.json: the config's rules, then an allow rule for each linux.devices
	 * node, then the standard /dev nodes (as runc adds them). From `update
	 * --resources`: the document's rules only. None: leave the device policy alone. */
	struct oci_device_rule *devices;
	size_t n_devices;
	struct {
		struct oci_int limit, reservation, swap, kernel, kernel_tcp, swappiness;
		bool disable_oom_killer, use_hierarchy, check_before_update;
		bool has_disable_oom_killer, has_use_hierarchy;
	} memory;
	struct {
		struct oci_int shares, quota, burst, period, realtime_runtime, realtime_period,
		    idle;
		char *cpus, *mems;
	} cpu;
	struct oci_int pids_limit;
	struct {
		struct oci_int weight, leaf_weight;
		struct oci_block_device *weight_device, *throttle_read_bps, *throttle_write_bps,
		    *throttle_read_iops, *throttle_write_iops;
		size_t n_weight_device, n_throttle_read_bps, n_throttle_write_bps,
		    n_throttle_read_iops, n_throttle_write_iops;
	} block_io;
	struct oci_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;
	struct {
		struct oci_int class_id;
		struct oci_net_priority *priorities;
		size_t n_priorities;
	} network;
	struct oci_rdma_limit *rdma;
	size_t n_rdma;
	struct oci_kv *unified; /* cgroup v2 file -> value */
	size_t n_unified;
};

struct oci_net_device { /* linux.netDevices (runtime-spec 1.2) */
	char *name;	/* the host interface */
	char *new_name; /* its name in the container, NULL = the same */
};

struct oci_linux {
	struct oci_namespace *namespaces;
	size_t n_namespaces;
	struct oci_id_map *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct oci_device *devices;
	size_t n_devices;
	char *cgroups_path; /* NULL = default */
	struct oci_kv *sysctl;
	size_t n_sysctl;
	unsigned long rootfs_propagation; /* MS_* | MS_REC, 0 = default */
	char **masked_paths, **readonly_paths;
	size_t n_masked_paths, n_readonly_paths;
	char *mount_label;
	struct oci_seccomp *seccomp; /* NULL = none */
	struct oci_personality personality;
	struct oci_time_offset time_monotonic, time_boottime;
	struct oci_net_device *net_devices;
	size_t n_net_devices;
	/* linux.resources; never NULL after spec_parse (see oci_resources.devices) */
	struct oci_resources *resources;
};

struct oci_spec {
	struct arena arena;
	char *oci_version;
	char *bundle;	 /* absolute */
	char *root_path; /* absolute */
	bool root_readonly;
	char *hostname, *domainname;
	struct oci_mount *mounts;
	size_t n_mounts;
	bool has_process;
	struct oci_process process;
	struct oci_hook_list hooks[HOOK_KIND_COUNT];
	struct oci_kv *annotations;
	size_t n_annotations;
	/* config.json's "linux" object. Not named `linux`: gcc's gnu modes predefine
	 * `linux` as 1. */
	struct oci_linux linux_cfg;
};

/* The namespace entry of the given CLONE_NEW* type, or NULL when not requested. */
const struct oci_namespace *oci_namespace(const struct oci_spec *spec, int type);
