/* Rules between sections of config.json: settings that only make sense, or are only safe,
 * with a namespace of their own. Run after every section has been read. */
#include <sched.h>
#include <string.h>

#include "spec_internal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static bool has_ns(struct spec_ctx *c, int type)
{
	return oci_namespace(c->spec, type) != NULL;
}

/* The UTS namespace holds the hostname; setting one in the host's would rename the host. */
static int check_uts(struct spec_ctx *c)
{
	if (has_ns(c, CLONE_NEWUTS))
		return 0;
	if (c->spec->hostname != NULL && c->spec->hostname[0] != '\0')
		return spec_fail(c, "", "hostname", "requires a new UTS namespace");
	if (c->spec->domainname != NULL && c->spec->domainname[0] != '\0')
		return spec_fail(c, "", "domainname", "requires a new UTS namespace");
	return 0;
}

static bool is_ipc_sysctl(const char *key)
{
	static const char *const ipc[] = {
	    "kernel.msgmax", "kernel.msgmnb",	       "kernel.msgmni",
	    "kernel.sem",    "kernel.shmall",	       "kernel.shmmax",
	    "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
	for (size_t i = 0; ipc[i] != NULL; i++)
		if (strcmp(key, ipc[i]) == 0)
			return true;
	return strncmp(key, "fs.mqueue.", 10) == 0;
}

/* /proc/sys is not namespaced as a whole: only these keys are, and only when the container
 * has the namespace; anything else would be written to the host's kernel. */
static int check_sysctl(struct spec_ctx *c, const char *key)
{
	int type;
	const char *what;
	if (strncmp(key, "net.", 4) == 0) {
		type = CLONE_NEWNET;
		what = "network";
	} else if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0) {
		type = CLONE_NEWUTS;
		what = "UTS";
	} else if (is_ipc_sysctl(key)) {
		type = CLONE_NEWIPC;
		what = "IPC";
	} else {
		return spec_fail(c, "linux", "sysctl",
				 "\"%s\" is not namespaced and would change the host", key);
	}
	if (!has_ns(c, type))
		return spec_fail(c, "linux", "sysctl", "\"%s\" requires a new %s namespace", key,
				 what);
	return 0;
}

static int check_userns(struct spec_ctx *c)
{
	const struct oci_linux *l = &c->spec->linux_cfg;
	const struct oci_namespace *user = oci_namespace(c->spec, CLONE_NEWUSER);
	if (user == NULL) {
		if (l->n_uid_mappings > 0)
			return spec_fail(c, "linux", "uidMappings", "requires a user namespace");
		if (l->n_gid_mappings > 0)
			return spec_fail(c, "linux", "gidMappings", "requires a user namespace");
		return 0;
	}
	/* A joined namespace brings its maps along; a new one is useless without them. */
	if (user->path != NULL)
		return 0;
	if (l->n_uid_mappings == 0)
		return spec_fail(c, "linux", "uidMappings", "required for a new user namespace");
	if (l->n_gid_mappings == 0)
		return spec_fail(c, "linux", "gidMappings", "required for a new user namespace");
	return 0;
}

static int check_timens(struct spec_ctx *c)
{
	const struct oci_linux *l = &c->spec->linux_cfg;
	if (!l->time_monotonic.present && !l->time_boottime.present)
		return 0;
	/* Offsets can be written only into a time namespace that no process has entered. */
	const struct oci_namespace *time = oci_namespace(c->spec, CLONE_NEWTIME);
	if (time == NULL || time->path != NULL)
		return spec_fail(c, "linux", "timeOffsets", "requires a new time namespace");
	return 0;
}

int spec_check_consistency(struct spec_ctx *c)
{
	if (check_uts(c) < 0 || check_userns(c) < 0 || check_timens(c) < 0)
		return -1;
	const struct oci_linux *l = &c->spec->linux_cfg;
	for (size_t i = 0; i < l->n_sysctl; i++)
		if (check_sysctl(c, l->sysctl[i].key) < 0)
			return -1;
	return 0;
}
