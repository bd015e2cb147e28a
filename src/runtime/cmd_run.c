#include <stdio.h>

#include "common/log.h"
#include "runtime.h"

static int run_foreground(struct container *c, bool keep, struct hull_err *err)
{
	if (container_start(c, err) < 0)
		return -1;
	/* `state`, `kill` and `exec` must work while we wait. */
	state_dir_unlock(c->dir_fd);
	int status = container_wait(c);
	struct hull_err del = {0};
	/* A `delete` that came in meanwhile already cleaned up. */
	if (!keep && state_dir_relock(c->dir_fd, c->st.id, &del) == 0 &&
	    container_delete(c, true, &del) < 0)
		log_msg(LOG_WARN, "%s", hull_err_text(&del));
	hull_err_clear(&del);
	return status;
}

int cmd_run(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	struct create_opts o = {0};
	bool detach = false, keep = false, no_new_keyring = false;
	const struct cli_opt opts[] = {
	    CREATE_CLI_OPTS(o, no_new_keyring),
	    {"detach", 'd', CLI_FLAG, &detach},
	    {"keep", 0, CLI_FLAG, &keep},
	    {0},
	};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("run", argc, argv, first, 1, "container id", err) < 0)
		return -1;
	o.id = argv[first];
	o.foreground = !detach;
	struct container c;
	int r = container_create(g, &o, &c, err);
	if (r == 0 && detach) {
		r = container_start(&c, err);
		if (r < 0)
			container_delete(&c, true, &(struct hull_err){0});
	} else if (r == 0) {
		r = run_foreground(&c, keep, err);
	}
	container_close(&c);
	/* A status of 0 from the container is success; keep <0 for hull's own errors. */
	return r;
}
