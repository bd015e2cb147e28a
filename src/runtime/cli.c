#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What `hull CMD --help` says besides the options, which come from the command's table. */
static const struct {
	const char *name, *args, *summary;
} command_help[] = {
    {"create", "ID", "set up a container from a bundle, ready to start"},
    {"start", "ID", "run the program of a created container"},
    {"run", "ID [[--] COMMAND...]", "create and start a container in one step"},
    {"exec", "ID [--] COMMAND [ARG...]", "run a further process inside a container"},
    {"state", "ID", "print the state of a container"},
    {"kill", "ID [SIGNAL]", "send a signal to a container (default TERM)"},
    {"delete", "ID", "remove a container"},
    {"list", "", "list containers"},
    {"ps", "ID [PS OPTIONS...]", "list the processes of a container"},
    {"pause", "ID", "suspend every process of a container"},
    {"resume", "ID", "resume a paused container"},
    {"update", "ID", "change the resource limits of a container"},
    {"events", "ID", "print a container's resource use and OOM events"},
    {"spec", "", "write a default config.json"},
    {"features", "", "print what this build of hull supports"},
    {"image", "unpack|inspect|ls|rm|prune ...", "unpack, describe or manage images"},
    {"image unpack", "SOURCE BUNDLE", "unpack an image into a bundle"},
    {"image inspect", "SOURCE", "describe an image"},
    {"image ls", "", "list the images `run --image` keeps"},
    {"image rm", "IMAGE...", "remove kept images"},
    {"image prune", "", "remove kept layers no image uses"},
    {"net", "ls | inspect ID | prune", "show the networks of containers"},
};

static const char *current_command; /* as main dispatched it, e.g. "image" */
/* The help asked for, written out while the command's option table is in scope; main
 * prints it (cli_print_help). */
static struct {
	bool asked;
	char *text;
} help;

void cli_set_command(const char *name)
{
	current_command = name;
}

bool cli_help_shown(void)
{
	return help.asked;
}

void cli_print_help(FILE *out)
{
	if (help.text != NULL)
		fputs(help.text, out);
	free(help.text);
	help.text = NULL;
}

static void print_option(FILE *out, const struct cli_opt *opt)
{
	static const char *const value[] = {[CLI_FLAG] = "",
					    [CLI_STRING] = " VALUE",
					    [CLI_INT] = " N",
					    [CLI_STRINGS] = " VALUE..."};
	if (opt->short_name != 0)
		fprintf(out, "  -%c, --%s%s\n", opt->short_name, opt->name, value[opt->kind]);
	else
		fprintf(out, "  --%s%s\n", opt->name, value[opt->kind]);
}

static void write_help(FILE *out, const char *name, const struct cli_opt *opts)
{
	const char *args = NULL, *summary = NULL;
	size_t base = strcspn(name, " ");
	for (size_t i = 0; i < sizeof command_help / sizeof command_help[0]; i++) {
		if (strcmp(command_help[i].name, name) == 0)
			args = command_help[i].args;
		if (strcmp(command_help[i].name, name) == 0 ||
		    (summary == NULL && strlen(command_help[i].name) == base &&
		     strncmp(command_help[i].name, name, base) == 0))
			summary = command_help[i].summary;
	}
	bool any = opts != NULL && opts->name != NULL;
	fprintf(out, "usage: hull %s%s%s%s\n", name, any ? " [OPTIONS]" : "",
		args && args[0] ? " " : "", args ? args : "");
	if (summary != NULL)
		fprintf(out, "%s\n", summary);
	if (any)
		fputs("options:\n", out);
	for (const struct cli_opt *o = opts; any && o->name != NULL; o++)
		print_option(out, o);
	fprintf(out, "see hull-%.*s(8)\n", (int)base, name);
}

int cli_help(const char *name, const struct cli_opt *opts, struct hull_err *err)
{
	size_t len = 0;
	FILE *out = open_memstream(&help.text, &len);
	if (out == NULL)
		return hull_error(err, errno, "help");
	write_help(out, name, opts);
	fclose(out);
	help.asked = true;
	return hull_error(err, 0, "help asked for");
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-help") == 0 || strcmp(arg, "-h") == 0;
}

/* "image unpack" when main ran "image" and the subcommand parses its own options. */
static int help_for(const struct cli_opt *opts, const char *argv0, struct hull_err *err)
{
	char name[128];
	if (current_command != NULL && strcmp(current_command, argv0) != 0)
		snprintf(name, sizeof name, "%s %s", current_command, argv0);
	else
		snprintf(name, sizeof name, "%s", argv0);
	return cli_help(name, opts, err);
}

static const struct cli_opt *find_long(const struct cli_opt *opts, const char *name, size_t len)
{
	for (; opts->name != NULL; opts++)
		if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
			return opts;
	return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, char c)
{
	for (; opts->name != NULL; opts++)
		if (opts->short_name == c && c != 0)
			return opts;
	return NULL;
}

static int store(const struct cli_opt *opt, const char *value, struct hull_err *err)
{
	switch (opt->kind) {
	case CLI_FLAG:
		if (value != NULL && strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			return hull_error(err, 0, "--%s: takes no value", opt->name);
		*(bool *)opt->dest = value == NULL || strcmp(value, "true") == 0;
		return 0;
	case CLI_STRING:
		*(const char **)opt->dest = value;
		return 0;
	case CLI_INT: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno != 0 || *value == '\0' || *end != '\0' || v < 0 || v > 1 << 30)
			return hull_error(err, 0, "--%s: not a valid number: %s", opt->name, value);
		*(int *)opt->dest = (int)v;
		return 0;
	}
	case CLI_STRINGS: {
		struct cli_strings *list = opt->dest;
		const char **items = realloc(list->items, sizeof(char *) * (size_t)(list->n + 1));
		if (items == NULL)
			return hull_error(err, ENOMEM, "--%s", opt->name);
		items[list->n++] = value;
		list->items = items;
		return 0;
	}
	}
	return 0;
}

/* "-it": short flags run together, as docker and podman take them; only when every
 * letter is a flag (a long name such as -bundle was looked up first). */
static bool short_flags(const struct cli_opt *opts, const char *arg)
{
	for (const char *c = arg; *c; c++) {
		const struct cli_opt *opt = find_short(opts, *c);
		if (opt == NULL || opt->kind != CLI_FLAG)
			return false;
	}
	return arg[0] != '\0';
}

/* One argument starting with '-': returns how many argv entries it consumed, or -1. */
static int parse_one(const struct cli_opt *opts, int argc, char **argv, int i, struct hull_err *err)
{
	const char *arg = argv[i] + 1 + (argv[i][1] == '-');
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct cli_opt *opt = find_long(opts, arg, len);
	if (opt == NULL && argv[i][1] != '-' && len == 1)
		opt = find_short(opts, arg[0]);
	if (opt == NULL && argv[i][1] != '-' && eq == NULL && short_flags(opts, arg)) {
		for (const char *c = arg; *c; c++)
			store(find_short(opts, *c), NULL, err);
		return 1;
	}
	if (opt == NULL && is_help(argv[i]))
		return help_for(opts, argv[0], err);
	if (opt == NULL)
		return hull_error(err, 0, "unknown option: %s", argv[i]);
	if (eq != NULL)
		return store(opt, eq + 1, err) < 0 ? -1 : 1;
	if (opt->kind == CLI_FLAG)
		return store(opt, NULL, err) < 0 ? -1 : 1;
	if (i + 1 >= argc)
		return hull_error(err, 0, "option %s needs a value", argv[i]);
	return store(opt, argv[i + 1], err) < 0 ? -1 : 2;
}

int cli_parse(const struct cli_opt *opts, int argc, char **argv, int *first_arg,
	      struct hull_err *err)
{
	int i = 1;
	while (i < argc) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			break;
		int used = parse_one(opts, argc, argv, i, err);
		if (used < 0)
			return -1;
		i += used;
	}
	*first_arg = i;
	return 0;
}

int cli_expect_args(const char *cmd, int argc, char **argv, int first_arg, int n, const char *what,
		    struct hull_err *err)
{
	int have = argc - first_arg;
	if (have < n)
		return hull_error(err, 0, "%s: missing %s", cmd, what);
	if (have > n)
		return hull_error(err, 0, "%s: unexpected argument: %s", cmd, argv[first_arg + n]);
	return 0;
}
