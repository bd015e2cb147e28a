#include "runtime.h"

int cmd_create(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	struct create_opts o = {0};
	bool no_new_keyring = false;
	const struct cli_opt opts[] = {
	    {"bundle", 'b', CLI_STRING, &o.bundle},
	    {"pid-file", 0, CLI_STRING, &o.pid_file},
	    {"console-socket", 0, CLI_STRING, &o.console_socket},
	    {"preserve-fds", 0, CLI_INT, &o.preserve_fds},
	    {"no-pivot", 0, CLI_FLAG, &o.no_pivot},
	    {"net", 0, CLI_STRING, &o.net.mode},
	    {"publish", 'p', CLI_STRINGS, &o.net.ports},
	    {"ip", 0, CLI_STRING, &o.net.ip},
	    /* accepted for runc compatibility; hull never makes a session keyring */
	    {"no-new-keyring", 0, CLI_FLAG, &no_new_keyring},
	    {0},
	};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("create", argc, argv, first, 1, "container id", err) < 0)
		return -1;
	o.id = argv[first];
	struct container c;
	int r = container_create(g, &o, &c, err);
	container_close(&c);
	return r;
}
