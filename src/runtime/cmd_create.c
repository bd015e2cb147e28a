#include "runtime.h"

int cmd_create(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	struct create_opts o = {0};
	const struct cli_opt opts[] = {
	    CREATE_CLI_OPTS(o),
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
