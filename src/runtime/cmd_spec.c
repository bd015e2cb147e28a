/* `hull spec [--rootless] [-b DIR]`: write a starting config.json, as `runc spec` does. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "common/fdio.h"
#include "spec.h"

static int write_config(int dir, const char *bundle, const char *text, struct hull_err *err)
{
	/* O_EXCL refuses an existing file and a symlink planted in its place alike. */
	_cleanup_close_ int fd =
	    openat(dir, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0 && errno == EEXIST)
		return hull_error(err, 0, "spec: config.json already exists in %s", bundle);
	if (fd < 0)
		return hull_error(err, errno, "spec: create %s/config.json", bundle);
	if (fd_write_all(fd, text, strlen(text)) < 0 || fd_write_all(fd, "\n", 1) < 0) {
		int saved = errno;
		unlinkat(dir, "config.json", 0);
		return hull_error(err, saved, "spec: write %s/config.json", bundle);
	}
	return 0;
}

int cmd_spec(const struct hull_globals *g, int argc, char **argv, struct hull_err *err)
{
	(void)g;
	bool rootless = false;
	const char *bundle = ".";
	const struct cli_opt opts[] = {
	    {"rootless", 0, CLI_FLAG, &rootless},
	    {"bundle", 'b', CLI_STRING, &bundle},
	    {0},
	};
	int first;
	if (cli_parse(opts, argc, argv, &first, err) < 0 ||
	    cli_expect_args("spec", argc, argv, first, 0, "", err) < 0)
		return -1;
	_cleanup_close_ int dir = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return hull_error(err, errno, "spec: bundle %s", bundle);
	_cleanup_free_ char *text = spec_default_config(rootless, err);
	if (text == NULL)
		return -1;
	return write_config(dir, bundle, text, err);
}
