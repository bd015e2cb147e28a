#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "clock.h"
#include "fdio.h"
#include "json.h"

static int log_fd = STDERR_FILENO;
static bool log_json, log_debug, log_file;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int log_open(const char *path, bool json, bool debug, struct hull_err *err)
{
	log_json = json;
	log_debug = debug;
	if (path == NULL || path[0] == '\0')
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return hull_error(err, errno, "--log: open %s", path);
	log_fd = fd;
	log_file = true;
	return 0;
}

bool log_to_file(void)
{
	return log_file;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level == LOG_DEBUG && !log_debug)
		return;
	char msg[4096], stamp[64], line[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	clock_rfc3339_now(stamp, sizeof stamp);
	if (log_json) {
		yajl_gen g = json_gen_new(0);
		yajl_gen_map_open(g);
		json_key_str(g, "level", level_names[level]);
		json_key_str(g, "msg", msg);
		json_key_str(g, "time", stamp);
		yajl_gen_map_close(g);
		char *text = json_gen_finish(g);
		snprintf(line, sizeof line, "%s\n", text);
		free(text);
	} else if (log_file) {
		snprintf(line, sizeof line, "%s %s: %s\n", stamp, level_names[level], msg);
	} else if (level == LOG_ERROR) {
		snprintf(line, sizeof line, "hull: %s\n", msg);
	} else {
		snprintf(line, sizeof line, "hull: %s: %s\n", level_names[level], msg);
	}
	(void)fd_write_all(log_fd, line, strlen(line)); /* a log that cannot be written is lost */
}
