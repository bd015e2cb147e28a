/* Opening a SOURCE: an OCI layout directory as it is, or an archive (an OCI archive or a
 * docker-archive) extracted first into a private directory. Which one it is follows
 * from the files: oci-layout + index.json is a layout, manifest.json a docker-archive. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/safepath.h"
#include "internal.h"

/* image_open_lazy leaves bigger files in the archive: no manifest, index or config
 * is anywhere near this, and a layer that small costs nothing to copy. */
#define LAZY_MAX (1 << 20)

/* Which entries of an archive to extract. */
struct extract_filter {
	const char *only; /* just this path (clean), or NULL for all */
	int64_t max_size; /* regular files bigger than this stay in the archive; -1: none */
	bool missing;	  /* only what is not extracted yet */
	size_t skipped;	  /* how many stayed for their size */
};

const char *image_json_str(yajl_val obj, const char *key)
{
	yajl_val v = obj ? yajl_tree_get(obj, (const char *[]){key, NULL}, yajl_t_string) : NULL;
	return v ? YAJL_GET_STRING(v) : NULL;
}

void image_emit_json(yajl_gen g, yajl_val v)
{
	if (v == NULL || YAJL_IS_NULL(v)) {
		yajl_gen_null(g);
	} else if (YAJL_IS_STRING(v)) {
		json_str(g, YAJL_GET_STRING(v));
	} else if (YAJL_IS_NUMBER(v)) {
		yajl_gen_number(g, YAJL_GET_NUMBER(v), strlen(YAJL_GET_NUMBER(v)));
	} else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		yajl_gen_bool(g, YAJL_IS_TRUE(v));
	} else if (YAJL_IS_ARRAY(v)) {
		yajl_gen_array_open(g);
		for (size_t i = 0; i < v->u.array.len; i++)
			image_emit_json(g, v->u.array.values[i]);
		yajl_gen_array_close(g);
	} else {
		yajl_gen_map_open(g);
		for (size_t i = 0; i < v->u.object.len; i++) {
			json_key(g, v->u.object.keys[i]);
			image_emit_json(g, v->u.object.values[i]);
		}
		yajl_gen_map_close(g);
	}
}

static int copy_data(struct archive *a, int fd, const char *name, struct hull_err *err)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		if (pwrite(fd, buf, len, off) != (ssize_t)len)
			return hull_error(err, errno, "extract %s", name);
	}
	if (r != ARCHIVE_EOF)
		return hull_error(err, archive_errno(a), "archive %s: %s", name,
				  archive_error_string(a));
	return 0;
}

static int split_parent(int dir_fd, const char *path, const char **base, struct hull_err *err)
{
	char parent[PATH_MAX];
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (slash == NULL)
		return fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
	if ((size_t)(slash - path) >= sizeof parent)
		return hull_error(err, ENAMETOOLONG, "%s", path);
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	return safe_mkdir_p_in_root(dir_fd, parent, 0700, err);
}

static bool wanted(struct extract_filter *f, int dir_fd, const char *path, struct archive_entry *e)
{
	if (f->missing)
		return faccessat(dir_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0;
	if (f->only != NULL)
		return strcmp(path, f->only) == 0;
	if (f->max_size >= 0 && archive_entry_filetype(e) == AE_IFREG &&
	    archive_entry_size(e) > f->max_size) {
		f->skipped++;
		return false;
	}
	return true;
}

static int extract_entry(struct archive *a, struct archive_entry *e, int dir_fd,
			 struct extract_filter *f, struct hull_err *err)
{
	_cleanup_free_ char *path = image_clean_path(archive_entry_pathname(e), err);
	if (path == NULL)
		return -1;
	mode_t type = archive_entry_filetype(e);
	if (strcmp(path, ".") == 0 || !wanted(f, dir_fd, path, e))
		return 0;
	if (type == AE_IFDIR)
		return close(safe_mkdir_p_in_root(dir_fd, path, 0700, err)) < 0 ? -1 : 0;
	const char *base = path;
	_cleanup_close_ int parent = split_parent(dir_fd, path, &base, err);
	if (parent < 0)
		return -1;
	if (type == AE_IFLNK) {
		if (symlinkat(archive_entry_symlink(e), parent, base) < 0)
			return hull_error(err, errno, "extract %s", path);
		return 0;
	}
	if (type != AE_IFREG)
		return hull_error(err, 0, "archive entry %s: unexpected file type", path);
	_cleanup_close_ int fd =
	    openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return hull_error(err, errno, "extract %s", path);
	return copy_data(a, fd, path, err);
}

static int extract_filtered(const char *file, int dir_fd, struct extract_filter *f,
			    struct hull_err *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r, ret = 0;
	if (a == NULL)
		return hull_error(err, ENOMEM, "archive");
	image_archive_filters(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, file, 1 << 20) != ARCHIVE_OK) {
		ret = hull_error(err, archive_errno(a), "%s: %s", file, archive_error_string(a));
		archive_read_free(a);
		return ret;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (extract_entry(a, e, dir_fd, f, err) < 0) {
			ret = hull_error_wrap(err, "%s", file);
			break;
		}
	}
	if (ret == 0 && r != ARCHIVE_EOF)
		ret = hull_error(err, archive_errno(a), "%s: %s", file, archive_error_string(a));
	archive_read_free(a);
	return ret;
}

int image_extract_archive(const char *file, int dir_fd, struct hull_err *err)
{
	struct extract_filter all = {.max_size = -1};
	return extract_filtered(file, dir_fd, &all, err);
}

static bool readable(const struct image *img, const char *path)
{
	struct hull_err ignored = {0};
	int fd = safe_open_in_root(img->dir_fd, path, O_RDONLY | O_CLOEXEC, &ignored);
	hull_err_clear(&ignored);
	return fd >= 0 && close(fd) == 0;
}

int image_fetch_layer(const struct image *img, size_t i, struct hull_err *err)
{
	const char *path = img->layers[i].path;
	if (img->archive == NULL || readable(img, path))
		return 0;
	_cleanup_free_ char *clean = image_clean_path(path, err);
	if (clean == NULL)
		return -1;
	struct extract_filter one = {.only = clean, .max_size = -1};
	if (extract_filtered(img->archive, img->dir_fd, &one, err) < 0)
		return -1;
	if (readable(img, path))
		return 0;
	/* A link to a blob elsewhere in the archive (docker save links repeated layers):
	 * take out everything still missing. */
	struct extract_filter rest = {.max_size = -1, .missing = true};
	return extract_filtered(img->archive, img->dir_fd, &rest, err);
}

static int open_archive(struct image *img, const char *source, const char *tmp_parent,
			struct extract_filter *f, struct hull_err *err)
{
	char *tmpl;
	if (asprintf(&tmpl, "%s/.hull-image-XXXXXX", tmp_parent) < 0)
		return hull_error(err, ENOMEM, "temporary directory");
	if (mkdtemp(tmpl) == NULL) {
		int saved = errno;
		free(tmpl);
		return hull_error(err, saved, "temporary directory in %s", tmp_parent);
	}
	img->tmp_dir = tmpl;
	img->dir_fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (img->dir_fd < 0)
		return hull_error(err, errno, "open %s", tmpl);
	return extract_filtered(source, img->dir_fd, f, err);
}

static bool has_file(int dir_fd, const char *name)
{
	return faccessat(dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int open_source(struct image *img, const char *source, const char *ref,
		       const char *tmp_parent, struct extract_filter *f, struct hull_err *err)
{
	struct stat st;
	if (stat(source, &st) < 0)
		return hull_error(err, errno, "image %s", source);
	if (S_ISDIR(st.st_mode)) {
		img->dir_fd = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (img->dir_fd < 0)
			return hull_error(err, errno, "image %s", source);
	} else if (open_archive(img, source, tmp_parent, f, err) < 0) {
		return -1;
	}
	if (has_file(img->dir_fd, "index.json")) {
		img->format = S_ISDIR(st.st_mode) ? "oci-layout" : "oci-archive";
		return image_pick_oci(img, ref, err);
	}
	if (has_file(img->dir_fd, "manifest.json")) {
		img->format = "docker-archive";
		return image_pick_docker(img, ref, err);
	}
	return hull_error(err, 0,
			  "%s: neither an OCI layout (index.json) nor a docker-archive "
			  "(manifest.json)",
			  source);
}

static int open_filtered(const char *source, const char *ref, const char *tmp_parent,
			 struct extract_filter *f, struct image **out, struct hull_err *err)
{
	struct image *img = calloc(1, sizeof *img);
	if (img == NULL)
		return hull_error(err, ENOMEM, "image");
	img->dir_fd = -1;
	if (open_source(img, source, ref, tmp_parent, f, err) < 0) {
		image_free(img);
		return hull_error_wrap(err, "image %s", source);
	}
	*out = img;
	return 0;
}

int image_open(const char *source, const char *ref, const char *tmp_parent, struct image **out,
	       struct hull_err *err)
{
	struct extract_filter all = {.max_size = -1};
	return open_filtered(source, ref, tmp_parent, &all, out, err);
}

int image_open_lazy(const char *source, const char *ref, const char *tmp_parent, struct image **out,
		    struct hull_err *err)
{
	struct extract_filter small = {.max_size = LAZY_MAX};
	int r = open_filtered(source, ref, tmp_parent, &small, out, err);
	/* A manifest or config left in the archive (a huge one): read it all after all. */
	if (r < 0 && small.skipped > 0 && err->code == ENOENT) {
		hull_err_clear(err);
		return image_open(source, ref, tmp_parent, out, err);
	}
	if (r == 0 && small.skipped > 0 && ((*out)->archive = realpath(source, NULL)) == NULL) {
		image_free(*out);
		return hull_error(err, errno, "image %s", source);
	}
	return r;
}

void image_free(struct image *img)
{
	if (img == NULL)
		return;
	if (img->dir_fd >= 0)
		close(img->dir_fd);
	if (img->tmp_dir != NULL) {
		struct hull_err ignored = {0};
		image_remove_tree(AT_FDCWD, img->tmp_dir, &ignored);
		hull_err_clear(&ignored);
		free(img->tmp_dir);
	}
	for (size_t i = 0; i < img->n_layers; i++) {
		free(img->layers[i].path);
		free(img->layers[i].digest);
		free(img->layers[i].media_type);
		free(img->layers[i].diff_id);
	}
	free(img->layers);
	free(img->archive);
	free(img->ref);
	free(img->manifest);
	free(img->manifest_digest);
	free(img->config);
	free(img->config_digest);
	free(img);
}
