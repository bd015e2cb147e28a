#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "runtime.h"

struct listed {
	struct container_state st;
	const char *status;
	char owner[64];
};

/* As runc: the owner of the state directory, by name ("#UID" when it has none). */
static void owner_name(int dir_fd, char *out, size_t size)
{
	struct stat st;
	if (fstat(dir_fd, &st) < 0) {
		snprintf(out, size, "?");
		return;
	}
	struct passwd pw, *found = NULL;
	char buf[1024];
	if (getpwuid_r(st.st_uid, &pw, buf, sizeof buf, &found) == 0 && found != NULL)
		snprintf(out, size, "%s", found->pw_name);
	else
		snprintf(out, size, "#%u", (unsigned)st.st_uid);
}

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct listed *)a)->st.id, ((const struct listed *)b)->st.id);
}

/* Read every container without locking: state.json is replaced atomically. */
static int collect(int root_fd, struct listed **out, size_t *n, struct hull_err *err)
{
	_cleanup_closedir_ DIR *d = fdopendir(dup(root_fd));
	if (d == NULL)
		return hull_error(err, errno, "list --root");
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_close_ int dir =
		    openat(root_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct listed l = {0};
		struct hull_err ignored = {0};
		if (dir < 0 || state_read(dir, &l.st, &ignored) < 0 || l.st.id == NULL) {
			hull_err_clear(&ignored);
			state_free(&l.st);
			continue;
		}
		l.status = state_status(dir, &l.st);
		owner_name(dir, l.owner, sizeof l.owner);
		struct listed *grown = realloc(*out, sizeof **out * (*n + 1));
		if (grown == NULL)
			return hull_error(err, ENOMEM, "list");
		*out = grown;
		(*out)[(*n)++] = l;
	}
	return 0;
}

/* Each entry is the container's OCI state as `hull state` prints it, with the owner's
 * name (`state` leaves it empty, as runc's does). */
static void print_json(const struct listed *l, size_t n)
{
	fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		struct container_state st = l[i].st; /* shallow: only owner differs */
		st.owner = (char *)l[i].owner;
		char *one = state_oci_json(&st, l[i].status, false);
		printf("%s%s", i ? "," : "", one);
		free(one);
	}
	fputs("]\n", stdout);
}

static void print_table(const struct listed *l, size_t n, bool quiet)
{
	if (!quiet)
		printf("%-20s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
	for (size_t i = 0; i < n; i++) {
		if (quiet) {
			printf("%s\n", l[i].st.id);
			continue;
		}
		printf("%-20s %-8d %-10s %-40s %-30s %s\n", l[i].st.id,
		       strcmp(l[i].status, "stopped") == 0 ? 0 : l[i].st.pid, l[i].status,
		       l[i].st.bundle ? l[i].st.bundle : "", l[i].st.created ? l[i].st.created : "",
		       l[i].owner);
	}
}

int cmd_list(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	bool quiet = false;
	const char *format = "table";
	const struct cli_opt opts[] = {
	    {"quiet", 'q', CLI_FLAG, &quiet},
	    {"format", 'f', CLI_STRING, &format},
	    {0},
	};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("list", argc, argv, first, 0, "", err) < 0)
		return -1;
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return hull_error(err, 0, "list: --format must be table or json, not \"%s\"",
				  format);
	_cleanup_close_ int root_fd = open(g->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct listed *l = NULL;
	size_t n = 0;
	if (root_fd < 0 && errno != ENOENT)
		return hull_error(err, errno, "--root: open %s", g->root);
	int r = root_fd >= 0 ? collect(root_fd, &l, &n, err) : 0;
	if (n > 1)
		qsort(l, n, sizeof *l, by_id); /* as runc: readdir's order is the filesystem's */
	if (r == 0 && strcmp(format, "json") == 0)
		print_json(l, n);
	else if (r == 0)
		print_table(l, n, quiet);
	for (size_t i = 0; i < n; i++)
		state_free(&l[i].st);
	free(l);
	return r;
}
