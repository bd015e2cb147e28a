/* hull: parse the global options, dispatch to one command, print the one error line. */
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_version.h>

#include "cli.h"
#include "common/log.h"
#include "netsetup/netsetup.h"
#include "runtime.h"

static const struct {
	const char *name;
	cmd_fn fn;
	bool spawns; /* starts container processes: must run from a sealed copy */
} commands[] = {
    {"create", cmd_create, true},  {"delete", cmd_delete, false},
    {"exec", cmd_exec, true},	   {"features", cmd_features, false},
    {"kill", cmd_kill, false},	   {"list", cmd_list, false},
    {"run", cmd_run, true},	   {"spec", cmd_spec, false},
    {"start", cmd_start, false},   {"state", cmd_state, false},
    {"events", cmd_events, false}, {"pause", cmd_pause, false},
    {"ps", cmd_ps, false},	   {"resume", cmd_resume, false},
    {"update", cmd_update, false}, {"image", cmd_image, false},
    {"net", cmd_net, false},
};

static void print_version(void)
{
	const struct scmp_version *sv = seccomp_version();
	int y = yajl_version();
	printf("hull version %s\nspec: 1.3.0\nlibseccomp: %u.%u.%u\nlibcap: %s\nyajl: %d.%d.%d\n",
	       HULL_VERSION, sv->major, sv->minor, sv->micro, LIBCAP_VERSION, y / 10000,
	       y / 100 % 100, y % 100);
}

static void print_usage(FILE *out)
{
	fputs("usage: hull [--root DIR] [--log FILE] [--log-format text|json] [--debug]\n"
	      "            [--systemd-cgroup] COMMAND [OPTIONS] [ARGS]\n"
	      "commands: create start run exec state kill delete list ps pause resume\n"
	      "          update events spec features image net\n"
	      "see hull(8) and hull-COMMAND(8)\n",
	      out);
}

static int fail(const struct hull_err *err)
{
	/* One line, always: a newline in an id or a file name must not split it. */
	char text[4096];
	snprintf(text, sizeof text, "%s", hull_err_text(err));
	for (char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = '?';
	log_msg(LOG_ERROR, "%s", text);
	/* runc's clients read the log file; a person reads stderr. */
	if (log_to_file())
		fprintf(stderr, "hull: %s\n", text);
	return 1;
}

int main(int argc, char **argv)
{
	struct hull_globals g = {.root = "/run/hull"};
	const char *log_format = "text", *criu = NULL, *rootless = NULL;
	bool version = false, help = false;
	const struct cli_opt opts[] = {
	    {"root", 0, CLI_STRING, &g.root},
	    {"log", 0, CLI_STRING, &g.log},
	    {"log-format", 0, CLI_STRING, &log_format},
	    {"debug", 0, CLI_FLAG, &g.debug},
	    {"systemd-cgroup", 0, CLI_FLAG, &g.systemd_cgroup},
	    {"version", 'v', CLI_FLAG, &version},
	    {"help", 'h', CLI_FLAG, &help},
	    /* runc's globals that orchestrators may pass; they change nothing in hull */
	    {"criu", 0, CLI_STRING, &criu},
	    {"rootless", 0, CLI_STRING, &rootless},
	    {0},
	};
	struct hull_err err = {0};
	int first;
	if (cli_parse(opts, argc, argv, &first, &err) < 0)
		return fail(&err);
	if (strcmp(log_format, "text") != 0 && strcmp(log_format, "json") != 0) {
		hull_error(&err, 0, "--log-format must be text or json, not \"%s\"", log_format);
		return fail(&err);
	}
	if (version) {
		print_version();
		return 0;
	}
	if (help || first >= argc) {
		print_usage(help ? stdout : stderr);
		return help ? 0 : 1;
	}
	g.log_json = strcmp(log_format, "json") == 0;
	const char *slash = strrchr(argv[0], '/');
	g.as_hull_vm = strcmp(slash ? slash + 1 : argv[0], "hull-vm") == 0;
	if (log_open(g.log, g.log_json, g.debug, &err) < 0)
		return fail(&err);
	const char *name = argv[first];
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		if (commands[i].spawns && selfclone_ensure(argv, &err) < 0)
			return fail(&err);
		int r = commands[i].fn(&g, argc - first, argv + first, &err);
		net_nat_release_sockets();
		return r < 0 ? fail(&err) : r;
	}
	hull_error(&err, 0, "unknown command \"%s\" (see hull --help)", name);
	return fail(&err);
}
