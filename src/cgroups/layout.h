/* Private to src/cgroups: the host's cgroup hierarchies, where a container goes in each,
 * and the saved form of that placement. Everything here but cgroup_layout_get() and
 * cgroup_read_text() is pure (text in, structs out), so unit tests can feed canned
 * /proc/self/mountinfo and /proc/self/cgroup text. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/arena.h"
#include "common/err.h"

/* One mounted hierarchy: a cgroup v1 mount (one per distinct mount, so co-mounted
 * controllers like "cpu,cpuacct" are one entry) or the cgroup2 mount. */
struct cgroup_hier {
	bool v2;
	char *controllers; /* v1: the subsystems from the super options, "cpu,cpuacct" or
			      "name=systemd" (also the key in the saved string); v2: "" */
	char *mount;	   /* mount point, "/sys/fs/cgroup/cpu,cpuacct" */
	char *root;	   /* the hierarchy path mounted there (mountinfo field 4), usually "/" */
	char *own;	   /* the caller's cgroup from /proc/self/cgroup, NULL if not listed */
	char *name;	   /* its directory under /sys/fs/cgroup: "cpu,cpuacct", "unified";
			      "" when the mount point is /sys/fs/cgroup itself */
};

struct cgroup_layout {
	struct arena arena; /* every string and the array below */
	struct cgroup_hier *h;
	size_t n;
	bool has_v1, has_v2;
};

/* Where one container's cgroup is in one hierarchy. */
struct cgroup_place {
	const struct cgroup_hier *h;
	char *rel;	  /* below the mount point, "/hull/abc" */
	char *dir;	  /* mount point + rel */
	unsigned created; /* how many trailing components of rel this container made */
};

/* The opaque struct cgroup of cgroups.h. */
struct cgroup {
	struct arena arena; /* places and every string */
	struct cgroup_place *places;
	size_t n;
	char *saved;
};

int cgroup_layout_parse(const char *mountinfo, const char *self_cgroup,
			struct cgroup_layout *layout, struct hull_err *err);
void cgroup_layout_free(struct cgroup_layout *layout);
/* "v1", "v2", "hybrid", or "none" when no cgroup filesystem is mounted. */
const char *cgroup_layout_kind(const struct cgroup_layout *layout);

/* This process's layout, parsed once and kept for the life of the process. */
const struct cgroup_layout *cgroup_layout_get(struct hull_err *err);

/* linux.cgroupsPath (NULL or "" = "/hull/<id>") to one place per hierarchy, allocated
 * in a; places[i] belongs to layout->h[i]. */
int cgroup_resolve(const struct cgroup_layout *layout, const char *cgroups_path, const char *id,
		   struct arena *a, struct cgroup_place **places, struct hull_err *err);

/* If spec is the systemd form "slice:prefix:name", the cgroupfs path systemd gives that
 * unit ("/system.slice/prefix-name.scope") in *out, and 1; 0 for any other path. */
int cgroup_systemd_path(struct arena *a, const char *spec, const char **out, struct hull_err *err);

/* The saved string: "*:<created>:<rel>" when every hierarchy has the same placement, else
 * "<controllers>:<created>:<rel>" per hierarchy joined by ';' (controllers "" for
 * cgroup2, as in /proc/self/cgroup), with '%' and ';' in rel written as %25 and %3B. */
char *cgroup_saved_format(const struct cgroup_place *places, size_t n, struct arena *a);
/* Places for the hierarchies of layout that saved names; entries for hierarchies this
 * host no longer mounts are skipped (nothing there to clean up). */
int cgroup_saved_parse(const struct cgroup_layout *layout, const char *saved, struct arena *a,
		       struct cgroup_place **places, size_t *n, struct hull_err *err);

/* The cgroup that a /proc/<pid>/cgroup text lists for h, as a path below h's mount point
 * ("" for the mount point itself), or NULL when it lists none there. */
const char *cgroup_proc_rel(const struct cgroup_hier *h, const char *proc_cgroup, struct arena *a);

/* h is a v1 hierarchy with this controller ("cpuset", "freezer", ...). */
bool cgroup_hier_has(const struct cgroup_hier *h, const char *controller);

/* Whole file, malloc'd and NUL-terminated. */
char *cgroup_read_text(const char *path, struct hull_err *err);

/* For the files of src/cgroups that act on a made cgroup (cgroup.c defines them). */
/* The place in the v1 hierarchy with controller, or NULL when no v1 hierarchy has it. */
const struct cgroup_place *cgroup_v1_place(const struct cgroup *cg, const char *controller);
/* The place in the cgroup2 hierarchy, or NULL when the host has none. */
const struct cgroup_place *cgroup_v2_place(const struct cgroup *cg);
/* dir/file into *text (malloc'd), or *text NULL when the file is not there (a controller
 * not enabled, a cgroup removed meanwhile); <0 only on other errors. */
int cgroup_read_at(const char *dir, const char *file, char **text, struct hull_err *err);
/* Write text to dir/file in one write(2), as cgroup files want. */
int cgroup_write_at(const char *dir, const char *file, const char *text, struct hull_err *err);
/* Thaw the container's cgroups, and every cgroup below them, in every freezer (v1 and
 * cgroup2). */
int cgroup_thaw(const struct cgroup *cg, struct hull_err *err);
