/* Picking an image from an OCI layout (image-spec image-layout.md): index.json lists
 * manifests or nested indexes; --ref matches org.opencontainers.image.ref.name, and a
 * nested (multi-platform) index is narrowed to linux on this machine's architecture. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "internal.h"

#define MAX_INDEX_DEPTH 4

static const char *const index_types[] = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json", NULL};
static const char *const manifest_types[] = {"application/vnd.oci.image.manifest.v1+json",
					     "application/vnd.docker.distribution.manifest.v2+json",
					     NULL};
static const char *const config_types[] = {"application/vnd.oci.image.config.v1+json",
					   "application/vnd.docker.container.image.v1+json", NULL};

static const struct {
	const char *type;
	enum image_compression c;
} layer_types[] = {
    {"application/vnd.oci.image.layer.v1.tar", IMAGE_TAR},
    {"application/vnd.oci.image.layer.v1.tar+gzip", IMAGE_GZIP},
    {"application/vnd.oci.image.layer.v1.tar+zstd", IMAGE_ZSTD},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", IMAGE_TAR},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", IMAGE_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", IMAGE_ZSTD},
    {"application/vnd.docker.image.rootfs.diff.tar", IMAGE_TAR},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", IMAGE_GZIP},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", IMAGE_GZIP},
};

static bool in_list(const char *s, const char *const *list)
{
	for (; s != NULL && *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static int64_t desc_size(yajl_val d)
{
	yajl_val v = json_get(d, "size");
	return v != NULL && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : -1;
}

static const char *host_arch(void)
{
	static struct utsname u;
	if (uname(&u) < 0)
		return "amd64";
	if (strcmp(u.machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(u.machine, "aarch64") == 0)
		return "arm64";
	return u.machine;
}

static bool matches(yajl_val d, const char *ref, bool top)
{
	if (top) {
		yajl_val ann = json_get(d, "annotations");
		const char *n = image_json_str(ann, "org.opencontainers.image.ref.name");
		const char *c = image_json_str(ann, "io.containerd.image.name");
		return ref == NULL || (n && strcmp(n, ref) == 0) || (c && strcmp(c, ref) == 0);
	}
	yajl_val p = json_get(d, "platform");
	const char *os = image_json_str(p, "os"), *arch = image_json_str(p, "architecture");
	return p == NULL ||
	       ((!os || strcmp(os, "linux") == 0) && (!arch || strcmp(arch, host_arch()) == 0));
}

static yajl_val pick_descriptor(yajl_val index, const char *ref, bool top, struct hull_err *err)
{
	yajl_val list = json_get(index, "manifests"), found = NULL;
	size_t n = 0;
	if (list == NULL || !YAJL_IS_ARRAY(list))
		return hull_error(err, 0, "index without manifests"), NULL;
	for (size_t i = 0; i < list->u.array.len; i++) {
		yajl_val d = list->u.array.values[i];
		if (!YAJL_IS_OBJECT(d) || !matches(d, ref, top))
			continue;
		if (n++ == 0)
			found = d;
	}
	if (n == 0 && top && ref != NULL)
		return hull_error(err, ENOENT, "no image named %s", ref), NULL;
	if (n == 0)
		return hull_error(err, ENOENT, "no image for linux/%s", host_arch()), NULL;
	if (n > 1 && top)
		return hull_error(err, 0, "%zu images: pick one with --ref", n), NULL;
	return found;
}

static int add_layer(struct image *img, yajl_val d, struct hull_err *err)
{
	const char *type = image_json_str(d, "mediaType"), *digest = image_json_str(d, "digest");
	struct image_layer *l = &img->layers[img->n_layers];
	size_t i;
	for (i = 0; i < sizeof layer_types / sizeof layer_types[0]; i++)
		if (type != NULL && strcmp(type, layer_types[i].type) == 0)
			break;
	if (i == sizeof layer_types / sizeof layer_types[0])
		return hull_error(err, 0, "blob %s: unknown media type %s", digest ? digest : "?",
				  type ? type : "(none)");
	l->path = image_blob_path(digest, err);
	if (l->path == NULL)
		return -1;
	img->n_layers++;
	l->digest = strdup(digest);
	l->media_type = strdup(type);
	l->size = desc_size(d);
	l->compression = layer_types[i].c;
	if (l->digest == NULL || l->media_type == NULL)
		return hull_error(err, ENOMEM, "layer");
	return 0;
}

static int load_config(struct image *img, yajl_val d, struct hull_err *err)
{
	const char *type = image_json_str(d, "mediaType"), *digest = image_json_str(d, "digest");
	if (!in_list(type, config_types))
		return hull_error(err, 0, "config blob %s: unknown media type %s",
				  digest ? digest : "?", type ? type : "(none)");
	_cleanup_free_ char *path = image_blob_path(digest, err);
	if (path == NULL ||
	    image_read_blob(img->dir_fd, path, digest, desc_size(d), &img->config, err) < 0)
		return -1;
	img->config_digest = strdup(digest);
	return img->config_digest ? 0 : hull_error(err, ENOMEM, "config");
}

static int load_manifest(struct image *img, yajl_val d, struct hull_err *err)
{
	const char *digest = image_json_str(d, "digest");
	_cleanup_free_ char *path = image_blob_path(digest, err);
	if (path == NULL ||
	    image_read_blob(img->dir_fd, path, digest, desc_size(d), &img->manifest, err) < 0)
		return -1;
	img->manifest_digest = strdup(digest);
	yajl_val m = json_parse(img->manifest, err);
	if (m == NULL)
		return hull_error_wrap(err, "manifest %s", digest);
	yajl_val layers = json_get(m, "layers");
	int r = load_config(img, json_get(m, "config"), err);
	if (r == 0 && (layers == NULL || !YAJL_IS_ARRAY(layers)))
		r = hull_error(err, 0, "manifest %s: no layers", digest);
	if (r == 0)
		img->layers = calloc(layers->u.array.len + 1, sizeof *img->layers);
	if (r == 0 && img->layers == NULL)
		r = hull_error(err, ENOMEM, "layers");
	for (size_t i = 0; r == 0 && i < layers->u.array.len; i++)
		r = add_layer(img, layers->u.array.values[i], err);
	yajl_tree_free(m);
	return r;
}

static int follow(struct image *img, yajl_val index, const char *ref, int depth,
		  struct hull_err *err)
{
	yajl_val d = pick_descriptor(index, ref, depth == 0, err);
	if (d == NULL)
		return -1;
	const char *type = image_json_str(d, "mediaType"), *digest = image_json_str(d, "digest");
	if (in_list(type, manifest_types))
		return load_manifest(img, d, err);
	if (!in_list(type, index_types))
		return hull_error(err, 0, "blob %s: unknown media type %s", digest ? digest : "?",
				  type ? type : "(none)");
	if (depth >= MAX_INDEX_DEPTH)
		return hull_error(err, ELOOP, "index %s: nested too deep", digest);
	_cleanup_free_ char *path = image_blob_path(digest, err);
	_cleanup_free_ char *text = NULL;
	if (path == NULL ||
	    image_read_blob(img->dir_fd, path, digest, desc_size(d), &text, err) < 0)
		return -1;
	yajl_val nested = json_parse(text, err);
	if (nested == NULL)
		return hull_error_wrap(err, "index %s", digest);
	int r = follow(img, nested, ref, depth + 1, err);
	yajl_tree_free(nested);
	return r;
}

int image_pick_oci(struct image *img, const char *ref, struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (image_read_blob(img->dir_fd, "index.json", NULL, -1, &text, err) < 0)
		return -1;
	yajl_val index = json_parse(text, err);
	if (index == NULL)
		return hull_error_wrap(err, "index.json");
	int r = follow(img, index, ref, 0, err);
	yajl_tree_free(index);
	if (r == 0 && ref != NULL && (img->ref = strdup(ref)) == NULL)
		r = hull_error(err, ENOMEM, "ref");
	return r;
}
