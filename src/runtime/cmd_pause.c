/* hull pause ID: freeze every process of a created or running container. */
#include <string.h>

#include "cgroups/cgroups.h"
#include "common/log.h"
#include "runtime.h"

/* runc pauses created containers too: freezing the init before start is harmless. */
static int pause_container(struct container *c, struct hull_err *err)
{
	const char *status = container_status(c);
	if (strcmp(status, "running") != 0 && strcmp(status, "created") != 0)
		return container_not_running("pause", c->st.id, err);
	if (c->st.cgroup == NULL)
		return hull_error(err, 0, "container %s has no cgroup to freeze", c->st.id);
	struct cgroup *cg = cgroup_open(c->st.cgroup, err);
	if (cg == NULL)
		return -1;
	log_msg(LOG_DEBUG, "pause: container %s: freeze cgroup %s", c->st.id, c->st.cgroup);
	int r = cgroup_freeze(cg, true, err);
	cgroup_free(cg);
	return r < 0 ? hull_error_wrap(err, "pause %s", c->st.id) : 0;
}

int cmd_pause(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	const struct cli_opt opts[] = {{0}};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("pause", argc, argv, first, 1, "container id", err) < 0)
		return -1;
	struct container c;
	int r = container_open(g, argv[first], true, &c, err);
	if (r == 0)
		r = pause_container(&c, err);
	container_close(&c);
	return r;
}
