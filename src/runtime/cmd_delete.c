#include "runtime.h"

int cmd_delete(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	bool force = false;
	const struct cli_opt opts[] = {{"force", 'f', CLI_FLAG, &force}, {0}};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("delete", argc, argv, first, 1, "container id", err) < 0)
		return -1;
	struct container c;
	int r = container_open(g, argv[first], true, &c, err);
	if (r == 0)
		r = container_delete(&c, force, err);
	container_close(&c);
	return r;
}
