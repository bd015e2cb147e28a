#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
