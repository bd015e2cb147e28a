/* hull's log: stderr by default, or the --log file in text or runc's JSON form
 * ({"level":"error","msg":"...","time":"..."}), which podman and containerd parse. */
#pragma once
#include <stdbool.h>

#include "err.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

int log_open(const char *path, bool json, bool debug, struct hull_err *err);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when the log goes to a file (main then also prints errors on stderr). */
bool log_to_file(void);
