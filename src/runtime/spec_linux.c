/* config.json "linux": namespaces, id maps, devices, sysctl, paths, personality, time
 * offsets; linux.resources is in spec_resources.c, seccomp in spec_seccomp.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>

#include "namespaces/namespaces.h"
#include "spec_internal.h"

/* Typed arrays of objects share one loop: allocate, then parse each element. */
typedef int (*element_fn)(struct spec_ctx *c, yajl_val v, const char *path, void *out, size_t i);

static int parse_list(struct spec_ctx *c, yajl_val lin, const char *key, size_t size, element_fn fn,
		      void **out, size_t *n)
{
	yajl_val list = NULL;
	int r = spec_get_array(c, lin, "linux", key, &list);
	if (r <= 0)
		return r;
	*n = list->u.array.len;
	*out = arena_alloc(c->a, (*n + 1) * size);
	for (size_t i = 0; i < *n; i++) {
		char p[SPEC_PATH_MAX];
		spec_index(p, "linux", key, i);
		if (!YAJL_IS_OBJECT(list->u.array.values[i]))
			return spec_fail(c, p, NULL, "must be an object");
		if (fn(c, list->u.array.values[i], p, *out, i) < 0)
			return -1;
	}
	return 0;
}

static int namespace_element(struct spec_ctx *c, yajl_val v, const char *path, void *out, size_t i)
{
	struct oci_namespace *all = out, *ns = &all[i];
	char *type = NULL;
	if (spec_need(c, spec_get_string(c, v, path, "type", &type), path, "type") < 0)
		return -1;
	ns->type = ns_type_from_name(type);
	if (ns->type < 0)
		return spec_fail(c, path, "type", "unknown namespace type \"%s\"", type);
	for (size_t j = 0; j < i; j++)
		if (all[j].type == ns->type)
			return spec_fail(c, path, "type", "duplicate namespace \"%s\"", type);
	if (spec_get_abs(c, v, path, "path", &ns->path) < 0)
		return -1;
	return 0;
}

static int id_map_element(struct spec_ctx *c, yajl_val v, const char *path, void *out, size_t i)
{
	struct oci_id_map *m = (struct oci_id_map *)out + i;
	if (spec_need(c, spec_get_u32(c, v, path, "containerID", &m->container_id), path,
		      "containerID") < 0 ||
	    spec_need(c, spec_get_u32(c, v, path, "hostID", &m->host_id), path, "hostID") < 0 ||
	    spec_need(c, spec_get_u32(c, v, path, "size", &m->size), path, "size") < 0)
		return -1;
	if (m->size == 0)
		return spec_fail(c, path, "size", "must be greater than zero");
	return 0;
}

static int device_numbers(struct spec_ctx *c, yajl_val v, const char *path, struct oci_device *d)
{
	/* Numbers are meaningless for a FIFO; every other kind needs both. */
	int need = d->type != 'p';
	int r1 = spec_get_int(c, v, path, "major", 0, UINT32_MAX, &d->major);
	if (r1 < 0 || (need && spec_need(c, r1, path, "major") < 0))
		return -1;
	int r2 = spec_get_int(c, v, path, "minor", 0, UINT32_MAX, &d->minor);
	if (r2 < 0 || (need && spec_need(c, r2, path, "minor") < 0))
		return -1;
	return 0;
}

static int device_element(struct spec_ctx *c, yajl_val v, const char *path, void *out, size_t i)
{
	struct oci_device *d = (struct oci_device *)out + i;
	char *type = NULL;
	uint32_t mode = 0, uid = 0, gid = 0;
	if (spec_need(c, spec_get_abs(c, v, path, "path", &d->path), path, "path") < 0 ||
	    spec_need(c, spec_get_string(c, v, path, "type", &type), path, "type") < 0)
		return -1;
	if (strlen(type) != 1 || strchr("cbup", type[0]) == NULL)
		return spec_fail(c, path, "type", "must be one of \"c\", \"b\", \"u\", \"p\"");
	d->type = type[0];
	if (device_numbers(c, v, path, d) < 0)
		return -1;
	int rm = spec_get_u32(c, v, path, "fileMode", &mode);
	int ru = rm < 0 ? -1 : spec_get_u32(c, v, path, "uid", &uid);
	int rg = ru < 0 ? -1 : spec_get_u32(c, v, path, "gid", &gid);
	if (rg < 0)
		return -1;
	if (rm > 0 && mode > 0177777)
		return spec_fail(c, path, "fileMode", "must be a file mode (0 to 0177777)");
	/* Only the permission bits: the node's kind comes from "type". */
	d->has_file_mode = rm > 0;
	d->file_mode = rm > 0 ? (mode & 07777) : 0;
	d->has_uid = ru > 0;
	d->uid = ru > 0 ? uid : 0;
	d->has_gid = rg > 0;
	d->gid = rg > 0 ? gid : 0;
	return 0;
}

static int parse_propagation(struct spec_ctx *c, yajl_val lin)
{
	static const struct {
		const char *name;
		unsigned long flags;
	} table[] = {
	    {"shared", MS_SHARED},	   {"rshared", MS_SHARED | MS_REC},
	    {"slave", MS_SLAVE},	   {"rslave", MS_SLAVE | MS_REC},
	    {"private", MS_PRIVATE},	   {"rprivate", MS_PRIVATE | MS_REC},
	    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
	};
	char *name = NULL;
	int r = spec_get_string(c, lin, "linux", "rootfsPropagation", &name);
	if (r <= 0 || name[0] == '\0')
		return r < 0 ? -1 : 0;
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(table[i].name, name) == 0) {
			c->spec->linux_cfg.rootfs_propagation = table[i].flags;
			return 0;
		}
	return spec_fail(c, "linux", "rootfsPropagation", "unknown propagation \"%s\"", name);
}

static int parse_abs_paths(struct spec_ctx *c, yajl_val lin, const char *key, char ***out,
			   size_t *n)
{
	if (spec_get_strings(c, lin, "linux", key, out, n) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if ((*out)[i][0] != '/') {
			char p[SPEC_PATH_MAX];
			spec_index(p, "linux", key, i);
			return spec_fail(c, p, NULL, "must be an absolute path");
		}
	return 0;
}

static int parse_personality(struct spec_ctx *c, yajl_val lin)
{
	yajl_val v = NULL;
	char *domain = NULL;
	const char *path = "linux.personality";
	int r = spec_get_object(c, lin, "linux", "personality", &v);
	if (r <= 0)
		return r;
	if (spec_need(c, spec_get_string(c, v, path, "domain", &domain), path, "domain") < 0)
		return -1;
	struct oci_personality *per = &c->spec->linux_cfg.personality;
	if (strcmp(domain, "LINUX") == 0)
		per->domain = PER_LINUX;
	else if (strcmp(domain, "LINUX32") == 0)
		per->domain = PER_LINUX32;
	else
		return spec_fail(c, path, "domain", "unknown domain \"%s\"", domain);
	per->present = true;
	return 0;
}

static int parse_time_offset(struct spec_ctx *c, yajl_val v, const char *clock,
			     struct oci_time_offset *t)
{
	char path[SPEC_PATH_MAX];
	int64_t secs = 0, nsecs = 0;
	spec_join(path, "linux.timeOffsets", clock);
	if (!YAJL_IS_OBJECT(v))
		return spec_fail(c, path, NULL, "must be an object");
	if (spec_get_int(c, v, path, "secs", INT64_MIN, INT64_MAX, &secs) < 0 ||
	    spec_get_int(c, v, path, "nanosecs", 0, 999999999, &nsecs) < 0)
		return -1;
	*t = (struct oci_time_offset){.present = true, .secs = secs, .nanosecs = (uint32_t)nsecs};
	return 0;
}

static int parse_time_offsets(struct spec_ctx *c, yajl_val lin)
{
	yajl_val v = NULL;
	struct oci_linux *l = &c->spec->linux_cfg;
	int r = spec_get_object(c, lin, "linux", "timeOffsets", &v);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *clock = v->u.object.keys[i];
		struct oci_time_offset *t = strcmp(clock, "monotonic") == 0  ? &l->time_monotonic
					    : strcmp(clock, "boottime") == 0 ? &l->time_boottime
									     : NULL;
		/* The kernel offsets these two clocks only; anything else cannot be honoured. */
		if (t == NULL)
			return spec_fail(c, "linux.timeOffsets", clock, "unknown clock");
		if (parse_time_offset(c, v->u.object.values[i], clock, t) < 0)
			return -1;
	}
	return 0;
}

static int parse_lists(struct spec_ctx *c, yajl_val lin, struct oci_linux *l)
{
	if (parse_list(c, lin, "namespaces", sizeof(struct oci_namespace), namespace_element,
		       (void **)&l->namespaces, &l->n_namespaces) < 0 ||
	    parse_list(c, lin, "uidMappings", sizeof(struct oci_id_map), id_map_element,
		       (void **)&l->uid_mappings, &l->n_uid_mappings) < 0 ||
	    parse_list(c, lin, "gidMappings", sizeof(struct oci_id_map), id_map_element,
		       (void **)&l->gid_mappings, &l->n_gid_mappings) < 0 ||
	    parse_list(c, lin, "devices", sizeof(struct oci_device), device_element,
		       (void **)&l->devices, &l->n_devices) < 0)
		return -1;
	return 0;
}

/* linux.netDevices: {"HOSTNAME": {"name": "NAME IN THE CONTAINER"}, ...} */
static int parse_net_devices(struct spec_ctx *c, yajl_val lin, struct oci_linux *l)
{
	yajl_val v = NULL;
	int r = spec_get_object(c, lin, "linux", "netDevices", &v);
	if (r <= 0)
		return r;
	l->n_net_devices = v->u.object.len;
	l->net_devices = arena_alloc(c->a, (l->n_net_devices + 1) * sizeof *l->net_devices);
	for (size_t i = 0; i < l->n_net_devices; i++) {
		struct oci_net_device *d = &l->net_devices[i];
		char p[SPEC_PATH_MAX];
		const char *key = v->u.object.keys[i];
		spec_join(p, "linux.netDevices", key);
		if (*key == 0 || strlen(key) >= 16 || strchr(key, '/') != NULL)
			return spec_fail(c, p, NULL, "not an interface name");
		d->name = arena_strdup(c->a, key);
		yajl_val dev = v->u.object.values[i];
		if (!YAJL_IS_OBJECT(dev))
			return spec_fail(c, p, NULL, "must be an object");
		if (spec_get_string(c, dev, p, "name", &d->new_name) < 0)
			return -1;
		if (d->new_name && (*d->new_name == 0 || strlen(d->new_name) >= 16 ||
				    strchr(d->new_name, '/') != NULL))
			return spec_fail(c, p, "name", "not an interface name");
	}
	return 0;
}

static int parse_sections(struct spec_ctx *c, yajl_val lin, struct oci_linux *l)
{
	if (parse_lists(c, lin, l) < 0 ||
	    spec_get_string(c, lin, "linux", "cgroupsPath", &l->cgroups_path) < 0 ||
	    spec_parse_resources(c, lin) < 0 ||
	    spec_get_string_map(c, lin, "linux", "sysctl", &l->sysctl, &l->n_sysctl) < 0 ||
	    parse_propagation(c, lin) < 0 ||
	    parse_abs_paths(c, lin, "maskedPaths", &l->masked_paths, &l->n_masked_paths) < 0 ||
	    parse_abs_paths(c, lin, "readonlyPaths", &l->readonly_paths, &l->n_readonly_paths) <
		0 ||
	    spec_get_string(c, lin, "linux", "mountLabel", &l->mount_label) < 0 ||
	    spec_parse_seccomp(c, lin) < 0 || parse_personality(c, lin) < 0 ||
	    parse_time_offsets(c, lin) < 0 || parse_net_devices(c, lin, l) < 0)
		return -1;
	return 0;
}

int spec_parse_linux(struct spec_ctx *c, yajl_val doc)
{
	yajl_val lin = NULL;
	struct oci_linux *l = &c->spec->linux_cfg;
	int r = spec_get_object(c, doc, "", "linux", &lin);
	if (r < 0)
		return -1;
	/* Even without a "linux" object the container gets the standard device rules. */
	if (r > 0 && parse_sections(c, lin, l) < 0)
		return -1;
	spec_resources_imply_devices(c);
	return 0;
}
