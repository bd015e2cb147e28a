/* `hull features`: what this build supports, in the runtime-spec features.md format that
 * orchestrators read to decide what they may put in config.json. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "namespaces/namespaces.h"
#include "security/security.h"
#include "spec.h"

#ifndef HULL_VERSION
#define HULL_VERSION "unknown"
#endif

static void gen_names(yajl_gen g, const char *key, const char *const *names)
{
	json_key(g, key);
	yajl_gen_array_open(g);
	for (; *names != NULL; names++)
		/* Parsed (so the error can say "not supported yet") but not offered. */
		if (strcmp(*names, "SCMP_ACT_NOTIFY") != 0)
			json_str(g, *names);
	yajl_gen_array_close(g);
}

static void gen_enabled(yajl_gen g, const char *key, bool enabled)
{
	json_key(g, key);
	yajl_gen_map_open(g);
	json_key_bool(g, "enabled", enabled);
	yajl_gen_map_close(g);
}

/* A known flag is supported when libseccomp and the kernel both handle it; libseccomp's API
 * level reports the two together (seccomp_api_get(3)). */
static bool flag_supported(const char *name, unsigned api)
{
	static const struct {
		const char *name;
		unsigned api;
	} need[] = {
	    {"SECCOMP_FILTER_FLAG_TSYNC", 2},
	    {"SECCOMP_FILTER_FLAG_LOG", 3},
	    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4},
	    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 7},
	};
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (strcmp(need[i].name, name) == 0)
			return api >= need[i].api;
	return api >= 1;
}

static void gen_seccomp(yajl_gen g)
{
	unsigned api = seccomp_api_get();
	json_key(g, "seccomp");
	yajl_gen_map_open(g);
	json_key_bool(g, "enabled", 1);
	gen_names(g, "actions", sec_seccomp_action_names);
	gen_names(g, "operators", sec_seccomp_op_names);
	gen_names(g, "archs", sec_seccomp_arch_names);
	gen_names(g, "knownFlags", sec_seccomp_flag_names);
	json_key(g, "supportedFlags");
	yajl_gen_array_open(g);
	for (const char *const *f = sec_seccomp_flag_names; *f != NULL; f++)
		if (flag_supported(*f, api))
			json_str(g, *f);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

static void gen_linux(yajl_gen g)
{
	json_key(g, "linux");
	yajl_gen_map_open(g);
	gen_names(g, "namespaces", ns_names);
	gen_names(g, "capabilities", sec_cap_names());
	json_key(g, "cgroup");
	yajl_gen_map_open(g);
	json_key_bool(g, "v1", 1);
	json_key_bool(g, "v2", 1);
	json_key_bool(g, "systemd", 0);
	json_key_bool(g, "systemdUser", 0);
	yajl_gen_map_close(g);
	gen_seccomp(g);
	/* Labels are applied where the host runs that LSM (process.c). */
	gen_enabled(g, "apparmor", true);
	gen_enabled(g, "selinux", true);
	gen_enabled(g, "intelRdt", false);
	gen_enabled(g, "netDevices", true);
	json_key(g, "mountExtensions");
	yajl_gen_map_open(g);
	gen_enabled(g, "idmap", false);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

static char *features_json(void)
{
	static const char *const hooks[] = {"prestart",
					    "createRuntime",
					    "createContainer",
					    "startContainer",
					    "poststart",
					    "poststop",
					    NULL};
	yajl_gen g = json_gen_new(1);
	yajl_gen_map_open(g);
	json_key_str(g, "ociVersionMin", "1.0.0");
	json_key_str(g, "ociVersionMax", SPEC_OCI_VERSION);
	gen_names(g, "hooks", hooks);
	gen_names(g, "mountOptions", spec_mount_option_names);
	gen_linux(g);
	json_key(g, "annotations");
	yajl_gen_map_open(g);
	json_key_str(g, "org.hull.version", HULL_VERSION);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

int cmd_features(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	(void)g;
	const struct cli_opt opts[] = {{0}};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("features", argc, argv, first, 0, "", err) < 0)
		return -1;
	_cleanup_free_ char *text = features_json();
	if (printf("%s\n", text) < 0 || fflush(stdout) != 0)
		return hull_error(err, errno, "features: write to stdout");
	return 0;
}
