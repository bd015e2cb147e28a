/* Device nodes in the container: the default set and symlinks when the spec gave /dev a
 * fresh tmpfs (runtime-spec "Default Devices", "Dev symbolic links"), then the spec's
 * linux.devices. Made with mknod, or, in a user namespace, where the kernel refuses
 * mknod of devices, bind-mounted from the host's node onto an empty file. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/safepath.h"
#include "rootfs_internal.h"

#define DEFAULT_DEVICE(name, maj, min)                                                             \
	{                                                                                          \
		.path = "/dev/" name, .type = 'c', .major = maj, .minor = min, .file_mode = 0666,  \
		.has_file_mode = true                                                              \
	}

static const struct oci_device default_devices[] = {
    DEFAULT_DEVICE("null", 1, 3),   DEFAULT_DEVICE("zero", 1, 5),    DEFAULT_DEVICE("full", 1, 7),
    DEFAULT_DEVICE("random", 1, 8), DEFAULT_DEVICE("urandom", 1, 9), DEFAULT_DEVICE("tty", 5, 0),
};

static const struct {
	const char *name, *target;
} dev_links[] = {
    {"fd", "/proc/self/fd"},	   {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

static mode_t type_bits(char type)
{
	switch (type) {
	case 'b':
		return S_IFBLK;
	case 'p':
		return S_IFIFO;
	default: /* 'c' and 'u' (unbuffered) are both character devices */
		return S_IFCHR;
	}
}

static bool is_device(const struct stat *st, mode_t type, dev_t rdev)
{
	return (st->st_mode & S_IFMT) == type && (type == S_IFIFO || st->st_rdev == rdev);
}

/* Something is at the device's path already: the device itself is fine (runtime-spec
 * "Devices": a matching file may exist, another is an error); in a user namespace an
 * empty file is the placeholder a bind goes onto. 0 = done, 1 = bind onto it. */
static int check_existing(int fd, mode_t type, dev_t rdev, bool bind, struct hull_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error(err, errno, "stat");
	if (is_device(&st, type, rdev))
		return 0;
	if (bind && S_ISREG(st.st_mode) && st.st_size == 0)
		return 1;
	return hull_error(err, EEXIST, "a different file is already there");
}

/* Bind the host's node of the same path onto target_fd, after checking it is the
 * device the spec describes. */
static int bind_device_onto(const struct ns_rootfs *rfs, const struct oci_device *d, int target_fd,
			    mode_t type, dev_t rdev, struct hull_err *err)
{
	_cleanup_close_ int src = open(d->path, O_PATH | O_CLOEXEC);
	if (src < 0)
		return hull_error(err, errno, "open the host's %s", d->path);
	struct stat st;
	if (fstat(src, &st) < 0)
		return hull_error(err, errno, "stat the host's %s", d->path);
	if (!is_device(&st, type, rdev))
		return hull_error(err, ENODEV, "the host's %s is another device", d->path);
	char source[FD_PATH_SIZE];
	_cleanup_close_ int fd = ns_mount_at(rfs->root_fd, d->path, target_fd, fd_path(src, source),
					     NULL, MS_BIND, NULL, src, err);
	return fd < 0 ? -1 : 0;
}

static int set_mode_owner(int fd, const struct oci_device *d, mode_t perm, struct hull_err *err)
{
	char path[FD_PATH_SIZE];
	/* mknod applied the umask; an O_PATH fd takes no fchmod, its magic link does. */
	if (chmod(fd_path(fd, path), perm) < 0)
		return hull_error(err, errno, "chmod");
	uid_t uid = d->has_uid ? d->uid : (uid_t)-1;
	gid_t gid = d->has_gid ? d->gid : (gid_t)-1;
	if ((d->has_uid || d->has_gid) && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		return hull_error(err, errno, "chown");
	return 0;
}

static int mknod_device(const struct ns_rootfs *rfs, const struct oci_device *d, mode_t type,
			dev_t rdev, struct hull_err *err)
{
	mode_t perm = d->has_file_mode ? d->file_mode & 07777 : 0666;
	_cleanup_close_ int fd = safe_create_in_root(rfs->root_fd, d->path, type | perm, rdev, err);
	if (fd < 0)
		return -1;
	int r = check_existing(fd, type, rdev, false, err); /* lost a race: not ours */
	if (r != 0)
		return -1;
	return set_mode_owner(fd, d, perm, err);
}

static int create_device(const struct ns_rootfs *rfs, const struct oci_device *d,
			 struct hull_err *err)
{
	mode_t type = type_bits(d->type);
	dev_t rdev = type == S_IFIFO ? 0 : makedev(d->major, d->minor);
	/* A fifo needs no privilege; device nodes need CAP_MKNOD in the initial userns. */
	bool bind = rfs->in_userns && type != S_IFIFO;
	_cleanup_close_ int fd = safe_open_in_root(rfs->root_fd, d->path, O_PATH, err);
	if (fd >= 0) {
		int r = check_existing(fd, type, rdev, bind, err);
		return r <= 0 ? r : bind_device_onto(rfs, d, fd, type, rdev, err);
	}
	if (err->code != ENOENT)
		return -1;
	hull_err_clear(err);
	if (!bind)
		return mknod_device(rfs, d, type, rdev, err);
	fd = safe_create_in_root(rfs->root_fd, d->path, S_IFREG | 0644, 0, err);
	if (fd < 0)
		return -1;
	return bind_device_onto(rfs, d, fd, type, rdev, err);
}

static int create_links(const struct ns_rootfs *rfs, struct hull_err *err)
{
	_cleanup_close_ int dev =
	    safe_open_in_root(rfs->root_fd, "/dev", O_PATH | O_DIRECTORY, err);
	if (dev < 0)
		return -1;
	for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++)
		if (symlinkat(dev_links[i].target, dev, dev_links[i].name) < 0 && errno != EEXIST)
			return hull_error(err, errno, "symlink /dev/%s", dev_links[i].name);
	/* /dev/core only where the kernel has /proc/kcore to point at. */
	if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev, "core") < 0 &&
	    errno != EEXIST)
		return hull_error(err, errno, "symlink /dev/core");
	return 0;
}

/* A tmpfs on /dev from the spec is empty: it needs the default devices and links. */
static bool spec_dev_is_tmpfs(const struct oci_spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];
		size_t len = strlen(m->destination);
		while (len > 1 && m->destination[len - 1] == '/')
			len--;
		if (!m->bind && m->type != NULL && strcmp(m->type, "tmpfs") == 0 && len == 4 &&
		    strncmp(m->destination, "/dev", 4) == 0)
			return true;
	}
	return false;
}

/* The spec's own entry for a default device's path wins. */
static bool spec_has_device(const struct oci_spec *spec, const char *path)
{
	for (size_t i = 0; i < spec->linux_cfg.n_devices; i++)
		if (strcmp(spec->linux_cfg.devices[i].path, path) == 0)
			return true;
	return false;
}

static int default_dev(const struct ns_rootfs *rfs, struct hull_err *err)
{
	for (size_t i = 0; i < sizeof default_devices / sizeof default_devices[0]; i++) {
		const struct oci_device *d = &default_devices[i];
		if (!spec_has_device(rfs->spec, d->path) && create_device(rfs, d, err) < 0)
			return hull_error_wrap(err, "device %s", d->path);
	}
	return create_links(rfs, err);
}

int ns_rootfs_devices(const struct ns_rootfs *rfs, struct hull_err *err)
{
	const struct oci_linux *l = &rfs->spec->linux_cfg;
	if (spec_dev_is_tmpfs(rfs->spec) && default_dev(rfs, err) < 0)
		return -1;
	for (size_t i = 0; i < l->n_devices; i++)
		if (create_device(rfs, &l->devices[i], err) < 0)
			return hull_error_wrap(err, "device %s", l->devices[i].path);
	return 0;
}
