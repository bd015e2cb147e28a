/* Safe paths in a hostile root, and the rootfs steps built on them.
 *
 * The safepath cases build a temporary tree whose root holds symlinks that try to leave
 * it (`etc -> /`, `a -> ../../../..`, an absolute link to a host directory, chains, a
 * loop) and check that lookups and creations stay inside, once with openat2 and once
 * with the user-space walk. The rootfs cases fork a child into a private mount
 * namespace (they need root), run the real steps there and report by exit status; the
 * parent then checks that nothing reached the host. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/safepath.h"
#include "namespaces/namespaces.h"
#include "namespaces/rootfs_internal.h"
#include "unit.h"

#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#endif

/* --- the hostile tree --- */

struct tree {
	char base[64];	 /* /tmp/hull-sp-XXXXXX, holds root/, canary/, src/ */
	char root[96];	 /* the root under test */
	char canary[96]; /* outside the root: must stay empty */
	char uniq[32];	 /* a name nothing else uses, for checks on the host's "/" */
	int root_fd;
};

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	if (fd >= 0)
		close(fd);
}

static void at(const struct tree *t, char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", t->root, rel);
}

static void tree_make(struct tree *t)
{
	static const char *const links[][2] = {
	    {"/", "etc"},	   {"../../../..", "a"}, {"chain2", "chain1"},
	    {"/chain3", "chain2"}, {"etc", "chain3"},	 {"loop2", "loop1"},
	    {"loop1", "loop2"},	   {"..", "dotdot"},	 {"/made/by/dangling", "dangling"},
	};
	char p[256];
	snprintf(t->base, sizeof t->base, "/tmp/hull-sp-XXXXXX");
	CHECK(mkdtemp(t->base) != NULL);
	snprintf(t->root, sizeof t->root, "%s/root", t->base);
	snprintf(t->canary, sizeof t->canary, "%s/canary", t->base);
	snprintf(t->uniq, sizeof t->uniq, "hull-escape-%s", t->base + 13);
	CHECK(mkdir(t->root, 0755) == 0 && mkdir(t->canary, 0755) == 0);
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		at(t, p, sizeof p, links[i][1]);
		CHECK(symlink(links[i][0], p) == 0);
	}
	at(t, p, sizeof p, "escape"); /* an absolute link to a host directory */
	CHECK(symlink(t->canary, p) == 0);
	at(t, p, sizeof p, "real");
	CHECK(mkdir(p, 0755) == 0);
	at(t, p, sizeof p, "real/file");
	put_file(p, "hello");
	t->root_fd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(t->root_fd >= 0);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	remove(path);
	return 0;
}

static void tree_free(struct tree *t)
{
	char host[64];
	snprintf(host, sizeof host, "/%s", t->uniq);
	CHECK(access(host, F_OK) < 0);		      /* nothing was created on the host's "/" */
	nftw(host, rm_one, 16, FTW_DEPTH | FTW_PHYS); /* a failed case cleans up too */
	close(t->root_fd);
	nftw(t->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	CHECK(access(t->base, F_OK) < 0);
}

static bool dir_is_empty(const char *path)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			return false;
	return d != NULL;
}

/* fd is open on the file at root/rel. */
static bool fd_is(const struct tree *t, int fd, const char *rel)
{
	char p[256];
	struct stat a, b;
	at(t, p, sizeof p, rel);
	return fd >= 0 && fstat(fd, &a) == 0 && lstat(p, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static bool exists_in(const struct tree *t, const char *rel, mode_t type)
{
	char p[256];
	struct stat st;
	at(t, p, sizeof p, rel);
	return lstat(p, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

/* Each safepath case runs twice: with openat2, and with the fallback walk. */
#define BOTH(fn)                                                                                   \
	static void fn##_openat2(void)                                                             \
	{                                                                                          \
		safepath_force_fallback(false);                                                    \
		fn();                                                                              \
	}                                                                                          \
	static void fn##_walk(void)                                                                \
	{                                                                                          \
		safepath_force_fallback(true);                                                     \
		fn();                                                                              \
		safepath_force_fallback(false);                                                    \
	}

/* --- safe_open_in_root --- */

static void open_through_absolute_symlink(void)
{
	struct tree t;
	tree_make(&t);
	struct hull_err err = {0};
	_cleanup_close_ int fd = safe_open_in_root(t.root_fd, "/etc/etc/real/file", O_RDONLY, &err);
	char buf[16] = {0};
	CHECK(fd >= 0 && read(fd, buf, sizeof buf - 1) == 5);
	CHECK_STR(buf, "hello");
	_cleanup_close_ int dir = safe_open_in_root(t.root_fd, "etc", O_PATH | O_DIRECTORY, &err);
	CHECK(fd_is(&t, dir, "."));
	tree_free(&t);
}
BOTH(open_through_absolute_symlink)

static void open_dotdot_clamped_at_root(void)
{
	struct tree t;
	tree_make(&t);
	struct hull_err err = {0};
	_cleanup_close_ int a = safe_open_in_root(t.root_fd, "a/real/file", O_PATH, &err);
	_cleanup_close_ int b = safe_open_in_root(t.root_fd, "../../../real/file", O_PATH, &err);
	_cleanup_close_ int c = safe_open_in_root(t.root_fd, "dotdot/dotdot/real/", O_PATH, &err);
	_cleanup_close_ int d = safe_open_in_root(t.root_fd, "a", O_PATH, &err);
	CHECK(fd_is(&t, a, "real/file") && fd_is(&t, b, "real/file"));
	CHECK(fd_is(&t, c, "real") && fd_is(&t, d, "."));
	tree_free(&t);
}
BOTH(open_dotdot_clamped_at_root)

static void open_host_link_stays_inside(void)
{
	struct tree t;
	tree_make(&t);
	struct hull_err err = {0};
	/* escape -> <base>/canary on the host: inside the root that path does not exist. */
	CHECK(safe_open_in_root(t.root_fd, "escape", O_PATH, &err) < 0);
	CHECK(err.code == ENOENT);
	CHECK_STR(hull_err_text(&err), "open escape: No such file or directory");
	hull_err_clear(&err);
	tree_free(&t);
}
BOTH(open_host_link_stays_inside)

static void open_chain_and_loop(void)
{
	struct tree t;
	tree_make(&t);
	struct hull_err err = {0};
	_cleanup_close_ int fd = safe_open_in_root(t.root_fd, "chain1/real/file", O_PATH, &err);
	CHECK(fd_is(&t, fd, "real/file"));
	CHECK(safe_open_in_root(t.root_fd, "loop1", O_PATH, &err) < 0 && err.code == ELOOP);
	CHECK(safe_open_in_root(t.root_fd, "loop1/x", O_PATH, &err) < 0 && err.code == ELOOP);
	hull_err_clear(&err);
	tree_free(&t);
}
BOTH(open_chain_and_loop)

static void open_flags_like_open(void)
{
	struct tree t;
	tree_make(&t);
	struct hull_err err = {0};
	struct stat st;
	_cleanup_close_ int link = safe_open_in_root(t.root_fd, "etc", O_PATH | O_NOFOLLOW, &err);
	CHECK(link >= 0 && fstat(link, &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(safe_open_in_root(t.root_fd, "etc", O_RDONLY | O_NOFOLLOW, &err) < 0);
	CHECK(err.code == ELOOP);
	CHECK(safe_open_in_root(t.root_fd, "real/file", O_PATH | O_DIRECTORY, &err) < 0);
	CHECK(err.code == ENOTDIR);
	CHECK(safe_open_in_root(t.root_fd, "new", O_CREAT | O_WRONLY, &err) < 0);
	CHECK(err.code == EINVAL);
	_cleanup_close_ int dir = safe_open_in_root(t.root_fd, "/", O_RDONLY | O_DIRECTORY, &err);
	CHECK(fd_is(&t, dir, "."));
	hull_err_clear(&err);
	tree_free(&t);
}
BOTH(open_flags_like_open)

/* --- creation --- */

static void mkdir_through_absolute_symlink(void)
{
	struct tree t;
	tree_make(&t);
	struct hull_err err = {0};
	char path[128], rel[128];
	snprintf(path, sizeof path, "etc/%s/sub", t.uniq);
	snprintf(rel, sizeof rel, "%s/sub", t.uniq);
	_cleanup_close_ int fd = safe_mkdir_p_in_root(t.root_fd, path, 0755, &err);
	CHECK(fd_is(&t, fd, rel) && exists_in(&t, rel, S_IFDIR));
	tree_free(&t); /* checks /<uniq> was not made on the host */
}
BOTH(mkdir_through_absolute_symlink)

static void mkdir_through_relative_escape(void)
{
	struct tree t;
	tree_make(&t);
	struct hull_err err = {0};
	char path[192];
	/* a -> ../../../.. climbs to the host's "/" unless clamped; then the path names
	 * the canary. */
	snprintf(path, sizeof path, "a%s/x", t.canary);
	_cleanup_close_ int fd = safe_mkdir_p_in_root(t.root_fd, path, 0755, &err);
	CHECK(fd_is(&t, fd, path + 2));
	CHECK(dir_is_empty(t.canary));
	tree_free(&t);
}
BOTH(mkdir_through_relative_escape)

static void create_through_dangling_links(void)
{
	struct tree t;
	tree_make(&t);
	struct hull_err err = {0};
	/* escape -> <canary> is dangling inside the root: it is created there. */
	_cleanup_close_ int dir = safe_mkdir_p_in_root(t.root_fd, "escape/newdir", 0755, &err);
	char rel[160];
	snprintf(rel, sizeof rel, "%s/newdir", t.canary + 1);
	CHECK(fd_is(&t, dir, rel) && dir_is_empty(t.canary));
	_cleanup_close_ int file =
	    safe_create_in_root(t.root_fd, "dangling", S_IFREG | 0600, 0, &err);
	CHECK(fd_is(&t, file, "made/by/dangling") && exists_in(&t, "made/by/dangling", S_IFREG));
	CHECK(exists_in(&t, "dangling", S_IFLNK));
	_cleanup_close_ int chained = safe_create_in_root(t.root_fd, "chain1/f", S_IFREG, 0, &err);
	CHECK(fd_is(&t, chained, "f"));
	tree_free(&t);
}
BOTH(create_through_dangling_links)

static void create_leaves_existing_alone(void)
{
	struct tree t;
	tree_make(&t);
	struct hull_err err = {0};
	struct stat st;
	_cleanup_close_ int dir = safe_create_in_root(t.root_fd, "real", S_IFREG | 0644, 0, &err);
	CHECK(dir >= 0 && fstat(dir, &st) == 0 && S_ISDIR(st.st_mode));
	_cleanup_close_ int file = safe_create_in_root(t.root_fd, "real/file", S_IFREG, 0, &err);
	CHECK(file >= 0 && fstat(file, &st) == 0 && st.st_size == 5); /* not truncated */
	CHECK(safe_mkdir_p_in_root(t.root_fd, "real/file", 0755, &err) < 0);
	CHECK(err.code == ENOTDIR);
	CHECK(safe_mkdir_p_in_root(t.root_fd, "real/file/sub", 0755, &err) < 0);
	CHECK(err.code == ENOTDIR);
	CHECK(safe_mkdir_p_in_root(t.root_fd, "loop1/x", 0755, &err) < 0 && err.code == ELOOP);
	hull_err_clear(&err);
	tree_free(&t);
}
BOTH(create_leaves_existing_alone)

static void create_device_node(void)
{
	struct tree t;
	tree_make(&t);
	struct hull_err err = {0};
	struct stat st;
	_cleanup_close_ int fd =
	    safe_create_in_root(t.root_fd, "/etc/dev/null", S_IFCHR | 0666, makedev(1, 3), &err);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode));
	CHECK(st.st_rdev == makedev(1, 3) && fd_is(&t, fd, "dev/null"));
	tree_free(&t);
}
BOTH(create_device_node)

/* openat2 refuses procfs magic links; the walk reads them as text, inside the root. */
static void magic_links_refused(void)
{
	safepath_force_fallback(false);
	struct hull_err err = {0};
	_cleanup_close_ int host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(safe_open_in_root(host, "/proc/self/root/etc", O_PATH, &err) < 0);
	CHECK(err.code == ELOOP);
	hull_err_clear(&err);
}

/* Only ENOSYS from openat2 picks the walk: a seccomp filter fakes an old kernel. */
static void fallback_on_enosys(void)
{
	struct tree t;
	tree_make(&t);
	safepath_force_fallback(false);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct sock_filter f[] = {
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(2);
		struct hull_err err = {0};
		int fd = safe_mkdir_p_in_root(t.root_fd, "etc/a/x/y", 0755, &err);
		_exit(fd_is(&t, fd, "x/y") ? 0 : 1);
	}
	int status = -1;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	tree_free(&t);
}

/* --- the rootfs steps, in a child's private mount namespace --- */

static void in_mount_ns(const struct tree *t, void (*fn)(const struct tree *))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(2);
		unit_case_failed = 0;
		fn(t);
		fflush(stdout);
		_exit(unit_case_failed);
	}
	int status = -1;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The host's mount table never saw the child's mounts. */
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		CHECK(strstr(line, t->base) == NULL && strstr(line, t->uniq) == NULL);
}

/* The mount at mount_point (the top one), its fstype and per-mount options. */
static bool find_mount(const char *mount_point, char fstype[64], char opts[256])
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], mp[4096], o[256], type[64];
	bool found = false;
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		char *dash = strstr(line, " - ");
		if (dash == NULL || sscanf(line, "%*s %*s %*s %*s %4095s %255s", mp, o) != 2 ||
		    sscanf(dash + 3, "%63s", type) != 1 || strcmp(mp, mount_point) != 0)
			continue;
		found = true;
		snprintf(fstype, 64, "%s", type);
		snprintf(opts, 256, "%s", o);
	}
	return found;
}

/* A mount of fstype at root/rel whose options hold opt (NULL: any). */
static bool mounted(const struct tree *t, const char *rel, const char *fstype, const char *opt)
{
	char p[256], type[64], opts[256];
	at(t, p, sizeof p, rel);
	if (!find_mount(p, type, opts))
		return false;
	return strcmp(type, fstype) == 0 && (opt == NULL || strstr(opts, opt) != NULL);
}

static bool is_node(const char *path, mode_t type, dev_t rdev, mode_t perm)
{
	struct stat st;
	return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == type &&
	       (type == S_IFIFO || st.st_rdev == rdev) && (st.st_mode & 07777) == perm;
}

static bool link_is(const struct tree *t, const char *rel, const char *target)
{
	char p[256], buf[256];
	at(t, p, sizeof p, rel);
	ssize_t n = readlink(p, buf, sizeof buf - 1);
	return n > 0 && (buf[n] = '\0', strcmp(buf, target) == 0);
}

static int errno_of_create(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0) {
		close(fd);
		unlink(path);
		return 0;
	}
	return errno;
}

struct spec_box {
	struct oci_spec spec;
	char src_file[128], src_dir[128], dests[4][128];
};

static void spec_init(struct spec_box *b, const struct tree *t)
{
	memset(b, 0, sizeof *b);
	b->spec.root_path = (char *)t->root;
	snprintf(b->src_file, sizeof b->src_file, "%s/src-file", t->base);
	snprintf(b->src_dir, sizeof b->src_dir, "%s/src-dir", t->base);
	put_file(b->src_file, "hi");
	CHECK(mkdir(b->src_dir, 0755) == 0 || errno == EEXIST);
}

static void prepare_checks(const struct tree *t)
{
	char p[256];
	CHECK(mounted(t, "dev", "tmpfs", "nosuid") && mounted(t, "dev/shm", "tmpfs", NULL));
	CHECK(mounted(t, t->uniq, "tmpfs", NULL) && exists_in(t, t->uniq, S_IFDIR));
	at(t, p, sizeof p, t->uniq);
	CHECK(is_node(p, S_IFDIR, 0, 0700)); /* mode= reached the kernel */
	CHECK(mounted(t, "data/hello", "ext4", NULL) || mounted(t, "data/hello", "tmpfs", NULL));
	at(t, p, sizeof p, "data/hello");
	char buf[8] = {0};
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, buf, sizeof buf) == 2 && close(fd) == 0);
	CHECK_STR(buf, "hi");
	CHECK(mounted(t, "ro", "ext4", "ro") || mounted(t, "ro", "tmpfs", "ro"));
	at(t, p, sizeof p, "ro/new");
	CHECK(errno_of_create(p) == EROFS);
	CHECK(mounted(t, "proc", "proc", NULL) && mounted(t, "sys/fs/cgroup", "tmpfs", "ro"));
	CHECK(mounted(t, "rn", "ext4", "nosuid") || mounted(t, "rn", "tmpfs", "nosuid"));
}

static void device_checks(const struct tree *t)
{
	char p[256];
	at(t, p, sizeof p, "dev/null");
	CHECK(is_node(p, S_IFCHR, makedev(1, 3), 0666));
	at(t, p, sizeof p, "dev/tty");
	CHECK(is_node(p, S_IFCHR, makedev(5, 0), 0666));
	at(t, p, sizeof p, "dev/hull0");
	CHECK(is_node(p, S_IFCHR, makedev(1, 7), 0620));
	struct stat st;
	CHECK(stat(p, &st) == 0 && st.st_uid == 1000 && st.st_gid == 1001);
	at(t, p, sizeof p, "dev/fifo0");
	CHECK(is_node(p, S_IFIFO, 0, 0600));
	CHECK(link_is(t, "dev/fd", "/proc/self/fd") && link_is(t, "dev/ptmx", "pts/ptmx"));
	CHECK(link_is(t, "dev/stderr", "/proc/self/fd/2"));
}

static void run_prepare(const struct tree *t)
{
	struct spec_box b;
	spec_init(&b, t);
	snprintf(b.dests[0], sizeof b.dests[0], "/etc/%s", t->uniq); /* etc -> / */
	struct oci_mount mounts[] = {
	    {.destination = "/dev",
	     .type = "tmpfs",
	     .source = "tmpfs",
	     .flags = MS_NOSUID,
	     .data = "mode=755,size=64k"},
	    {.destination = b.dests[0], .type = "tmpfs", .source = "tmpfs", .data = "mode=700"},
	    {.destination = "/data/hello", .source = b.src_file, .bind = true},
	    {.destination = "/ro",
	     .source = b.src_dir,
	     .bind = true,
	     .recursive = true,
	     .flags = MS_RDONLY},
	    {.destination = "/a/proc", .type = "proc", .source = "proc"}, /* a -> ../../.. */
	    {.destination = "/sys/fs/cgroup", .type = "cgroup", .flags = MS_RDONLY},
	    {.destination = "/rn",
	     .source = b.src_dir,
	     .bind = true,
	     .recursive = true,
	     .attr_set = MOUNT_ATTR_NOSUID},
	    {.destination = "/dev/shm", .type = "tmpfs", .source = "shm", .data = "mode=1777"},
	};
	struct oci_device devices[] = {
	    {.path = "/dev/hull0",
	     .type = 'c',
	     .major = 1,
	     .minor = 7,
	     .file_mode = 0620,
	     .has_file_mode = true,
	     .uid = 1000,
	     .gid = 1001,
	     .has_uid = true,
	     .has_gid = true},
	    {.path = "/dev/fifo0", .type = 'p', .file_mode = 0600, .has_file_mode = true},
	};
	b.spec.mounts = mounts;
	b.spec.n_mounts = sizeof mounts / sizeof mounts[0];
	b.spec.linux_cfg.devices = devices;
	b.spec.linux_cfg.n_devices = 2;
	struct ns_rootfs rfs = {.spec = &b.spec, .root_fd = -1};
	struct hull_err err = {0};
	CHECK(ns_rootfs_prepare(&rfs, &err) == 0);
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	prepare_checks(t);
	device_checks(t);
	char host[64];
	snprintf(host, sizeof host, "/%s", t->uniq);
	CHECK(access(host, F_OK) < 0);
}

static void prepare_mounts_land_inside(void)
{
	struct tree t;
	tree_make(&t);
	in_mount_ns(&t, run_prepare);
	tree_free(&t);
}

static void run_pivot_finish(const struct tree *t)
{
	struct spec_box b;
	spec_init(&b, t);
	char p[256];
	at(t, p, sizeof p, "secret");
	CHECK(mkdir(p, 0755) == 0);
	at(t, p, sizeof p, "secret/file");
	put_file(p, "x");
	struct oci_mount mounts[] = {
	    {.destination = "/proc", .type = "proc", .source = "proc"},
	    {.destination = "/dev", .type = "tmpfs", .source = "tmpfs", .data = "mode=755"},
	};
	char *masked[] = {"/proc/meminfo", "/secret", "/missing/x", "/etc/secret"};
	char *readonly[] = {"/proc/sys", "/real", "/nonexistent"};
	b.spec.mounts = mounts;
	b.spec.n_mounts = 2;
	b.spec.linux_cfg.masked_paths = masked;
	b.spec.linux_cfg.n_masked_paths = 4;
	b.spec.linux_cfg.readonly_paths = readonly;
	b.spec.linux_cfg.n_readonly_paths = 3;
	b.spec.root_readonly = true;
	b.spec.linux_cfg.rootfs_propagation = MS_SHARED | MS_REC;
	struct ns_rootfs rfs = {.spec = &b.spec, .root_fd = -1};
	struct hull_err err = {0};
	CHECK(ns_rootfs_prepare(&rfs, &err) == 0 && ns_rootfs_pivot(&rfs, &err) == 0);
	CHECK(ns_rootfs_finish(&rfs, &err) == 0);
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	char buf[64], cwd[64];
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, buf, sizeof buf) == 0 && close(fd) == 0);
	CHECK(dir_is_empty("/secret") && errno_of_create("/secret/y") == EROFS);
	CHECK(errno_of_create("/real/y") == EROFS && errno_of_create("/newfile") == EROFS);
	CHECK(open("/proc/sys/kernel/domainname", O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS);
	CHECK(getcwd(cwd, sizeof cwd) != NULL && strcmp(cwd, "/") == 0);
	CHECK(access(t->base, F_OK) < 0 && access("/real/file", F_OK) == 0);
	char type[64], opts[256];
	CHECK(find_mount("/", type, opts));
	close(rfs.root_fd);
}

static void pivot_then_mask_and_protect(void)
{
	struct tree t;
	tree_make(&t);
	in_mount_ns(&t, run_pivot_finish);
	tree_free(&t);
}

static void run_no_pivot(const struct tree *t)
{
	struct spec_box b;
	spec_init(&b, t);
	struct ns_rootfs rfs = {.spec = &b.spec, .root_fd = -1, .no_pivot = true};
	struct hull_err err = {0};
	CHECK(ns_rootfs_prepare(&rfs, &err) == 0 && ns_rootfs_pivot(&rfs, &err) == 0);
	CHECK(access("/real/file", F_OK) == 0 && access(t->base, F_OK) < 0);
	hull_err_clear(&err);
}

static void no_pivot_moves_and_chroots(void)
{
	struct tree t;
	tree_make(&t);
	in_mount_ns(&t, run_no_pivot);
	tree_free(&t);
}

/* in_userns: nodes are binds of the host's, on empty files. */
static void run_userns_devices(const struct tree *t)
{
	struct spec_box b;
	spec_init(&b, t);
	struct oci_mount mounts[] = {{.destination = "/dev", .type = "tmpfs", .source = "tmpfs"}};
	struct oci_device devices[] = {{.path = "/dev/full", .type = 'c', .major = 1, .minor = 7}};
	b.spec.mounts = mounts;
	b.spec.n_mounts = 1;
	b.spec.linux_cfg.devices = devices;
	b.spec.linux_cfg.n_devices = 1;
	struct ns_rootfs rfs = {.spec = &b.spec, .root_fd = -1, .in_userns = true};
	struct hull_err err = {0};
	CHECK(ns_rootfs_prepare(&rfs, &err) == 0);
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	char p[256];
	struct stat st;
	at(t, p, sizeof p, "dev/null");
	CHECK(stat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
	CHECK(mounted(t, "dev/null", "devtmpfs", NULL) && mounted(t, "dev/full", "devtmpfs", NULL));
}

static void userns_binds_device_nodes(void)
{
	struct tree t;
	tree_make(&t);
	in_mount_ns(&t, run_userns_devices);
	tree_free(&t);
}

static void run_errors(const struct tree *t)
{
	struct spec_box b;
	spec_init(&b, t);
	char p[256];
	at(t, p, sizeof p, "real/null");
	CHECK(mknod(p, S_IFCHR | 0600, makedev(1, 3)) == 0);
	struct oci_device same[] = {{.path = "/real/null", .type = 'c', .major = 1, .minor = 3}};
	struct oci_device clash[] = {{.path = "/real/file", .type = 'c', .major = 1, .minor = 3}};
	struct oci_mount missing[] = {
	    {.destination = "/data", .source = "/nonexistent-hull", .bind = true}};
	struct ns_rootfs rfs = {.spec = &b.spec, .root_fd = -1};
	struct hull_err err = {0};
	b.spec.linux_cfg.devices = same; /* the same device already there is fine */
	b.spec.linux_cfg.n_devices = 1;
	CHECK(ns_rootfs_prepare(&rfs, &err) == 0);
	CHECK(is_node(p, S_IFCHR, makedev(1, 3), 0600)); /* and left alone */
	close(rfs.root_fd);
	b.spec.linux_cfg.devices = clash;
	CHECK(ns_rootfs_prepare(&rfs, &err) < 0);
	CHECK_STR(hull_err_text(&err), "device /real/file: a different file is already there: "
				       "File exists");
	close(rfs.root_fd);
	b.spec.linux_cfg.n_devices = 0;
	b.spec.mounts = missing;
	b.spec.n_mounts = 1;
	CHECK(ns_rootfs_prepare(&rfs, &err) < 0);
	CHECK_STR(hull_err_text(&err),
		  "mount /data: source /nonexistent-hull: No such file or directory");
	close(rfs.root_fd);
	hull_err_clear(&err);
}

static void errors_name_the_mount_and_device(void)
{
	struct tree t;
	tree_make(&t);
	in_mount_ns(&t, run_errors);
	tree_free(&t);
}

/* cgroup mounts, straight through ns_mount: a pure v2 view, v1 binds, v1 mounts. */
static void run_cgroups(const struct tree *t)
{
	char a[128], c[160], p[256];
	snprintf(a, sizeof a, "%s/cg-a", t->base);
	snprintf(c, sizeof c, "%s/marker", a);
	CHECK(mkdir(a, 0755) == 0);
	put_file(c, "m");
	struct cgroup_view_entry v2e = {.name = "", .fstype = "cgroup2", .host_dir = a};
	struct cgroup_view_entry v1e[] = {
	    {.name = "cpu,cpuacct", .fstype = "cgroup", .fs_options = "cpu", .host_dir = a},
	    {.name = "memory", .fstype = "cgroup", .fs_options = "memory", .host_dir = a},
	};
	struct cgroup_view v2 = {&v2e, 1}, v1 = {v1e, 2};
	struct oci_mount m = {.destination = "/etc/cg2", .type = "cgroup2"};
	struct oci_mount mro = {.destination = "/cg1", .type = "cgroup", .flags = MS_RDONLY};
	/* An fd opened before unshare is on the parent namespace's mount: reopen. */
	struct ns_rootfs rfs = {.root_fd = open(t->root, O_PATH | O_CLOEXEC), .cgroups = &v2};
	struct hull_err err = {0};
	CHECK(ns_mount(&rfs, &m, &err) == 0 && exists_in(t, "cg2/marker", S_IFREG));
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	rfs.cgroups = &v1;
	CHECK(ns_mount(&rfs, &mro, &err) == 0 && mounted(t, "cg1", "tmpfs", "ro"));
	CHECK(exists_in(t, "cg1/cpu,cpuacct/marker", S_IFREG) &&
	      link_is(t, "cg1/cpu", "cpu,cpuacct"));
	at(t, p, sizeof p, "cg1/new");
	CHECK(errno_of_create(p) == EROFS);
	rfs.new_cgroupns = true;
	v1e[0].name = "memory";
	v1.n = 1;
	mro.destination = "/cg3";
	CHECK(ns_mount(&rfs, &mro, &err) == 0 && mounted(t, "cg3/memory", "cgroup", "ro"));
	if (err.msg)
		printf("#   %s\n", hull_err_text(&err));
	hull_err_clear(&err);
	close(rfs.root_fd);
}

static void cgroup_views_mount_inside(void)
{
	struct tree t;
	tree_make(&t);
	in_mount_ns(&t, run_cgroups);
	tree_free(&t);
}

int main(void)
{
	RUN(open_through_absolute_symlink_openat2);
	RUN(open_through_absolute_symlink_walk);
	RUN(open_dotdot_clamped_at_root_openat2);
	RUN(open_dotdot_clamped_at_root_walk);
	RUN(open_host_link_stays_inside_openat2);
	RUN(open_host_link_stays_inside_walk);
	RUN(open_chain_and_loop_openat2);
	RUN(open_chain_and_loop_walk);
	RUN(open_flags_like_open_openat2);
	RUN(open_flags_like_open_walk);
	RUN(mkdir_through_absolute_symlink_openat2);
	RUN(mkdir_through_absolute_symlink_walk);
	RUN(mkdir_through_relative_escape_openat2);
	RUN(mkdir_through_relative_escape_walk);
	RUN(create_through_dangling_links_openat2);
	RUN(create_through_dangling_links_walk);
	RUN(create_leaves_existing_alone_openat2);
	RUN(create_leaves_existing_alone_walk);
	RUN(create_device_node_openat2);
	RUN(create_device_node_walk);
	RUN(magic_links_refused);
	RUN(fallback_on_enosys);
	if (geteuid() != 0) {
		printf("# rootfs cases skipped: they need root\n");
		return unit_done();
	}
	RUN(prepare_mounts_land_inside);
	RUN(pivot_then_mask_and_protect);
	RUN(no_pivot_moves_and_chroots);
	RUN(userns_binds_device_nodes);
	RUN(errors_name_the_mount_and_device);
	RUN(cgroup_views_mount_inside);
	return unit_done();
}
