/* `hull image unpack|inspect`: an OCI layout, an OCI archive or a docker-archive into a
 * bundle (rootfs/ + config.json), or described as JSON. An unpack builds everything in
 * BUNDLE.tmp-XXXXXX next to BUNDLE and renames it into place at the end, so a failure
 * (a bad digest, a hostile layer) leaves nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "images/images.h"
#include "runtime.h"
#include "spec.h"

#define MAX_MAPS	  32
#define IMAGE_SUBCOMMANDS "unpack, inspect, ls, rm, prune"

struct unpack_opts {
	const char *ref;
	struct cli_strings uid_maps, gid_maps;
};

static int parse_maps(const struct cli_strings *s, struct image_idmap *out, size_t *n,
		      struct hull_err *err)
{
	if (s->n > MAX_MAPS)
		return hull_error(err, E2BIG, "too many id maps");
	for (int i = 0; i < s->n; i++)
		if (image_parse_idmap(s->items[i], &out[i], err) < 0)
			return -1;
	*n = (size_t)s->n;
	return 0;
}

static int write_file(int dir, const char *name, const char *text, struct hull_err *err)
{
	_cleanup_close_ int fd =
	    openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return hull_error(err, errno, "create %s", name);
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		return hull_error(err, errno ? errno : EIO, "write %s", name);
	return 0;
}

/* Everything of the bundle, made inside tmp (a fresh directory). */
static int build_bundle(const char *source, const char *tmp, const struct unpack_opts *o,
			const struct image_ids *ids, struct hull_err *err)
{
	_cleanup_close_ int dir = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return hull_error(err, errno, "open %s", tmp);
	struct image *img = NULL;
	if (image_open(source, o->ref, tmp, &img, err) < 0)
		return -1;
	_cleanup_close_ int root = -1;
	int r = mkdirat(dir, "rootfs", 0755);
	if (r == 0)
		root = openat(dir, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r < 0 || root < 0)
		r = hull_error(err, errno, "create %s/rootfs", tmp);
	if (r == 0)
		r = image_unpack(img, root, ids, err);
	/* The image part builds on the runtime's defaults but may not call the runtime. */
	_cleanup_free_ char *defaults = r == 0 ? spec_default_config(false, err) : NULL;
	_cleanup_free_ char *config =
	    defaults ? image_runtime_config(img->config, defaults, root, err) : NULL;
	if (r == 0 && config == NULL)
		r = -1;
	if (r == 0)
		r = write_file(dir, "config.json", config, err);
	image_free(img); /* removes the extracted archive, if any */
	if (r == 0 && fchmod(dir, 0755) < 0)
		r = hull_error(err, errno, "chmod %s", tmp);
	return r;
}

static int unpack(const char *source, const char *bundle, const struct unpack_opts *o,
		  const struct image_ids *ids, struct hull_err *err)
{
	struct stat st;
	if (lstat(bundle, &st) == 0)
		return hull_error(err, EEXIST, "image unpack: %s", bundle);
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp-XXXXXX", bundle) < 0)
		return hull_error(err, ENOMEM, "image unpack");
	if (mkdtemp(tmp) == NULL)
		return hull_error(err, errno, "image unpack: create %s", tmp);
	int r = build_bundle(source, tmp, o, ids, err);
	/* RENAME_NOREPLACE: a BUNDLE made meanwhile is never replaced. */
	if (r == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, bundle, RENAME_NOREPLACE) < 0)
		r = hull_error(err, errno, "image unpack: rename to %s", bundle);
	if (r < 0) {
		struct hull_err ignored = {0};
		image_remove_tree(AT_FDCWD, tmp, &ignored);
		hull_err_clear(&ignored);
		return hull_error_wrap(err, "image unpack");
	}
	return 0;
}

static int cmd_unpack(int argc, char **argv, struct hull_err *err)
{
	struct unpack_opts o = {0};
	const struct cli_opt opts[] = {
	    {"ref", 0, CLI_STRING, &o.ref},
	    {"uid-map", 0, CLI_STRINGS, &o.uid_maps},
	    {"gid-map", 0, CLI_STRINGS, &o.gid_maps},
	    {0},
	};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("image unpack", argc, argv, first, 2, "SOURCE BUNDLE", err) < 0)
		return -1;
	struct image_idmap uids[MAX_MAPS], gids[MAX_MAPS];
	struct image_ids ids = {.uid = uids, .gid = gids};
	if (parse_maps(&o.uid_maps, uids, &ids.n_uid, err) < 0 ||
	    parse_maps(&o.gid_maps, gids, &ids.n_gid, err) < 0)
		return -1;
	bool mapped = ids.n_uid > 0 || ids.n_gid > 0;
	_cleanup_free_ char *bundle = strdup(argv[first + 1]);
	if (bundle == NULL)
		return hull_error(err, ENOMEM, "image unpack");
	for (size_t n = strlen(bundle); n > 1 && bundle[n - 1] == '/'; n--)
		bundle[n - 1] = '\0';
	int r = unpack(argv[first], bundle, &o, mapped ? &ids : NULL, err);
	free(o.uid_maps.items);
	free(o.gid_maps.items);
	return r;
}

static int cmd_inspect(int argc, char **argv, struct hull_err *err)
{
	const char *ref = NULL;
	const struct cli_opt opts[] = {{"ref", 0, CLI_STRING, &ref}, {0}};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("image inspect", argc, argv, first, 1, "SOURCE", err) < 0)
		return -1;
	const char *tmpdir = getenv("TMPDIR");
	struct image *img = NULL;
	if (image_open(argv[first], ref, tmpdir && tmpdir[0] ? tmpdir : "/tmp", &img, err) < 0)
		return -1;
	_cleanup_free_ char *json = image_inspect_json(img, err);
	image_free(img);
	if (json == NULL)
		return -1;
	fputs(json, stdout);
	fputc('\n', stdout);
	return 0;
}

int cmd_image(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	if (argc < 2)
		return hull_error(err, 0, "image: want a subcommand: " IMAGE_SUBCOMMANDS);
	if (strcmp(argv[1], "unpack") == 0)
		return cmd_unpack(argc - 1, argv + 1, err);
	if (strcmp(argv[1], "inspect") == 0)
		return cmd_inspect(argc - 1, argv + 1, err);
	if (strcmp(argv[1], "ls") == 0 || strcmp(argv[1], "list") == 0)
		return cmd_image_ls(g, argc - 1, argv + 1, err);
	if (strcmp(argv[1], "rm") == 0)
		return cmd_image_rm(g, argc - 1, argv + 1, err);
	if (strcmp(argv[1], "prune") == 0)
		return cmd_image_prune(g, argc - 1, argv + 1, err);
	return hull_error(err, 0, "image: unknown subcommand \"%s\" (" IMAGE_SUBCOMMANDS ")",
			  argv[1]);
}
