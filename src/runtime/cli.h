/* The command line: global options, the command table's signature, and an option table
 * parser that accepts what runc's clients send: --flag value, --flag=value, -f value,
 * single-dash long names (-bundle), and -- to end options. */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"

struct hull_globals {
	const char *root; /* state directory, default /run/hull */
	const char *log;
	bool log_json;
	bool debug;
	bool systemd_cgroup;
	bool as_hull_vm; /* invoked as hull-vm: every container runs in a micro-VM */
};

/* Every command: argv[0] is the command name; returns 0, or <0 with err set, or a
 * positive exit status to exit with as it is (run, exec). */
typedef int (*cmd_fn)(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);

enum cli_kind {
	CLI_FLAG,   /* bool *, no value */
	CLI_STRING, /* const char **, value required */
	CLI_INT,    /* int *, value required, decimal */
	CLI_STRINGS /* struct cli_strings *, repeatable */
};

struct cli_strings {
	const char **items;
	int n;
};

struct cli_opt {
	const char *name; /* long name without dashes */
	char short_name;  /* 0 = none */
	enum cli_kind kind;
	void *dest;
};

/* Parse options of argv[1..] in the table (terminated by a zeroed entry). Parsing stops
 * at the first non-option argument or "--". *first_arg receives the index of the first
 * positional argument. Unknown options are an error naming them. */
int cli_parse(const struct cli_opt *opts, int argc, char **argv, int *first_arg,
	      struct hull_err *err);

/* --help, -h or -help among a command's options (when its table has no such option):
 * cli_parse records the command and its option table and fails; main then sees
 * cli_help_shown(), prints with cli_print_help() and exits 0. main names the command it
 * dispatches to, so that a subcommand's usage reads "hull image unpack". */
void cli_set_command(const char *name);
bool cli_help_shown(void);
void cli_print_help(FILE *out);

/* Write down the usage of command name ("list", "image unpack") with opts (NULL: none) for
 * cli_print_help, and return -1 as cli_parse does after it. */
int cli_help(const char *name, const struct cli_opt *opts, struct hull_err *err);

/* Exactly n positional arguments after the options, or an error naming the command. */
int cli_expect_args(const char *cmd, int argc, char **argv, int first_arg, int n, const char *what,
		    struct hull_err *err);

int cmd_events(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_exec(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_pause(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_ps(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_resume(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_update(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_create(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_delete(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_image(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_features(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_kill(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_list(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_net(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_run(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_spec(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_start(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
int cmd_state(const struct hull_globals *g, int argc, char **argv, struct hull_err *err);
