/* The image store's pure parts: SOURCE[:REF] splitting, overlay mount options, chain
 * keys, record names; and the applier's overlay mode on a real (temporary) directory:
 * whiteouts as 0/0 devices, opaque directories, copy-up of hard-link targets. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "images/images.h"
#include "images/internal.h"
#include "images/layer.h"
#include "unit.h"

static const char *const existing[] = {"img.tar", "dir", "dir:x", "/a:b/layout", NULL};

static bool fake_exists(const char *path)
{
	for (const char *const *e = existing; *e; e++)
		if (strcmp(*e, path) == 0)
			return true;
	return false;
}

static void split(const char *arg, const char *want_source, const char *want_ref)
{
	struct hull_err err = {0};
	char *source = NULL, *ref = NULL;
	int r = image_split_source(arg, fake_exists, &source, &ref, &err);
	if (want_source == NULL) {
		CHECK(r < 0);
		CHECK(source == NULL && ref == NULL);
	} else {
		CHECK(r == 0);
		CHECK_STR(source, want_source);
		if (want_ref == NULL)
			CHECK(ref == NULL);
		else
			CHECK_STR(ref, want_ref);
	}
	free(source);
	free(ref);
	hull_err_clear(&err);
}

static void test_split_source(void)
{
	split("img.tar", "img.tar", NULL);
	split("img.tar:latest", "img.tar", "latest");
	split("img.tar:busybox:latest", "img.tar", "busybox:latest"); /* a tag holds ':' */
	split("dir:x", "dir:x", NULL);				      /* the path as it is */
	split("dir:x:tag", "dir:x", "tag");			      /* longest path wins */
	split("dir:y", "dir", "y");
	split("/a:b/layout:v1", "/a:b/layout", "v1");
	split("missing", NULL, NULL);
	split("missing:ref", NULL, NULL);
	split("img.tar:", NULL, NULL); /* an empty ref is a mistake, not "no ref" */
	split(":ref", NULL, NULL);
	split("", NULL, NULL);
	struct hull_err err = {0};
	char *s, *r;
	CHECK(image_split_source("nothing:here", fake_exists, &s, &r, &err) < 0);
	CHECK_CONTAINS(err.msg, "nothing:here");
	hull_err_clear(&err);
}

static void test_overlay_options(void)
{
	struct hull_err err = {0};
	char buf[4096];
	CHECK(image_overlay_options(1, false, buf, sizeof buf, &err) == 0);
	CHECK_STR(buf, "lowerdir=l/0,upperdir=upper,workdir=work");
	CHECK(image_overlay_options(3, false, buf, sizeof buf, &err) == 0);
	CHECK_STR(buf, "lowerdir=l/2:l/1:l/0,upperdir=upper,workdir=work");
	/* `run --rm`: no syncs of an upper directory that is removed afterwards */
	CHECK(image_overlay_options(2, true, buf, sizeof buf, &err) == 0);
	CHECK_STR(buf, "lowerdir=l/1:l/0,upperdir=upper,workdir=work,volatile");
	CHECK(image_overlay_options(500, true, buf, sizeof buf, &err) == 0);
	/* overlayfs's own limit comes first: 500 layers fit in a page. */
	CHECK(image_overlay_options(500, false, buf, sizeof buf, &err) == 0);
	CHECK(strlen(buf) < sizeof buf);
	CHECK(strncmp(buf, "lowerdir=l/499:l/498:", 21) == 0);
	CHECK(image_overlay_options(501, false, buf, sizeof buf, &err) < 0);
	CHECK_CONTAINS(err.msg, "501 layers");
	CHECK(image_overlay_options(0, false, buf, sizeof buf, &err) < 0);
	/* Exactly what fits, and one byte less. */
	size_t need = strlen("lowerdir=l/1:l/0,upperdir=upper,workdir=work") + 1;
	CHECK(image_overlay_options(2, false, buf, need, &err) == 0);
	CHECK(image_overlay_options(2, false, buf, need - 1, &err) < 0);
	CHECK_CONTAINS(err.msg, "one page");
	CHECK(image_overlay_options(2, false, buf, 5, &err) < 0);
	hull_err_clear(&err);
}

static void test_chain_key(void)
{
	struct hull_err err = {0};
	char a[65], b[65], out[65];
	memset(a, 'a', 64);
	memset(b, 'b', 64);
	a[64] = b[64] = '\0';
	/* sha256("aaa... sha256:bbb..."), as the OCI ChainID is built */
	CHECK(image_chain_key(a, b, out, &err) == 0);
	CHECK_STR(out, "0afb61219d5d068fbeadc4b56841bbe0379a43befae52e09c89b1c715c0849ff");
	strcpy(out, a); /* the parent may be the output buffer */
	CHECK(image_chain_key(out, b, out, &err) == 0);
	CHECK_STR(out, "0afb61219d5d068fbeadc4b56841bbe0379a43befae52e09c89b1c715c0849ff");
	hull_err_clear(&err);
}

static void test_record_matches(void)
{
	struct image_record r = {
	    .id = "002f616a628e3e59ad5bcfe82d05fd5e662c972d7b518231e604b3f4ebc43c01",
	    .source = "/srv/img.tar",
	    .ref = "test:1",
	    .config_digest =
		"sha256:0b5101988ea36e337a52e9ca8d634e6893eb93648c02ec6d7b785f24f0c1fc42"};
	CHECK(image_record_matches(&r, "test:1"));
	CHECK(image_record_matches(&r, "/srv/img.tar"));
	CHECK(image_record_matches(&r, "/srv/img.tar:test:1"));
	CHECK(!image_record_matches(&r, "/srv/img.tar:test:2"));
	CHECK(image_record_matches(&r, "0b5101988ea3"));
	CHECK(image_record_matches(&r, "sha256:0b5101988ea36e337a52e9ca8d634e6893eb93648c02ec6d"
				       "7b785f24f0c1fc42"));
	CHECK(image_record_matches(&r, "002f61"));
	CHECK(!image_record_matches(&r, "0b5")); /* too short to name one image */
	CHECK(!image_record_matches(&r, "0B5101988EA3"));
	CHECK(!image_record_matches(&r, "test"));
	r.ref = NULL;
	CHECK(!image_record_matches(&r, "test:1"));
	CHECK(image_record_matches(&r, "/srv/img.tar"));
}

/* ---- overlay mode of the applier, on disk ---- */

struct entry {
	const char *name;
	mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFLNK; 0 for a hard link */
	const char *data;
};

static void write_tar(const char *path, const struct entry *e)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open_filename(a, path);
	for (; e->name; e++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e->name);
		archive_entry_set_mtime(ae, 1600000000, 0);
		if (e->type == 0) {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e->data);
		} else {
			archive_entry_set_filetype(ae, e->type);
			archive_entry_set_perm(ae, e->type == AE_IFDIR ? 0750 : 0640);
			if (e->type == AE_IFLNK)
				archive_entry_set_symlink(ae, e->data);
			else if (e->type == AE_IFREG)
				archive_entry_set_size(ae, (la_int64_t)strlen(e->data));
		}
		archive_write_header(a, ae);
		if (e->type == AE_IFREG)
			archive_write_data(a, e->data, strlen(e->data));
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
}

/* An image of one layer (the tar at dir/blob) for image_unpack_layer. */
static void one_layer_image(struct image *img, struct image_layer *l, int dir_fd,
			    const char *blob_path)
{
	static char digest[80];
	FILE *f = fopen(blob_path, "rb");
	static char buf[1 << 16];
	size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
	if (f)
		fclose(f);
	struct hull_err err = {0};
	strcpy(digest, "sha256:");
	image_sha256_hex(buf, n, digest + 7, &err);
	*l = (struct image_layer){
	    .path = (char *)"blob", .digest = digest, .size = (int64_t)n, .compression = IMAGE_TAR};
	*img = (struct image){.dir_fd = dir_fd, .layers = l, .n_layers = 1};
}

static int apply(const char *dir, const struct entry *entries, int root, const int *lower,
		 size_t n_lower, bool *used_lower)
{
	char blob[4200];
	snprintf(blob, sizeof blob, "%s/blob", dir);
	write_tar(blob, entries);
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	struct image img;
	struct image_layer l;
	one_layer_image(&img, &l, dir_fd, blob);
	struct layer_overlay ovl = {.lower = lower, .n_lower = n_lower};
	struct hull_err err = {0};
	int r = image_unpack_layer(&img, 0, root, NULL, &ovl, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	hull_err_clear(&err);
	close(dir_fd);
	*used_lower = ovl.used_lower;
	return r;
}

static bool is_whiteout_at(int dir, const char *name)
{
	struct stat st;
	return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && lower_is_whiteout(&st);
}

static bool opaque_at(const char *path)
{
	char v[4] = "";
	return getxattr(path, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
}

static void test_overlay_apply(void)
{
	if (geteuid() != 0) {
		printf("# skip: overlay whiteouts (0/0 devices, trusted xattrs) need root\n");
		return;
	}
	char tmp[] = "/tmp/hull-unit-ovl-XXXXXX";
	CHECK(mkdtemp(tmp) != NULL);
	char p[4200];
	snprintf(p, sizeof p, "%s/l0", tmp);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/l1", tmp);
	mkdir(p, 0755);
	int tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY);
	int l0 = openat(tmp_fd, "l0", O_RDONLY | O_DIRECTORY);
	int l1 = openat(tmp_fd, "l1", O_RDONLY | O_DIRECTORY);
	bool used = true;
	static const struct entry base[] = {
	    {"d", AE_IFDIR, NULL},	   {"d/a", AE_IFREG, "a"}, {"f", AE_IFREG, "f"},
	    {"g", AE_IFREG, "shared"},	   {"x", AE_IFDIR, NULL},  {"x/y", AE_IFREG, "y"},
	    {".wh.nothing", AE_IFREG, ""}, {NULL, 0, NULL}};
	CHECK(apply(tmp, base, l0, NULL, 0, &used) == 0);
	CHECK(!used);			      /* the bottom layer needs nothing below */
	CHECK(is_whiteout_at(l0, "nothing")); /* whiteouts stay whiteouts, even alone */
	static const struct entry top[] = {
	    {".wh.f", AE_IFREG, ""},   {"d/.wh..wh..opq", AE_IFREG, ""},
	    {"d/c", AE_IFREG, "c"},    {"h", 0, "g"},
	    {"x/.wh.y", AE_IFREG, ""}, {"n", AE_IFREG, "n"},
	    {".wh.n", AE_IFREG, ""},			      /* its own entry: not hidden */
	    {".wh.e", AE_IFREG, ""},   {"e", AE_IFDIR, NULL}, /* gone below, new here */
	    {"e/z", AE_IFREG, "z"},    {NULL, 0, NULL}};
	int lowers[] = {l0};
	CHECK(apply(tmp, top, l1, lowers, 1, &used) == 0);
	CHECK(used); /* copied g up, made x like below */
	CHECK(is_whiteout_at(l1, "f"));
	CHECK(is_whiteout_at(l1, "x/y"));
	CHECK(!is_whiteout_at(l1, "n"));
	snprintf(p, sizeof p, "%s/l1/d", tmp);
	CHECK(opaque_at(p));
	snprintf(p, sizeof p, "%s/l1/e", tmp);
	CHECK(opaque_at(p));
	snprintf(p, sizeof p, "%s/l1/x", tmp);
	CHECK(!opaque_at(p));
	struct stat g, h, x;
	CHECK(fstatat(l1, "g", &g, 0) == 0 && fstatat(l1, "h", &h, 0) == 0);
	CHECK(g.st_ino == h.st_ino && g.st_size == 6 && (g.st_mode & 07777) == 0640);
	/* x was not in the layer: made with the lower x's mode and time */
	CHECK(fstatat(l1, "x", &x, 0) == 0 && (x.st_mode & 07777) == 0750);
	CHECK(x.st_mtim.tv_sec == 1600000000);
	/* the lower layer is never touched */
	CHECK(faccessat(l0, "f", F_OK, 0) == 0 && faccessat(l0, "d/a", F_OK, 0) == 0);
	close(l0);
	close(l1);
	struct hull_err err = {0};
	CHECK(image_remove_tree(AT_FDCWD, tmp, &err) == 0);
	hull_err_clear(&err);
	close(tmp_fd);
}

/* Paths through symlinks of lower layers land where plain mode puts them, and this
 * layer's whiteouts and opaque directories hide what is below while it is unpacked. */
static void test_overlay_merged_paths(void)
{
	if (geteuid() != 0) {
		printf("# skip: overlay whiteouts (0/0 devices, trusted xattrs) need root\n");
		return;
	}
	char tmp[] = "/tmp/hull-unit-mrg-XXXXXX";
	CHECK(mkdtemp(tmp) != NULL);
	int tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY);
	mkdirat(tmp_fd, "l0", 0755);
	mkdirat(tmp_fd, "l1", 0755);
	int l0 = openat(tmp_fd, "l0", O_RDONLY | O_DIRECTORY);
	int l1 = openat(tmp_fd, "l1", O_RDONLY | O_DIRECTORY);
	bool used;
	static const struct entry base[] = {
	    {"usr", AE_IFDIR, NULL},	       {"usr/bin", AE_IFDIR, NULL},
	    {"usr/bin/tool2", AE_IFREG, "t2"}, {"bin", AE_IFLNK, "usr/bin"},
	    {"abs", AE_IFLNK, "/usr/../usr"},  {"d", AE_IFDIR, NULL},
	    {"d/sub", AE_IFDIR, NULL},	       {"w", AE_IFDIR, NULL},
	    {"w/old", AE_IFREG, "old"},	       {NULL, 0, NULL}};
	CHECK(apply(tmp, base, l0, NULL, 0, &used) == 0);
	static const struct entry top[] = {
	    {"bin/tool", AE_IFREG, "t"}, {"abs/lib/x", AE_IFREG, "x"},
	    {"hl", 0, "bin/tool2"},	 {"d/.wh..wh..opq", AE_IFREG, ""},
	    {"d/sub/f", AE_IFREG, "f"},	 {".wh.w", AE_IFREG, ""},
	    {"w/new", AE_IFREG, "new"},	 {NULL, 0, NULL}};
	int lowers[] = {l0};
	CHECK(apply(tmp, top, l1, lowers, 1, &used) == 0);
	struct stat st, hl;
	CHECK(fstatat(l1, "bin", &st, AT_SYMLINK_NOFOLLOW) < 0); /* the lower link stays */
	CHECK(fstatat(l1, "usr/bin/tool", &st, 0) == 0 && st.st_size == 1);
	CHECK(fstatat(l1, "usr/lib/x", &st, 0) == 0);
	CHECK(fstatat(l1, "usr/bin", &st, 0) == 0 && (st.st_mode & 07777) == 0750);
	CHECK(fstatat(l1, "usr/bin/tool2", &st, 0) == 0 && fstatat(l1, "hl", &hl, 0) == 0);
	CHECK(st.st_ino == hl.st_ino);
	/* under an opaque directory nothing comes from below: a plain new sub */
	CHECK(fstatat(l1, "d/sub", &st, 0) == 0 && (st.st_mode & 07777) == 0755);
	char p[4200];
	snprintf(p, sizeof p, "%s/l1/w", tmp); /* gone below, new here */
	CHECK(opaque_at(p));
	CHECK(faccessat(l1, "w/new", F_OK, 0) == 0 && faccessat(l1, "w/old", F_OK, 0) < 0);
	close(l0);
	close(l1);
	struct hull_err err = {0};
	CHECK(image_remove_tree(AT_FDCWD, tmp, &err) == 0);
	hull_err_clear(&err);
	close(tmp_fd);
}

int main(void)
{
	RUN(test_split_source);
	RUN(test_overlay_options);
	RUN(test_chain_key);
	RUN(test_record_matches);
	RUN(test_overlay_apply);
	RUN(test_overlay_merged_paths);
	return unit_done();
}
