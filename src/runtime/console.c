/* process.terminal: a pty made inside the container, its master handed to the caller over
 * --console-socket (SCM_RIGHTS, as runc does) or relayed by a foreground `hull run`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime.h"
#include "sync.h"

int console_open(const struct oci_process *p, int *slave, struct hull_err *err)
{
	/* /dev/ptmx of the container: the pts instance mounted there, not the host's. */
	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return hull_error(err, errno, "process.terminal: open /dev/ptmx");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return hull_error(err, errno, "process.terminal: unlock pty");
	/* TIOCGPTPEER opens the slave through the master, no path lookup in the rootfs. */
	*slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (*slave < 0)
		return hull_error(err, errno, "process.terminal: open pty slave");
	if (p->has_console_size) {
		struct winsize ws = {.ws_row = (unsigned short)p->console_height,
				     .ws_col = (unsigned short)p->console_width};
		if (ioctl(*slave, TIOCSWINSZ, &ws) < 0)
			return hull_error(err, errno, "process.consoleSize");
	}
	return steal_fd(&master);
}

int console_make_controlling(int slave, struct hull_err *err)
{
	if (setsid() < 0)
		return hull_error(err, errno, "process.terminal: setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return hull_error(err, errno, "process.terminal: set controlling terminal");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return hull_error(err, errno, "process.terminal: dup pty onto stdio");
	if (slave > 2)
		close(slave);
	return 0;
}

int console_send_fd(int sock, int fd, struct hull_err *err)
{
	char name[] = "/dev/ptmx";
	struct iovec iov = {.iov_base = name, .iov_len = sizeof name - 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl = {0};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof ctl.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return hull_error(err, errno, "--console-socket: send the pty");
	return 0;
}

int console_recv_fd(int sock, struct hull_err *err)
{
	char name[64];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof ctl.buf};
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0)
		return hull_error(err, errno, "receive the pty");
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS)
		return hull_error(err, EPROTO, "receive the pty");
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

int console_connect(const char *path, struct hull_err *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof addr.sun_path)
		return hull_error(err, ENAMETOOLONG, "--console-socket %s", path);
	strcpy(addr.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hull_error(err, errno, "--console-socket: socket");
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		return hull_error(err, errno, "--console-socket: connect %s", path);
	return steal_fd(&fd);
}

static volatile sig_atomic_t winch;

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

static bool copy_once(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof buf);
	if (n <= 0)
		return false;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w <= 0)
			return false;
		off += w;
	}
	return true;
}

void console_relay(int master)
{
	struct termios saved, raw;
	bool tty = tcgetattr(STDIN_FILENO, &saved) == 0;
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		struct sigaction sa = {.sa_handler = on_winch};
		sigaction(SIGWINCH, &sa, NULL);
		winch = 1;
	}
	struct pollfd fds[2] = {{.fd = master, .events = POLLIN},
				{.fd = STDIN_FILENO, .events = POLLIN}};
	for (;;) {
		if (winch) {
			struct winsize ws;
			if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
				ioctl(master, TIOCSWINSZ, &ws);
			winch = 0;
		}
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
			if (!copy_once(master, STDOUT_FILENO))
				break;
		if (fds[1].revents & POLLIN) {
			if (!copy_once(STDIN_FILENO, master))
				fds[1].fd = -1; /* stdin closed: keep showing output */
		} else if (fds[1].revents & (POLLHUP | POLLERR)) {
			fds[1].fd = -1;
		}
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
}

int console_hand_over(const struct oci_process *p, int console_fd, int sync_fd,
		      struct hull_err *err)
{
	if (!p->terminal)
		return 0;
	int slave;
	_cleanup_close_ int master = console_open(p, &slave, err);
	if (master < 0)
		return -1;
	if (console_fd >= 0) {
		if (console_send_fd(console_fd, master, err) < 0)
			return -1;
	} else if (sync_send(sync_fd, SYNC_PTY, 0, NULL, err) < 0 ||
		   console_send_fd(sync_fd, master, err) < 0) {
		return -1;
	}
	return console_make_controlling(slave, err);
}
