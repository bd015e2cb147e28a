/* hull-guest-init: PID 1 of hull's micro-VM guest (channels and protocol: guest.h).
 *
 * Order: /dev, the channels, the other mounts, the config, hostname, terminal modes, the
 * rootfs as the container expects it (read-only if asked), the process's stdin, "ready" to
 * the host, then the main process; then forward control commands, relay stdin, reap every
 * child (orphans are re-parented to PID 1), and when the main process ends report its status
 * on hvc2 and reset the VM.
 *
 * Why hvc0..2 are the VMM's devices in command-line order (Linux 6.1 sources):
 * - drivers/virtio/virtio_mmio.c: each `virtio_mmio.device=` parameter is handled by
 *   vm_cmdline_set(), which registers platform device "virtio-mmio.<n>" with n counting up
 *   (vm_cmdline_id++). It is a level-6 (device_param_cb) parameter, parsed left to right by
 *   parse_args() in do_initcall_level(6) before that level's initcalls run.
 * - The platform bus, then the virtio bus (register_virtio_device(): "virtio%u" from an ida),
 *   probe devices in registration order and synchronously (neither driver asks for async
 *   probing).
 * - drivers/char/virtio_console.c: without VIRTIO_CONSOLE_F_MULTIPORT, virtcons_probe() calls
 *   add_port(portdev, 0) -> init_port_console() -> hvc_alloc(); drivers/tty/hvc/hvc_console.c
 *   hvc_alloc() gives each new console the first free index (0, 1, 2, ...), and the tty is
 *   /dev/hvc<index>. No early console is instantiated on x86 (hvc_instantiate is only called
 *   from virtio_cons_early_init, which x86 does not use).
 * So the first virtio-console on the command line is /dev/hvc0, the second hvc1, the third
 * hvc2, provided the VMM declares no other virtio-console before them. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"
#include "guest.h"

#ifndef W_EXITCODE /* glibc has it; musl, which builds this binary, does not */
#define W_EXITCODE(status, sig) ((status) << 8 | (sig))
#endif

struct init {
	int hvc0, hvc1, hvc2;
	int stdin_fd; /* the process's stdin: the relay's pipe, or hvc0 with a terminal */
	struct guest_relay relay;
	pid_t main_pid;
	struct guestcfg cfg;
};

/* What the host has not taken yet of the process's last output: wait (at most 2 s, a
 * leftover child may keep writing) until the hvc driver's buffer is empty. */
static void drain(int fd)
{
	struct timespec ms = {0, 1000000};
	for (int i = 0; fd >= 0 && i < 2000; i++) {
		int queued = 0;
		if (ioctl(fd, TIOCOUTQ, &queued) < 0 || queued == 0)
			return;
		nanosleep(&ms, NULL);
	}
}

/* Report and reset. If reboot() fails, exiting makes the kernel panic, and panic=-1 on the
 * command line turns that into a reset as well. */
__attribute__((noreturn)) static void finish(struct init *in, int wstatus)
{
	char line[32];
	drain(in->hvc0);
	drain(in->hvc1);
	if (in->hvc2 >= 0)
		(void)fd_write_all(in->hvc2, line, guest_report_format(wstatus, line, sizeof line));
	sync();
	reboot(RB_AUTOBOOT);
	_exit(1);
}

/* The process never started: one line on hvc1 (the console before hvc1 exists). */
__attribute__((noreturn)) static void fail(struct init *in, const struct hull_err *err)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "hull-guest-init: %s\n", hull_err_text(err));
	if (n > 0)
		(void)fd_write_all(in->hvc1 >= 0 ? in->hvc1 : STDERR_FILENO, line,
				   (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	finish(in, W_EXITCODE(GUEST_EXIT_CANNOT_RUN, 0));
}

/* The kernel gave us /dev/console as fds 0-2 if the initramfs has it; fill any gap with
 * /dev/null so that the channels never land on 0-2 (the child's dup2 onto them would then
 * keep O_CLOEXEC). */
static void hold_std_fds(void)
{
	for (int i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			return;
}

static int open_channels(struct init *in, struct hull_err *err)
{
	const char *paths[] = {GUEST_HVC_STDIO, GUEST_HVC_STDERR, GUEST_HVC_CONTROL};
	int *fds[] = {&in->hvc0, &in->hvc1, &in->hvc2};
	for (int i = 0; i < 3; i++) {
		*fds[i] = open(paths[i], O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (*fds[i] < 0)
			return hull_error(err, errno, "open %s", paths[i]);
	}
	/* No echo and no newline translation on the channels that carry bytes, not a
	 * terminal: stderr and control always, stdio unless the container has a terminal. */
	if (guest_set_raw(in->hvc1, err) < 0 || guest_set_raw(in->hvc2, err) < 0)
		return hull_error_wrap(err, "raw mode");
	return 0;
}

static int prepare(struct init *in, struct hull_err *err)
{
	if (guest_mount_rest(err) < 0 || guest_read_config(GUEST_CONFIG, &in->cfg, err) < 0)
		return -1;
	const struct guestcfg *cfg = &in->cfg;
	if (cfg->hostname != NULL && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		return hull_error(err, errno, "sethostname");
	if (!cfg->terminal && guest_set_raw(in->hvc0, err) < 0)
		return hull_error_wrap(err, "raw mode on %s", GUEST_HVC_STDIO);
	guest_loopback_up();
	if (guest_restore_rootfs(err) < 0)
		return -1;
	if (cfg->readonly_rootfs && guest_remount_root_readonly(err) < 0)
		return -1;
	return 0;
}

/* Without a terminal: a pipe for the process, whose write end the relay fills from its own
 * nonblocking open of hvc0. Only the write end is O_NONBLOCK (the read end is the process's,
 * and a separate open file description keeps O_NONBLOCK off the process's stdout on hvc0).
 * With a terminal, stdin is the tty itself. */
static int open_stdin(struct init *in, struct hull_err *err)
{
	guest_relay_init(&in->relay, -1, -1, -1);
	if (in->cfg.terminal) {
		in->stdin_fd = in->hvc0;
		return 0;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return hull_error(err, errno, "stdin pipe");
	in->stdin_fd = p[0];
	guest_relay_init(&in->relay, -1, p[1], in->hvc1);
	if (fcntl(p[1], F_SETFL, O_NONBLOCK) < 0)
		return hull_error(err, errno, "stdin pipe");
	in->relay.in_fd = open(GUEST_HVC_STDIO, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (in->relay.in_fd < 0)
		return hull_error(err, errno, "open %s", GUEST_HVC_STDIO);
	return 0;
}

static void on_control_line(void *ctx, const char *line, size_t len)
{
	struct init *in = ctx;
	struct guest_ctl c;
	if (guest_ctl_parse(line, len, &c) < 0)
		return; /* the host's mistake; nothing to tell it on this channel */
	if (c.kind == GUEST_CTL_SIGNAL && in->main_pid > 0) {
		kill(in->main_pid, c.signal);
	} else if (c.kind == GUEST_CTL_WINSIZE) {
		struct winsize ws = {.ws_row = c.rows, .ws_col = c.cols};
		ioctl(in->hvc0, TIOCSWINSZ, &ws);
	} else if (c.kind == GUEST_CTL_EOF) {
		/* With a terminal the relay is idle and this does nothing: stdin is the tty,
		 * and its user ends input with ^D as on any terminal. */
		guest_relay_eof(&in->relay, c.bytes);
	}
}

/* Reap whatever has exited; returns 1 with *wstatus once the main process is among them. */
static int reap(struct init *in, int *wstatus)
{
	int found = 0, st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == in->main_pid) {
			*wstatus = st;
			in->main_pid = 0;
			found = 1;
		}
	}
	return found;
}

/* An fd with no events is left out: poll would still report its POLLHUP or POLLERR (a pipe
 * whose reader is gone) and spin. */
static struct pollfd watch(int fd, short events)
{
	return (struct pollfd){.fd = events ? fd : -1, .events = events};
}

/* Returns the main process's wait status once it has ended. It does not wait for stdin:
 * what the process did not read is dropped with the VM. */
static int serve(struct init *in, int sfd)
{
	struct guest_lines lines = {0};
	struct guest_relay *r = &in->relay;
	short control = POLLIN;
	for (;;) {
		struct pollfd p[4] = {watch(sfd, POLLIN), watch(in->hvc2, control),
				      watch(r->in_fd, guest_relay_in_events(r)),
				      watch(r->out_fd, guest_relay_out_events(r))};
		if (poll(p, 4, -1) < 0 && errno != EINTR)
			return W_EXITCODE(GUEST_EXIT_CANNOT_RUN, 0);
		if (p[0].revents) {
			struct signalfd_siginfo si[8];
			(void)!read(sfd, si, sizeof si);
			int wstatus;
			if (reap(in, &wstatus))
				return wstatus;
		}
		if (p[1].revents) {
			char buf[256];
			ssize_t n = read(in->hvc2, buf, sizeof buf);
			if (n > 0)
				guest_lines_feed(&lines, buf, (size_t)n, on_control_line, in);
			else if (n == 0 || (errno != EINTR && errno != EAGAIN))
				control = 0; /* the host hung up: keep reaping */
		}
		guest_relay_step(r);
	}
}

int main(void)
{
	if (getpid() != 1) {
		fprintf(stderr, "hull-guest-init: runs only as PID 1 of hull's micro-VM\n");
		return 2;
	}
	struct init in = {.hvc0 = -1,
			  .hvc1 = -1,
			  .hvc2 = -1,
			  .stdin_fd = -1,
			  .relay = {.in_fd = -1, .out_fd = -1, .log_fd = -1}};
	struct hull_err err = {0};
	/* Signals reach PID 1 only through the signalfd (SIGCHLD); everything else stays
	 * blocked, and the child unblocks all before its execve. */
	sigset_t all, chld;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (guest_mount_dev(&err) < 0)
		fail(&in, &err);
	hold_std_fds();
	if (open_channels(&in, &err) < 0 || prepare(&in, &err) < 0 || open_stdin(&in, &err) < 0)
		fail(&in, &err);
	/* hvc0 and hvc2 are in their final modes: the host may send stdin and its lines. */
	(void)fd_write_all(in.hvc2, GUEST_CTL_READY, strlen(GUEST_CTL_READY));
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
	if (sfd < 0)
		fail(&in, (hull_error(&err, errno, "signalfd"), &err));
	in.main_pid = fork();
	if (in.main_pid < 0)
		fail(&in, (hull_error(&err, errno, "fork"), &err));
	if (in.main_pid == 0)
		guest_child_run(&in.cfg, in.stdin_fd, in.hvc0, in.hvc1);
	/* Only the process holds the pipe's read end: when it and its children close it, the
	 * relay's writes fail with EPIPE instead of filling a pipe nobody reads. */
	if (in.stdin_fd != in.hvc0)
		close(in.stdin_fd);
	finish(&in, serve(&in, sfd));
}
