/* The newc cpio writer (src/microvm/cpio.c) and the guest's initramfs
 * (src/microvm/initramfs.c): exact bytes, and archives read back by a small reader here and,
 * when installed, by GNU cpio. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "microvm/cpio.h"
#include "microvm/initramfs.h"
#include "unit.h"

/* ---- a tiny newc reader ---- */

struct entry {
	char name[256];
	unsigned ino, mode, uid, gid, nlink, mtime, size, rmajor, rminor;
	const unsigned char *data;
};

static unsigned hex8(const unsigned char *p)
{
	char tmp[9];
	memcpy(tmp, p, 8);
	tmp[8] = '\0';
	return (unsigned)strtoul(tmp, NULL, 16);
}

/* Parse buf into at most max entries (the trailer excluded); -1 when malformed. */
static int read_archive(const unsigned char *buf, size_t len, struct entry *e, int max)
{
	size_t off = 0;
	for (int n = 0;; n++) {
		if (off + 110 > len || memcmp(buf + off, "070701", 6) != 0 || (off & 3) != 0)
			return -1;
		const unsigned char *h = buf + off + 6;
		struct entry x = {.ino = hex8(h),
				  .mode = hex8(h + 8),
				  .uid = hex8(h + 16),
				  .gid = hex8(h + 24),
				  .nlink = hex8(h + 32),
				  .mtime = hex8(h + 40),
				  .size = hex8(h + 48),
				  .rmajor = hex8(h + 72),
				  .rminor = hex8(h + 80)};
		unsigned namesize = hex8(h + 88);
		if (hex8(h + 96) != 0 || namesize == 0 || namesize > sizeof x.name)
			return -1;
		off += 110;
		if (off + namesize > len || buf[off + namesize - 1] != '\0')
			return -1;
		memcpy(x.name, buf + off, namesize);
		off = (off + namesize + 3) & ~(size_t)3;
		if (off + x.size > len)
			return -1;
		x.data = buf + off;
		off = (off + x.size + 3) & ~(size_t)3;
		if (strcmp(x.name, "TRAILER!!!") == 0)
			return off == len ? n : -1;
		if (n >= max)
			return -1;
		e[n] = x;
	}
}

static const struct entry *find(const struct entry *e, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0)
			return &e[i];
	return NULL;
}

static int index_of(const struct entry *e, int n, const char *name)
{
	const struct entry *x = find(e, n, name);
	return x ? (int)(x - e) : -1;
}

/* ---- the writer ---- */

static void test_header_bytes(void)
{
	struct cpio_writer *w = cpio_new(-1, 0, NULL);
	struct cpio_meta d = {.mode = S_IFDIR | 0755, .uid = 1, .gid = 2, .mtime = 0x5f000000};
	CHECK(cpio_add_dir(w, "d", &d, NULL) == 0);
	size_t len;
	const unsigned char *b = cpio_buffer(w, &len);
	const char *want = "070701"
			   "00000001" /* ino */
			   "000041ED" /* mode */
			   "00000001" /* uid */
			   "00000002" /* gid */
			   "00000002" /* nlink of a directory */
			   "5F000000" /* mtime */
			   "00000000" /* filesize */
			   "00000000"
			   "00000000" /* dev */
			   "00000000"
			   "00000000" /* rdev */
			   "00000002" /* namesize "d\0" */
			   "00000000" /* check */
			   "d";
	CHECK(len == 112 && memcmp(b, want, 111) == 0 && b[111] == '\0');
	cpio_free(w);
}

static void test_padding_and_trailer(void)
{
	struct cpio_writer *w = cpio_new(-1, 0, NULL);
	struct cpio_meta f = {.mode = S_IFREG | 0644};
	CHECK(cpio_add_file_mem(w, "ab", &f, "xyz", 3, NULL) == 0);
	size_t len;
	const unsigned char *b = cpio_buffer(w, &len);
	/* 110 + "ab\0" = 113, padded to 116; 3 data bytes, padded to 120. */
	CHECK(len == 120);
	CHECK(memcmp(b + 110, "ab\0\0\0\0", 6) == 0);
	CHECK(memcmp(b + 116, "xyz\0", 4) == 0);
	CHECK(memcmp(b + 54, "00000003", 8) == 0); /* filesize */
	CHECK(cpio_finish(w, NULL) == 0);
	b = cpio_buffer(w, &len);
	/* Trailer: 110 + "TRAILER!!!\0" = 121 -> 124 */
	CHECK(len == 120 + 124);
	const char *trailer = "070701"
			      "00000000" /* ino */
			      "00000000" /* mode */
			      "00000000"
			      "00000000"
			      "00000001" /* nlink */
			      "00000000" /* mtime */
			      "00000000" /* filesize */
			      "00000000"
			      "00000000"
			      "00000000"
			      "00000000"
			      "0000000B" /* namesize */
			      "00000000";
	CHECK(memcmp(b + 120, trailer, 110) == 0);
	CHECK(memcmp(b + 120 + 110, "TRAILER!!!\0\0\0", 14) == 0);
	CHECK(cpio_size(w) == len);
	cpio_free(w);
}

static void test_symlink_node_and_links(void)
{
	struct cpio_writer *w = cpio_new(-1, 0, NULL);
	struct cpio_meta l = {.mode = S_IFLNK | 0777, .mtime = -5};
	struct cpio_meta c = {.mode = S_IFCHR | 0600, .rmajor = 5, .rminor = 1};
	struct cpio_meta p = {.mode = S_IFIFO | 0600};
	struct cpio_meta h = {.mode = S_IFREG | 0755, .nlink = 3, .link_dev = 7, .link_ino = 99};
	struct cpio_meta other = {
	    .mode = S_IFREG | 0644, .nlink = 2, .link_dev = 8, .link_ino = 99};
	CHECK(cpio_add_symlink(w, "ln", &l, "../target", NULL) == 0);
	CHECK(cpio_add_node(w, "console", &c, NULL) == 0);
	CHECK(cpio_add_node(w, "fifo", &p, NULL) == 0);
	CHECK(!cpio_link_seen(w, 7, 99));
	CHECK(cpio_add_file_mem(w, "h1", &h, "data", 4, NULL) == 0);
	CHECK(cpio_link_seen(w, 7, 99) && !cpio_link_seen(w, 8, 99));
	CHECK(cpio_add_file_mem(w, "h2", &h, "ignored", 7, NULL) == 0);
	CHECK(cpio_add_file_fd(w, "h3", &h, -1, 4, NULL) == 0);
	CHECK(cpio_add_file_mem(w, "other", &other, "o", 1, NULL) == 0);
	CHECK(cpio_finish(w, NULL) == 0);
	size_t len;
	const unsigned char *b = cpio_buffer(w, &len);
	struct entry e[16];
	int n = read_archive(b, len, e, 16);
	CHECK(n == 7);
	if (n != 7)
		goto out;
	CHECK(e[0].size == 9 && memcmp(e[0].data, "../target", 9) == 0 && e[0].mtime == 0);
	CHECK(e[0].mode == (S_IFLNK | 0777) && e[0].nlink == 1);
	CHECK(e[1].mode == (S_IFCHR | 0600) && e[1].rmajor == 5 && e[1].rminor == 1);
	CHECK(e[2].mode == (S_IFIFO | 0600) && e[2].size == 0);
	/* One inode for the group, data on the first entry, nlink as given on all. */
	CHECK(e[3].ino == e[4].ino && e[4].ino == e[5].ino);
	CHECK(e[3].size == 4 && memcmp(e[3].data, "data", 4) == 0);
	CHECK(e[4].size == 0 && e[5].size == 0);
	CHECK(e[3].nlink == 3 && e[4].nlink == 3 && e[5].nlink == 3);
	CHECK(e[6].ino != e[3].ino && e[6].size == 1);
	/* Distinct inode numbers otherwise. */
	CHECK(e[0].ino != e[1].ino && e[1].ino != e[2].ino && e[2].ino != e[3].ino);
out:
	cpio_free(w);
}

static void test_rejects(void)
{
	struct cpio_writer *w = cpio_new(-1, 0, NULL);
	struct hull_err err = {0};
	struct cpio_meta f = {.mode = S_IFREG | 0644}, d = {.mode = S_IFDIR | 0755};
	CHECK(cpio_add_dir(w, "x", &f, &err) < 0);
	CHECK_CONTAINS(err.msg, "not a directory mode");
	CHECK(cpio_add_file_mem(w, "x", &d, "", 0, &err) < 0);
	CHECK(cpio_add_node(w, "x", &f, &err) < 0);
	CHECK(cpio_add_symlink(w, "x", &f, "t", &err) < 0);
	CHECK(cpio_add_file_mem(w, "", &f, "", 0, &err) < 0);
	CHECK_CONTAINS(err.msg, "bad entry name");
	char longname[5000];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	CHECK(cpio_add_dir(w, longname, &d, &err) < 0);
	CHECK(cpio_add_file_fd(w, "big", &f, -1, 1ULL << 32, &err) < 0);
	CHECK_CONTAINS(err.msg, "4 GiB or larger");
	hull_err_clear(&err);
	cpio_free(w);
}

static FILE *temp_with(const char *content)
{
	FILE *f = tmpfile();
	if (f != NULL) {
		fputs(content, f);
		fflush(f);
		rewind(f);
	}
	return f;
}

static void test_fd_sizes_checked(void)
{
	struct cpio_writer *w = cpio_new(-1, 0, NULL);
	struct hull_err err = {0};
	struct cpio_meta f = {.mode = S_IFREG | 0644};
	FILE *t = temp_with("12345");
	CHECK(cpio_add_file_fd(w, "ok", &f, fileno(t), 5, &err) == 0);
	rewind(t);
	CHECK(cpio_add_file_fd(w, "shrank", &f, fileno(t), 6, &err) < 0);
	CHECK_CONTAINS(err.msg, "shrank while being read");
	rewind(t);
	CHECK(cpio_add_file_fd(w, "grew", &f, fileno(t), 4, &err) < 0);
	CHECK_CONTAINS(err.msg, "grew while being read");
	fclose(t);
	hull_err_clear(&err);
	cpio_free(w);
}

/* The fd writer (buffered, flushed at 64 KiB) gives the same bytes as the memory writer. */
static void test_fd_equals_memory(void)
{
	FILE *out = tmpfile();
	struct cpio_writer *m = cpio_new(-1, 0, NULL), *w = cpio_new(fileno(out), 0, NULL);
	size_t big = 200000;
	char *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7);
	struct cpio_meta f = {.mode = S_IFREG | 0600, .uid = 3};
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "f%d", i);
		CHECK(cpio_add_file_mem(m, name, &f, data, big - (size_t)i, NULL) == 0);
		CHECK(cpio_add_file_mem(w, name, &f, data, big - (size_t)i, NULL) == 0);
	}
	CHECK(cpio_finish(m, NULL) == 0 && cpio_finish(w, NULL) == 0);
	size_t len;
	const unsigned char *mb = cpio_buffer(m, &len);
	CHECK(cpio_size(w) == len);
	unsigned char *fb = malloc(len);
	CHECK(pread(fileno(out), fb, len, 0) == (ssize_t)len && memcmp(fb, mb, len) == 0);
	free(fb);
	free(data);
	fclose(out);
	cpio_free(m);
	cpio_free(w);
}

static void test_limit(void)
{
	struct cpio_writer *w = cpio_new(-1, 1000, NULL);
	struct cpio_meta f = {.mode = S_IFREG | 0644};
	char data[600] = {0};
	CHECK(cpio_add_file_mem(w, "a", &f, data, sizeof data, NULL) == 0);
	CHECK(!cpio_over_limit(w));
	CHECK(cpio_add_file_fd(w, "b", &f, -1, 5000, NULL) == 0); /* not read past the limit */
	CHECK(cpio_over_limit(w));
	CHECK(cpio_size(w) >= 5600);
	size_t len;
	cpio_buffer(w, &len);
	CHECK(len <= 1000);
	cpio_free(w);
}

/* ---- the initramfs of a real tree ---- */

static void put_file(int dirfd, const char *name, const char *content, mode_t mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
		fchmod(fd, mode);
		close(fd);
	}
}

/* rootfs: a/ a/f a/g(hard link to a/f) a/sub/ ln->a/f abs->/etc p(fifo) init .hull/x
 * [null(char 1:3) as root]. Returns whether the device node was made. */
static int make_tree(const char *dir)
{
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(mkdirat(d, "a", 0750) == 0 && mkdirat(d, "a/sub", 0700) == 0);
	put_file(d, "a/f", "hello\n", 0640);
	CHECK(linkat(d, "a/f", d, "a/g", 0) == 0);
	CHECK(symlinkat("a/f", d, "ln") == 0 && symlinkat("/etc", d, "abs") == 0);
	CHECK(mkfifoat(d, "p", 0600) == 0);
	put_file(d, "init", "#!/bin/sh\necho the rootfs's init\n", 0755);
	CHECK(mkdirat(d, ".hull", 0755) == 0);
	put_file(d, ".hull/x", "not ours", 0644);
	int node = mknodat(d, "null", S_IFCHR | 0666, makedev(1, 3)) == 0;
	close(d);
	return node;
}

static unsigned char *read_all(int fd, size_t *len)
{
	off_t size = lseek(fd, 0, SEEK_END);
	unsigned char *b = malloc((size_t)size + 1);
	*len = pread(fd, b, (size_t)size, 0) == size ? (size_t)size : 0;
	return b;
}

static void check_tree_archive(const unsigned char *b, size_t len, int node)
{
	static struct entry e[64];
	int n = read_archive(b, len, e, 64);
	CHECK(n > 0);
	if (n <= 0)
		return;
	const struct entry *f = find(e, n, "a/f"), *g = find(e, n, "a/g");
	CHECK(f && f->size == 6 && memcmp(f->data, "hello\n", 6) == 0 &&
	      f->mode == (S_IFREG | 0640));
	CHECK(f && g && g->ino == f->ino && g->size == 0 && f->nlink == 2 && g->nlink == 2);
	const struct entry *ln = find(e, n, "ln"), *abs = find(e, n, "abs");
	CHECK(ln && S_ISLNK(ln->mode) && ln->size == 3 && memcmp(ln->data, "a/f", 3) == 0);
	CHECK(abs && S_ISLNK(abs->mode) && memcmp(abs->data, "/etc", 4) == 0);
	CHECK(find(e, n, "abs/passwd") == NULL); /* never followed */
	CHECK(find(e, n, "p") && S_ISFIFO(find(e, n, "p")->mode));
	CHECK(find(e, n, "a") && find(e, n, "a")->mode == (S_IFDIR | 0750));
	if (node)
		CHECK(find(e, n, "null") && find(e, n, "null")->rmajor == 1 &&
		      find(e, n, "null")->rminor == 3);
	/* Parents first. */
	CHECK(index_of(e, n, "a") < index_of(e, n, "a/f"));
	CHECK(index_of(e, n, "a") < index_of(e, n, "a/sub"));
	/* hull's files: the rootfs's init moved aside, its .hull left out, ours added. */
	const struct entry *ri = find(e, n, ".hull/rootfs-init");
	CHECK(ri && ri->size > 10 && memcmp(ri->data, "#!/bin/sh", 9) == 0);
	CHECK(find(e, n, ".hull/x") == NULL);
	const struct entry *hd = find(e, n, ".hull");
	CHECK(hd && hd->mode == (S_IFDIR | 0700) && hd->uid == 0);
	CHECK(index_of(e, n, ".hull") < index_of(e, n, ".hull/rootfs-init"));
	const struct entry *cfg = find(e, n, ".hull/config");
	CHECK(cfg && cfg->size == 7 && memcmp(cfg->data, "CONFIG\n", 7) == 0);
	CHECK(cfg && cfg->mode == (S_IFREG | 0400));
	size_t init_len;
	const unsigned char *init = vm_guest_init(&init_len);
	const struct entry *in = find(e, n, "init");
	CHECK(init != NULL && init_len > 1000 && memcmp(init, "\177ELF", 4) == 0);
	CHECK(in && in->size == init_len && in->mode == (S_IFREG | 0755) && in->uid == 0);
	CHECK(in && init && memcmp(in->data, init, init_len) == 0);
	const struct entry *con = find(e, n, "dev/console");
	CHECK(find(e, n, "dev") && con && con->rmajor == 5 && con->rminor == 1);
	CHECK(S_ISCHR(con ? con->mode : 0));
}

static int run(const char *cmd)
{
	int r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/* GNU cpio reads the same archive: names, hard link, symlink, contents. */
static void check_with_gnu_cpio(const char *archive, const char *tmp)
{
	if (access("/usr/bin/cpio", X_OK) != 0) {
		printf("# SKIP GNU cpio checks: /usr/bin/cpio is not installed\n");
		return;
	}
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "cpio -t --quiet <%s | grep -qx '.hull/rootfs-init'", archive);
	CHECK(run(cmd) == 0);
	snprintf(cmd, sizeof cmd, "mkdir %s/x && cd %s/x && cpio -idm --quiet <%s", tmp, tmp,
		 archive);
	CHECK(run(cmd) == 0);
	char path[512], path2[512];
	struct stat a, b;
	snprintf(path, sizeof path, "%s/x/a/f", tmp);
	snprintf(path2, sizeof path2, "%s/x/a/g", tmp);
	CHECK(stat(path, &a) == 0 && stat(path2, &b) == 0);
	CHECK(a.st_ino == b.st_ino && a.st_size == 6 && a.st_nlink == 2);
	snprintf(cmd, sizeof cmd, "grep -qx hello %s/x/a/g && test \"$(readlink %s/x/ln)\" = a/f",
		 tmp, tmp);
	CHECK(run(cmd) == 0);
	snprintf(cmd, sizeof cmd, "cmp -s %s/x/.hull/config - <<'EOF'\nCONFIG\nEOF", tmp);
	CHECK(run(cmd) == 0);
}

static void test_initramfs_of_tree(void)
{
	char tmp[] = "/tmp/hull-cpio-XXXXXX";
	CHECK(mkdtemp(tmp) != NULL);
	char root[600], archive[600];
	snprintf(root, sizeof root, "%s/rootfs", tmp);
	snprintf(archive, sizeof archive, "%s/initramfs.cpio", tmp);
	CHECK(mkdir(root, 0755) == 0);
	int node = make_tree(root);
	int rootfd = open(root, O_RDONLY | O_DIRECTORY);
	int out = open(archive, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint64_t size = 0;
	struct hull_err err = {0};
	int r = vm_initramfs_build(rootfd, "CONFIG\n", 7, 64 << 20, out, &size, &err);
	if (r < 0)
		printf("# %s\n", hull_err_text(&err));
	CHECK(r == 0);
	size_t len;
	unsigned char *b = read_all(out, &len);
	CHECK(len == size && size > 0);
	check_tree_archive(b, len, node);
	check_with_gnu_cpio(archive, tmp);
	/* The same tree gives the same bytes. */
	CHECK(ftruncate(out, 0) == 0 && lseek(out, 0, SEEK_SET) == 0);
	CHECK(vm_initramfs_build(rootfd, "CONFIG\n", 7, 64 << 20, out, &size, &err) == 0);
	size_t len2;
	unsigned char *b2 = read_all(out, &len2);
	CHECK(len2 == len && memcmp(b, b2, len) == 0);
	free(b);
	free(b2);
	close(out);
	close(rootfd);
	hull_err_clear(&err);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
	CHECK(run(cmd) == 0);
}

static void test_initramfs_size_limit(void)
{
	char tmp[] = "/tmp/hull-cpio-XXXXXX";
	CHECK(mkdtemp(tmp) != NULL);
	int d = open(tmp, O_RDONLY | O_DIRECTORY);
	int fd = openat(d, "big", O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 3 << 20) == 0);
	close(fd);
	FILE *out = tmpfile();
	uint64_t size = 0;
	struct hull_err err = {0};
	CHECK(vm_initramfs_limit(512ULL << 20) == 256ULL << 20);
	CHECK(vm_initramfs_build(d, "C", 1, 1 << 20, fileno(out), &size, &err) < 0);
	CHECK_CONTAINS(err.msg, "more than the limit of 1.0 MiB");
	CHECK_CONTAINS(err.msg, "an initramfs of 3.");
	/* The rootfs must be a directory fd. */
	int notdir = openat(d, "big", O_RDONLY);
	CHECK(vm_initramfs_build(notdir, "C", 1, 0, fileno(out), &size, &err) < 0);
	CHECK_CONTAINS(err.msg, "opendir");
	close(notdir);
	fclose(out);
	unlinkat(d, "big", 0);
	close(d);
	rmdir(tmp);
	hull_err_clear(&err);
}

int main(void)
{
	RUN(test_header_bytes);
	RUN(test_padding_and_trailer);
	RUN(test_symlink_node_and_links);
	RUN(test_rejects);
	RUN(test_fd_sizes_checked);
	RUN(test_fd_equals_memory);
	RUN(test_limit);
	RUN(test_initramfs_of_tree);
	RUN(test_initramfs_size_limit);
	return unit_done();
}
