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
#include "spec.h"

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
	printf("hull version %s\nspec: %s\nlibseccomp: %u.%u.%u\nlibcap: %s\nyajl: %d.%d.%d\n",
	       HULL_VERSION, SPEC_OCI_VERSION, sv->major, sv->minor, sv->micro, LIBCAP_VERSION,
	       y / 10000, y / 100 % 100, y % 100);
}

static void print_usage(FILE *out)
{
	fputs("usage: hull [--root DIR] [--log FILE] [--log-format text|json] [--debug]\n"
	      "            [--systemd-cgroup] COMMAND [OPTIONS] [ARGS]\n"
	      "commands: create start run exec state kill delete list ps pause resume\n"
	      "          update events spec features image net help\n"
	      "see hull(8), hull-COMMAND(8) and hull COMMAND --help\n",
	      out);
}

/* `hull help [COMMAND [SUBCOMMAND]]`, as runc has it: `hull --help`, or COMMAND's
 * --help (into argv, which has room: argv[argc] is NULL). */
static int help_args(int *argc, char **argv, struct hull_err *err)
{
	static char help_opt[] = "--help";
	if (*argc == 1) {
		print_usage(stdout);
		return 1;
	}
	int sub = *argc > 2 && strcmp(argv[1], "image") == 0;
	if (*argc > 2 + sub)
		return hull_error(err, 0, "help: unexpected argument: %s", argv[2 + sub]);
	for (int i = 0; i <= sub; i++)
		argv[i] = argv[i + 1];
	argv[sub + 1] = help_opt;
	*argc = sub + 2;
	return 0;
}

/* The command at argv[first]; all of argv goes to the sealed copy's re-execution. */
static int dispatch(const struct hull_globals *g, int argc, char **all, int first,
		    struct hull_err *err)
{
	char **argv = all + first;
	argc -= first;
	cli_set_command(argv[0]);
	/* `image` parses no options of its own before its subcommand. */
	if (strcmp(argv[0], "image") == 0 && argc == 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return cli_help("image", NULL, err);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(commands[i].name, argv[0]) != 0)
			continue;
		if (commands[i].spawns && selfclone_ensure(all, err) < 0)
			return -1;
		int r = commands[i].fn(g, argc, argv, err);
		net_nat_release_sockets();
		return r;
	}
	return hull_error(err, 0, "unknown command \"%s\" (see hull --help)", argv[0]);
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
	if (strcmp(argv[first], "help") == 0) {
		int n = argc - first, r = help_args(&n, argv + first, &err);
		if (r != 0)
			return r < 0 ? fail(&err) : 0;
		argc = first + n;
	}
	int r = dispatch(&g, argc, argv, first, &err);
	if (r < 0 && cli_help_shown()) {
		cli_print_help(stdout);
		return 0;
	}
	return r < 0 ? fail(&err) : r;
}
