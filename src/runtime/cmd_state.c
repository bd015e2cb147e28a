#include <stdio.h>
#include <stdlib.h>

#include "runtime.h"

int cmd_state(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	const struct cli_opt opts[] = {{0}};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("state", argc, argv, first, 1, "container id", err) < 0)
		return -1;
	struct container c;
	int r = container_open(g, argv[first], false, &c, err);
	if (r == 0) {
		char *json = state_oci_json(&c.st, container_status(&c), true);
		printf("%s\n", json);
		free(json);
	}
	container_close(&c);
	return r;
}
