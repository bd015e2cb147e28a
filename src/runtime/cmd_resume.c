/* hull resume ID: thaw a paused container. */
#include <string.h>

#include "cgroups/cgroups.h"
#include "common/log.h"
#include "runtime.h"

static int resume_container(struct container *c, struct hull_err *err)
{
	if (strcmp(container_status(c), "paused") != 0)
		return hull_error(err, 0, "container %s is not paused", c->st.id);
	struct cgroup *cg = cgroup_open(c->st.cgroup, err);
	if (cg == NULL)
		return -1;
	log_msg(LOG_DEBUG, "resume: container %s: thaw cgroup %s", c->st.id, c->st.cgroup);
	int r = cgroup_freeze(cg, false, err);
	cgroup_free(cg);
	return r < 0 ? hull_error_wrap(err, "resume %s", c->st.id) : 0;
}

int cmd_resume(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	const struct cli_opt opts[] = {{0}};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("resume", argc, argv, first, 1, "container id", err) < 0)
		return -1;
	struct container c;
	int r = container_open(g, argv[first], true, &c, err);
	if (r == 0)
		r = resume_container(&c, err);
	container_close(&c);
	return r;
}
