/* PID 1's preparation of the guest: mounts, the config, the rootfs as the container expects
 * it. The rootfs is the initramfs: the kernel unpacked it into its tmpfs root. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "guest.h"

/* Where the initramfs builder (src/microvm/initramfs.c) put the rootfs's own /init. */
#define ROOTFS_INIT "/.hull/rootfs-init"

struct guest_mount {
	const char *source, *target, *fstype;
	unsigned long flags;
	const char *data;
};

static int mount_one(const struct guest_mount *m, struct hull_err *err)
{
	if (mkdir(m->target, 0755) < 0 && errno != EEXIST)
		return hull_error(err, errno, "mkdir %s", m->target);
	if (mount(m->source, m->target, m->fstype, m->flags, m->data) < 0)
		return hull_error(err, errno, "mount %s on %s", m->fstype, m->target);
	return 0;
}

/* First, so that the hvc nodes exist (devtmpfs creates them as the devices appear). */
int guest_mount_dev(struct hull_err *err)
{
	static const struct guest_mount dev = {"devtmpfs", "/dev", "devtmpfs",
					       MS_NOSUID | MS_NOEXEC, "mode=0755"};
	return mount_one(&dev, err);
}

int guest_mount_rest(struct hull_err *err)
{
	static const struct guest_mount mounts[] = {
	    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
	    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
	    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	     "newinstance,ptmxmode=0666,mode=0620,gid=5"},
	    {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
	    {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
	    {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
	};
	for (size_t i = 0; i < sizeof mounts / sizeof mounts[0]; i++)
		if (mount_one(&mounts[i], err) < 0)
			return -1;
	/* What udev would add and programs expect (bash's process substitution needs
	 * /dev/fd); devtmpfs has none of them. */
	static const char *const links[][2] = {{"/proc/self/fd", "/dev/fd"},
					       {"/proc/self/fd/0", "/dev/stdin"},
					       {"/proc/self/fd/1", "/dev/stdout"},
					       {"/proc/self/fd/2", "/dev/stderr"}};
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlink(links[i][0], links[i][1]) < 0 && errno != EEXIST)
			return hull_error(err, errno, "symlink %s", links[i][1]);
	return 0;
}

int guest_read_config(const char *path, struct guestcfg *cfg, struct hull_err *err)
{
	memset(cfg, 0, sizeof *cfg);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return hull_error(err, errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error(err, errno, "stat %s", path);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > GUESTCFG_MAX_SIZE)
		return hull_error(err, 0, "%s: not a regular file of at most %u bytes", path,
				  GUESTCFG_MAX_SIZE);
	/* One byte more than the size, so that a file that grew is seen as too long. */
	size_t cap = (size_t)st.st_size + 1, len = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (buf == NULL)
		return hull_error(err, ENOMEM, "reading %s", path);
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hull_error(err, errno, "read %s", path);
		if (n == 0 || (len += (size_t)n) == cap)
			break;
	}
	if (len == cap)
		return hull_error(err, 0, "%s changed while being read", path);
	return guestcfg_parse(buf, len, cfg, err);
}

static int unlink_if_there(const char *path, struct hull_err *err)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return hull_error(err, errno, "unlink %s", path);
	return 0;
}

/* The kernel ran our binary as /init; the running process keeps its inode. */
int guest_restore_rootfs(struct hull_err *err)
{
	struct stat st;
	if (unlink_if_there(GUEST_CONFIG, err) < 0 || unlink_if_there("/init", err) < 0)
		return -1;
	if (lstat(ROOTFS_INIT, &st) == 0 && rename(ROOTFS_INIT, "/init") < 0)
		return hull_error(err, errno, "rename %s to /init", ROOTFS_INIT);
	if (rmdir("/.hull") < 0 && errno != ENOENT)
		return hull_error(err, errno, "rmdir /.hull");
	return 0;
}

/* Only this mount turns read-only (MS_BIND with MS_REMOUNT): /dev, /proc, /tmp, /run stay
 * as mounted above, like the tmpfs mounts of a container with a read-only rootfs. */
int guest_remount_root_readonly(struct hull_err *err)
{
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return hull_error(err, errno, "remount / read-only");
	return 0;
}

/* Programs expect 127.0.0.1 to work; the kernel adds that address when lo goes up. Best
 * effort: a guest without networking still runs its process. */
void guest_loopback_up(void)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return;
	ifr.ifr_flags |= IFF_UP;
	(void)ioctl(s, SIOCSIFFLAGS, &ifr);
}

int guest_set_raw(int fd, struct hull_err *err)
{
	struct termios t;
	if (tcgetattr(fd, &t) < 0)
		return hull_error(err, errno, "tcgetattr");
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return hull_error(err, errno, "tcsetattr");
	return 0;
}
