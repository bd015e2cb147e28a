#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "runtime.h"

static int run_foreground(struct container *c, bool keep, struct hull_err *err)
{
	/* A start that fails (the init died after create) must not leave the container's
	 * cgroup, mounts and state behind: nobody else will delete it. */
	if (container_start(c, err) < 0) {
		if (!keep)
			container_delete(c, true, &(struct hull_err){0});
		return -1;
	}
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

struct run_opts {
	struct create_opts create;
	struct image_run image;
	bool detach, keep, rm, interactive, no_subreaper;
};

/* What follows ID: nothing for a bundle; for an image, an optional "--" and then the
 * command that replaces the image's Cmd. */
static int run_args(struct run_opts *o, int argc, char **argv, int first, struct hull_err *err)
{
	if (first >= argc)
		return hull_error(err, 0, "run: missing container id");
	o->create.id = argv[first];
	if (o->image.image == NULL)
		return cli_expect_args("run", argc, argv, first, 1, "container id", err);
	int cmd = first + 1;
	if (cmd < argc && strcmp(argv[cmd], "--") == 0)
		cmd++;
	o->image.cmd = argv + cmd;
	o->image.n_cmd = argc - cmd;
	if (o->create.bundle != NULL)
		return hull_error(err, 0, "run: --image and --bundle exclude each other");
	if (o->rm && o->keep)
		return hull_error(err, 0, "run: --rm and --keep exclude each other");
	/* No hull process stays behind a detached container to delete it when it exits. */
	if (o->rm && o->detach)
		return hull_error(err, 0, "run: --rm needs a foreground run (not -d)");
	return 0;
}

static int check_bundle_flags(const struct run_opts *o, struct hull_err *err)
{
	if (o->image.image == NULL && o->image.terminal)
		return hull_error(err, 0,
				  "run: -t is for --image; a bundle's config.json says "
				  "process.terminal itself");
	return 0;
}

static int create_and_run(const struct hull_globals *g, struct run_opts *o, int image_lock,
			  struct hull_err *err)
{
	struct container c;
	int r = container_create(g, &o->create, &c, err);
	if (o->image.image != NULL && r < 0)
		image_run_abort(g, o->create.id, image_lock);
	else if (image_lock >= 0)
		close(image_lock); /* the container's `delete` takes it from now on */
	if (r == 0 && o->detach) {
		r = container_start(&c, err);
		if (r < 0)
			container_delete(&c, true, &(struct hull_err){0});
	} else if (r == 0) {
		/* From a bundle the container goes when it exits unless --keep; from an image
		 * it stays unless --rm, as podman does. */
		bool keep = o->image.image ? !o->rm : o->keep;
		r = run_foreground(&c, keep, err);
	}
	container_close(&c);
	/* A status of 0 from the container is success; keep <0 for hull's own errors. */
	return r;
}

int cmd_run(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	struct run_opts o = {0};
	const struct cli_opt opts[] = {
	    CREATE_CLI_OPTS(o.create),
	    {"detach", 'd', CLI_FLAG, &o.detach},
	    {"keep", 0, CLI_FLAG, &o.keep},
	    {"image", 0, CLI_STRING, &o.image.image},
	    {"rm", 0, CLI_FLAG, &o.rm},
	    {"tty", 't', CLI_FLAG, &o.image.terminal},
	    /* hull always hands its stdin to the container, as `run` from a bundle does */
	    {"interactive", 'i', CLI_FLAG, &o.interactive},
	    /* runc's: hull is never a subreaper; the init is its own child (see hull-run(8)) */
	    {"no-subreaper", 0, CLI_FLAG, &o.no_subreaper},
	    {0},
	};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    run_args(&o, argc, argv, first, err) < 0 || check_bundle_flags(&o, err) < 0)
		return -1;
	o.create.foreground = !o.detach;
	o.image.rm = o.rm;
	char *bundle = NULL;
	int lock_fd = -1;
	if (o.image.image != NULL &&
	    image_run_prepare(g, o.create.id, &o.image, &bundle, &lock_fd, err) < 0)
		return -1;
	if (bundle != NULL)
		o.create.bundle = bundle;
	int r = create_and_run(g, &o, lock_fd, err);
	free(bundle);
	return r;
}
