/* Paths inside a directory treated as a root (a container rootfs, an image being
 * unpacked): every lookup is scoped to root_fd, the way chroot would scope it. "/" and
 * ".." never climb above root_fd, and a symlink, even an absolute one such as
 * `etc -> /`, is resolved as if root_fd were "/". Procfs magic links (/proc/self/root...)
 * are refused, since they jump anywhere.
 *
 * The kernel does the resolution (openat2 with RESOLVE_IN_ROOT, Linux 5.6); when openat2
 * is missing (ENOSYS) a walk in user space opens one component at a time with O_NOFOLLOW
 * and resolves each symlink itself, with the same result.
 *
 * Every fd returned is O_CLOEXEC and belongs to the caller. Errors name the path. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

/* Open path (absolute or relative, both taken from root_fd) with open(2) flags. O_CREAT
 * and O_TMPFILE are refused (EINVAL): create with safe_create_in_root, then open.
 * O_NOFOLLOW keeps a trailing symlink unresolved, as with open(2). */
int safe_open_in_root(int root_fd, const char *path, int flags, struct hull_err *err);

/* Make sure path exists, creating what is missing: its parent directories (mode 0755)
 * and the last component with the type and permissions in mode (S_IFDIR, S_IFREG for an
 * empty file, S_IFCHR/S_IFBLK with dev, S_IFIFO; the umask applies). A dangling symlink
 * on the way is followed, inside the root, and its target created. When something
 * already exists at path it is left alone, whatever its type: the caller checks.
 * Returns an O_PATH fd of what is at path now. */
int safe_create_in_root(int root_fd, const char *path, mode_t mode, dev_t dev,
			struct hull_err *err);

/* safe_create_in_root for a directory; fails with ENOTDIR when a non-directory is
 * there. Returns an O_PATH fd of the directory. */
int safe_mkdir_p_in_root(int root_fd, const char *path, mode_t mode, struct hull_err *err);

/* Tests only: act as if openat2 were missing (true) or detect it again (false). */
void safepath_force_fallback(bool on);
