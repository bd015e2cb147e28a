#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime.h"

static bool has_state(const struct hull_globals *g, const char *id)
{
	struct hull_err bad = {0};
	if (state_validate_id(id, &bad) < 0) {
		hull_err_clear(&bad);
		return true; /* not a name hull could have made anything under */
	}
	char *path;
	if (asprintf(&path, "%s/%s", g->root, id) < 0)
		return true;
	bool r = access(path, F_OK) == 0;
	free(path);
	return r;
}

/* A `run --image` killed before its container had a state leaves only its image root:
 * that is removed (unless the run is still at work on it). */
static int delete_image_leftovers(const struct hull_globals *g, const char *id,
				  struct hull_err *err)
{
	struct hull_err own = {0};
	int r = image_run_remove(g, id, false, &own);
	if (r == 0)
		hull_err_clear(err);
	else if (r < 0)
		hull_error(err, own.code, "%s", own.msg);
	hull_err_clear(&own);
	return r == 0 ? 0 : -1;
}

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
	else if (err->code == 0 && !has_state(g, argv[first]))
		r = delete_image_leftovers(g, argv[first], err);
	container_close(&c);
	return r;
}
