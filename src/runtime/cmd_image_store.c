/* `hull image ls|rm|prune`: the image store under --root (what `run --image` fills).
 * ls reads without the lock (records are replaced whole); rm and prune hold it
 * exclusively, so no `run` is between storing layers and naming them in a record.
 * rm refuses an image a container uses, as podman's rmi does; with --force it
 * deletes those containers first (podman rmi --force does the same). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "images/images.h"
#include "runtime.h"

static void human_size(long long b, char *out, size_t n)
{
	static const char *const units[] = {"kB", "MB", "GB", "TB"};
	if (b < 1000) {
		snprintf(out, n, "%lld B", b);
		return;
	}
	double v = (double)b / 1000;
	size_t u = 0;
	while (v >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1000;
		u++;
	}
	snprintf(out, n, "%.3g %s", v, units[u]);
}

static void print_table(const struct image_record *r, size_t n)
{
	printf("%-48s %-12s %-6s %-10s %s\n", "IMAGE", "ID", "LAYERS", "SIZE", "CREATED");
	for (size_t i = 0; i < n; i++) {
		char name[4096], size[32], created[32];
		snprintf(name, sizeof name, "%s%s%s", r[i].source ? r[i].source : "-",
			 r[i].ref ? ":" : "", r[i].ref ? r[i].ref : "");
		const char *id = r[i].config_digest ? r[i].config_digest : r[i].id;
		if (strncmp(id, "sha256:", 7) == 0)
			id += 7;
		human_size(r[i].size, size, sizeof size);
		/* "2026-01-02T03:04:05.123Z" -> "2026-01-02 03:04:05" */
		snprintf(created, sizeof created, "%.19s", r[i].created ? r[i].created : "-");
		if (strlen(created) > 10 && created[10] == 'T')
			created[10] = ' ';
		printf("%-48s %-12.12s %-6zu %-10s %s\n", name, id, r[i].n_layers, size, created);
	}
}

int cmd_image_ls(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	const char *format = "table";
	bool quiet = false;
	const struct cli_opt opts[] = {
	    {"format", 'f', CLI_STRING, &format}, {"quiet", 'q', CLI_FLAG, &quiet}, {0}};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("image ls", argc, argv, first, 0, "", err) < 0)
		return -1;
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return hull_error(err, 0, "image ls: --format must be table or json");
	struct image_store s;
	struct image_record *recs = NULL;
	size_t n = 0;
	int r = image_store_open(g->root, false, &s, err);
	if (r == 0)
		r = image_record_list(&s, &recs, &n, err);
	image_store_close(&s);
	if (r < 0)
		return -1;
	if (strcmp(format, "json") == 0) {
		_cleanup_free_ char *json = image_records_json(recs, n);
		puts(json ? json : "[]");
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			puts(recs[i].id);
	} else {
		print_table(recs, n);
	}
	image_records_free(recs, n);
	return 0;
}

/* The one record name picks (as given, or the path it names). */
static int find_record(struct image_store *s, const char *name, struct image_record *out,
		       struct hull_err *err)
{
	struct image_record *recs = NULL;
	size_t n = 0, hits = 0, hit = 0;
	if (image_record_list(s, &recs, &n, err) < 0)
		return -1;
	_cleanup_free_ char *abs = realpath(name, NULL);
	for (size_t i = 0; i < n; i++)
		if (image_record_matches(&recs[i], name) ||
		    (abs != NULL && image_record_matches(&recs[i], abs))) {
			hits++;
			hit = i;
		}
	int r = 0;
	if (hits == 0)
		r = hull_error(err, 0, "image rm: no image %s in the store", name);
	else if (hits > 1)
		r = hull_error(err, 0, "image rm: %s names %zu images: give the image ID", name,
			       hits);
	else
		*out = recs[hit], recs[hit] = (struct image_record){0};
	image_records_free(recs, n);
	return r;
}

static int delete_user(const struct hull_globals *g, const char *id, struct hull_err *err)
{
	struct container c;
	int r = container_open(g, id, true, &c, err);
	if (r == 0) {
		r = container_delete(&c, true, err);
	} else if (err->code == 0) {
		/* No state: what a dead `run` left, or one still creating it (EBUSY). */
		hull_err_clear(err);
		r = image_run_remove(g, id, false, err) < 0 ? -1 : 0;
	}
	container_close(&c);
	return r;
}

static int remove_one(const struct hull_globals *g, struct image_store *s, const char *name,
		      bool force, struct hull_err *err)
{
	struct image_record rec;
	if (find_record(s, name, &rec, err) < 0)
		return -1;
	char **users = NULL;
	size_t n = 0;
	int r = image_container_users(s, rec.id, &users, &n, err);
	if (r == 0 && n > 0 && !force)
		r = hull_error(err, 0,
			       "image rm: %s is in use by container %s%s (hull delete it "
			       "first, or use --force)",
			       name, users[0], n > 1 ? " and others" : "");
	for (size_t i = 0; r == 0 && i < n; i++)
		if (delete_user(g, users[i], err) < 0)
			r = hull_error_wrap(err, "image rm %s", name);
	if (r == 0)
		r = image_record_remove(s, rec.id, err);
	for (size_t i = 0; i < n; i++)
		free(users[i]);
	free(users);
	image_record_free(&rec);
	return r;
}

int cmd_image_rm(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	bool force = false;
	const struct cli_opt opts[] = {{"force", 'f', CLI_FLAG, &force}, {0}};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0)
		return -1;
	if (first >= argc)
		return hull_error(err, 0, "image rm: missing image (a ref, a source or an ID)");
	struct image_store s;
	int r = image_store_open(g->root, false, &s, err);
	if (r == 1)
		r = hull_error(err, 0, "image rm: no image %s in the store", argv[first]);
	if (r == 0)
		r = image_store_lock(&s, true, true, err);
	bool locked = r == 0;
	for (int i = first; r == 0 && i < argc; i++)
		r = remove_one(g, &s, argv[i], force, err);
	/* The layers no record uses any more; also after a failure half-way. */
	struct hull_err gc_err = {0};
	if (locked && image_store_gc(&s, r == 0 ? err : &gc_err) < 0 && r == 0)
		r = -1;
	hull_err_clear(&gc_err);
	image_store_close(&s);
	return r;
}

int cmd_image_prune(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	const struct cli_opt opts[] = {{0}};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("image prune", argc, argv, first, 0, "", err) < 0)
		return -1;
	struct image_store s;
	int r = image_store_open(g->root, false, &s, err);
	if (r == 0)
		r = image_store_lock(&s, true, true, err);
	if (r == 0)
		r = image_store_gc(&s, err);
	image_store_close(&s);
	return r < 0 ? -1 : 0;
}
