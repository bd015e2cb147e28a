/* tmpcopyup: a tmpfs mounted over a directory of the image starts with a copy of what
 * the image had there (what podman's --read-only relies on for /run, /tmp and /var/tmp).
 * Both sides are directory fds inside the container root; nothing is followed: symlinks
 * are copied as symlinks, so the image cannot point the copy at the host. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "rootfs_internal.h"

enum { COPY_MAX_DEPTH = 64 };

static int copy_file(int src_dir, int dst_dir, const char *name, const struct stat *st,
		     struct hull_err *err)
{
	_cleanup_close_ int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int out =
	    in < 0
		? -1
		: openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return hull_error(err, errno, "tmpcopyup: copy %s", name);
	for (off_t left = st->st_size; left > 0;) {
		ssize_t n = sendfile(out, in, NULL, (size_t)left);
		if (n <= 0)
			return hull_error(err, n < 0 ? errno : EIO, "tmpcopyup: copy %s", name);
		left -= n;
	}
	return 0;
}

static int copy_entry(int src_dir, int dst_dir, const char *name, int depth, struct hull_err *err);

static int copy_dir_entries(int src, int dst, int depth, struct hull_err *err)
{
	if (depth > COPY_MAX_DEPTH)
		return hull_error(err, ELOOP, "tmpcopyup: directories nested too deep");
	_cleanup_closedir_ DIR *d = fdopendir(dup(src));
	if (d == NULL)
		return hull_error(err, errno, "tmpcopyup: read directory");
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (copy_entry(src, dst, e->d_name, depth, err) < 0)
			return -1;
	}
	return 0;
}

static int copy_attrs(int dst_dir, const char *name, const struct stat *st, struct hull_err *err)
{
	if (fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_error(err, errno, "tmpcopyup: chown %s", name);
	if (!S_ISLNK(st->st_mode) && fchmodat(dst_dir, name, st->st_mode & 07777, 0) < 0)
		return hull_error(err, errno, "tmpcopyup: chmod %s", name);
	const struct timespec times[2] = {st->st_atim, st->st_mtim};
	utimensat(dst_dir, name, times, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int copy_entry(int src_dir, int dst_dir, const char *name, int depth, struct hull_err *err)
{
	struct stat st;
	if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_error(err, errno, "tmpcopyup: stat %s", name);
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dst_dir, name, 0700) < 0)
			return hull_error(err, errno, "tmpcopyup: mkdir %s", name);
		_cleanup_close_ int s =
		    openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int d =
		    openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return hull_error(err, errno, "tmpcopyup: open %s", name);
		if (copy_dir_entries(s, d, depth + 1, err) < 0)
			return -1;
	} else if (S_ISREG(st.st_mode)) {
		if (copy_file(src_dir, dst_dir, name, &st, err) < 0)
			return -1;
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(src_dir, name, target, sizeof target - 1);
		if (n < 0)
			return hull_error(err, errno, "tmpcopyup: readlink %s", name);
		target[n] = '\0';
		if (symlinkat(target, dst_dir, name) < 0)
			return hull_error(err, errno, "tmpcopyup: symlink %s", name);
	} else if (mknodat(dst_dir, name, st.st_mode, st.st_rdev) < 0) {
		return hull_error(err, errno, "tmpcopyup: mknod %s", name);
	}
	return copy_attrs(dst_dir, name, &st, err);
}

int ns_copy_up(int src_dir, int dst_dir, struct hull_err *err)
{
	struct stat st;
	if (fstat(src_dir, &st) < 0)
		return hull_error(err, errno, "tmpcopyup: stat");
	if (copy_dir_entries(src_dir, dst_dir, 0, err) < 0)
		return -1;
	/* The tmpfs root takes the owner and mode of the directory it hides. */
	if (fchown(dst_dir, st.st_uid, st.st_gid) < 0 || fchmod(dst_dir, st.st_mode & 07777) < 0)
		return hull_error(err, errno, "tmpcopyup: chown the tmpfs root");
	return 0;
}
