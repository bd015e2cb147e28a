/* hull-guest-init: the static PID 1 of hull's micro-VM guest (private header of src/guest).
 *
 * The channels (the VMM's virtio-console devices, in kernel command-line order):
 *   /dev/hvc0  the container's stdin and stdout
 *   /dev/hvc1  its stderr (and this init's own error lines, "hull-guest-init: ...")
 *   /dev/hvc2  control: host->guest "signal N\n", "winsize ROWS COLS\n", "eof N\n" (the
 *              container's stdin ended after N bytes, decimal below 2^63, all of them
 *              already sent on hvc0; N = 0: there is none); guest->host "ready\n" once
 *              hvc0 and hvc2 are open and in their final mode (the VMM holds back stdin and
 *              its own lines until then), and at the end "exit N\n" or "signaled N\n",
 *              once, then the init resets the VM.
 *
 * Without a terminal the process's stdin is a pipe that PID 1 fills from hvc0 (relay.c) and
 * closes once it has relayed the N bytes of "eof N", so that the process sees end-of-file;
 * with one it is the tty hvc0 itself, and "eof" does nothing.
 *
 * Everything that can be tested without being PID 1 lives in control.c (line protocol),
 * relay.c (stdin) and child.c (applying the config to a forked process); init.c and setup.c
 * hold the PID 1 parts. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/capability.h>

#include "common/err.h"
#include "common/guestcfg.h"

#define GUEST_HVC_STDIO	   "/dev/hvc0"
#define GUEST_HVC_STDERR   "/dev/hvc1"
#define GUEST_HVC_CONTROL  "/dev/hvc2"
#define GUEST_CONFIG	   "/.hull/config"
#define GUEST_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Exit statuses for a process that never ran, as a shell reports them: 127 when the
 * command was not found (ENOENT from execve or nothing on $PATH), 126 for every other
 * failure before or at execve (cwd, ids, rlimits, capabilities, seccomp, no_new_privs,
 * permission, bad format), and 126 when the init itself cannot start the process (bad
 * config, a failed mount). */
#define GUEST_EXIT_NOT_FOUND  127
#define GUEST_EXIT_CANNOT_RUN 126

/* control.c: the line protocol. */
#define GUEST_CTL_READY "ready\n"
enum guest_ctl_kind { GUEST_CTL_SIGNAL, GUEST_CTL_WINSIZE, GUEST_CTL_EOF };
#define GUEST_EOF_MAX INT64_MAX /* the largest N of "eof N" */
struct guest_ctl {
	enum guest_ctl_kind kind;
	int signal;
	uint16_t rows, cols;
	uint64_t bytes; /* eof */
};
/* One line without its "\n"; -1 for anything that is not a well-formed command. */
int guest_ctl_parse(const char *line, size_t len, struct guest_ctl *out);

/* Splits a byte stream into lines; a line longer than the buffer is dropped whole. */
struct guest_lines {
	char buf[128];
	size_t len;
	bool overlong;
};
typedef void (*guest_line_fn)(void *ctx, const char *line, size_t len);
void guest_lines_feed(struct guest_lines *l, const char *data, size_t n, guest_line_fn fn,
		      void *ctx);

/* "exit N\n" or "signaled N\n" for a wait status; returns the length. */
size_t guest_report_format(int wstatus, char *buf, size_t size);

/* The exit status that stands for an execve failure with this errno. */
int guest_exec_status(int errnum);

/* relay.c: hvc0 -> the stdin pipe, without a terminal. The relay owns its fds, -1 once
 * closed: in_fd, PID 1's own O_NONBLOCK open of hvc0, and out_fd, the pipe's write end
 * (O_NONBLOCK; the read end, the process's stdin, stays blocking). It reads hvc0 only when
 * everything it read before is in the pipe, so a process that does not read holds the host
 * back instead of PID 1's memory growing. log_fd (not owned; -1: none) gets the one line
 * about bytes past the host's count. */
#define GUEST_RELAY_BUF 4096
struct guest_relay {
	int in_fd, out_fd, log_fd;
	bool eof;	 /* total is known: the host sent "eof N", or hvc0 hung up */
	uint64_t total;	 /* N of "eof N" */
	uint64_t got;	 /* bytes read from hvc0 */
	uint64_t excess; /* bytes read past total: the host's mistake, dropped */
	size_t off, len; /* the bytes of buf not yet in the pipe */
	char buf[GUEST_RELAY_BUF];
};
void guest_relay_init(struct guest_relay *r, int in_fd, int out_fd, int log_fd);
/* "eof N": the pipe closes once N bytes of hvc0 are in it. A second "eof" is ignored. */
void guest_relay_eof(struct guest_relay *r, uint64_t total);
/* What to poll in_fd and out_fd for. */
short guest_relay_in_events(const struct guest_relay *r);
short guest_relay_out_events(const struct guest_relay *r);
/* Move what can move without blocking; close the pipe once the host's N bytes are in it.
 * After that hvc0 is still read, and what comes is dropped. */
void guest_relay_step(struct guest_relay *r);
void guest_relay_close(struct guest_relay *r);

/* child.c: the main process. */
/* The value of PATH in env (NULL-terminated), or GUEST_DEFAULT_PATH. */
const char *guest_env_path(char *const *env);
/* execvpe's search: file with a '/' as is, else each PATH entry ("" = "."). Returns a malloc'd
 * path of the first executable regular file, or NULL with errno ENOENT (none found) or the
 * first other error met (EACCES, ...), like execvp. */
char *guest_find_executable(const char *file, const char *path);
/* In a forked child: rlimits, cwd, the seccomp filter (without no_new_privs), the bounding
 * set, groups/gid/uid, the other capability sets, umask, no_new_privs, in that order. */
int guest_apply_config(const struct guestcfg *cfg, struct hull_err *err);
/* In a forked child: stdio (stdin from in_fd: the relay's pipe, or hvc0 with a terminal),
 * session (and controlling terminal), the config, execve. Never returns: on failure it writes
 * "hull-guest-init: ..." to fd 2 and exits 126 or 127. */
__attribute__((noreturn)) void guest_child_run(const struct guestcfg *cfg, int in_fd, int hvc0,
					       int hvc1);

/* privs.c: capabilities and seccomp (the order: privs.c). Without cfg->has_caps the caps
 * steps do nothing; last is guest_last_cap(). */
int guest_last_cap(void);
/* set without the capabilities above last (last < 0: none). */
uint64_t guest_caps_known(uint64_t set, int last);
/* capset(2)'s two 32-bit halves of effective, permitted and inheritable, above last left out. */
void guest_capset_data(const struct guestcfg_caps *c, int last,
		       struct __user_cap_data_struct data[2]);
/* As root: drop the bounding set, keep the permitted set across the user switch. */
int guest_caps_before_user(const struct guestcfg *cfg, int last, struct hull_err *err);
/* After it: effective, permitted, inheritable, then the ambient set. */
int guest_caps_after_user(const struct guestcfg *cfg, int last, struct hull_err *err);
/* Load cfg->seccomp (not NULL) with cfg->seccomp_flags. */
int guest_seccomp_load(const struct guestcfg *cfg, struct hull_err *err);
/* The filter right before execve, when no_new_privs lets it wait that long. */
int guest_seccomp_last(const struct guestcfg *cfg, struct hull_err *err);

/* setup.c: PID 1's preparation of the guest. */
int guest_mount_dev(struct hull_err *err);
int guest_mount_rest(struct hull_err *err);
int guest_read_config(const char *path, struct guestcfg *cfg, struct hull_err *err);
/* Take hull's files out of the rootfs and give the container's own /init back. */
int guest_restore_rootfs(struct hull_err *err);
int guest_remount_root_readonly(struct hull_err *err);
void guest_loopback_up(void);
int guest_set_raw(int fd, struct hull_err *err);
