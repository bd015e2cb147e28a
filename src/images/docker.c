/* Picking an image from a docker-archive (`docker save`, `podman save`): manifest.json
 * is a list of {Config, RepoTags, Layers}. The config file is usually named by its own
 * SHA-256; the layer tars carry no digest of their own, so each is checked against the
 * config's rootfs.diff_ids (the SHA-256 of the uncompressed tar) while it is applied. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "internal.h"

static bool has_tag(yajl_val entry, const char *ref)
{
	yajl_val tags = json_get(entry, "RepoTags");
	size_t n = strlen(ref);
	if (tags == NULL || !YAJL_IS_ARRAY(tags))
		return false;
	for (size_t i = 0; i < tags->u.array.len; i++) {
		const char *t = YAJL_GET_STRING(tags->u.array.values[i]);
		if (t == NULL)
			continue;
		/* "busybox" names "busybox:latest", as docker reads it. */
		if (strcmp(t, ref) == 0 ||
		    (strncmp(t, ref, n) == 0 && strcmp(t + n, ":latest") == 0))
			return true;
	}
	return false;
}

static yajl_val pick_entry(yajl_val list, const char *ref, struct hull_err *err)
{
	yajl_val found = NULL;
	size_t n = 0;
	if (!YAJL_IS_ARRAY(list))
		return hull_error(err, 0, "manifest.json is not a list"), NULL;
	for (size_t i = 0; i < list->u.array.len; i++) {
		yajl_val e = list->u.array.values[i];
		if (!YAJL_IS_OBJECT(e) || (ref != NULL && !has_tag(e, ref)))
			continue;
		if (n++ == 0)
			found = e;
	}
	if (n == 0)
		return hull_error(err, ENOENT, "no image named %s", ref ? ref : "(any)"), NULL;
	if (n > 1)
		return hull_error(err, 0, "%zu images: pick one with --ref", n), NULL;
	return found;
}

/* "<hex>.json" or "blobs/sha256/<hex>" names the config by its digest. */
static char *config_digest(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strspn(base, "0123456789abcdef");
	char *d = NULL;
	if (n == IMAGE_DIGEST_HEX && (base[n] == '\0' || strcmp(base + n, ".json") == 0) &&
	    asprintf(&d, "sha256:%.64s", base) < 0)
		d = NULL;
	return d;
}

static int add_layers(struct image *img, yajl_val layers, yajl_val diff_ids, struct hull_err *err)
{
	if (layers == NULL || !YAJL_IS_ARRAY(layers))
		return hull_error(err, 0, "manifest.json: no Layers");
	if (diff_ids == NULL || !YAJL_IS_ARRAY(diff_ids) ||
	    diff_ids->u.array.len != layers->u.array.len)
		return hull_error(err, 0, "config: rootfs.diff_ids do not match the layers");
	img->layers = calloc(layers->u.array.len + 1, sizeof *img->layers);
	if (img->layers == NULL)
		return hull_error(err, ENOMEM, "layers");
	for (size_t i = 0; i < layers->u.array.len; i++) {
		const char *path = YAJL_GET_STRING(layers->u.array.values[i]);
		const char *diff = YAJL_GET_STRING(diff_ids->u.array.values[i]);
		if (path == NULL || diff == NULL || image_digest_hex(diff, err) == NULL)
			return hull_error(err, 0, "manifest.json: layer %zu: bad entry", i);
		struct image_layer *l = &img->layers[img->n_layers++];
		l->path = strdup(path);
		l->diff_id = strdup(diff);
		l->size = -1;
		l->compression = IMAGE_ANY;
		if (l->path == NULL || l->diff_id == NULL)
			return hull_error(err, ENOMEM, "layer");
	}
	return 0;
}

static int load_entry(struct image *img, yajl_val e, struct hull_err *err)
{
	const char *cfg = image_json_str(e, "Config");
	if (cfg == NULL)
		return hull_error(err, 0, "manifest.json: no Config");
	img->config_digest = config_digest(cfg);
	if (image_read_blob(img->dir_fd, cfg, img->config_digest, -1, &img->config, err) < 0)
		return -1;
	yajl_val c = json_parse(img->config, err);
	if (c == NULL)
		return hull_error_wrap(err, "config %s", cfg);
	yajl_val diff_ids =
	    yajl_tree_get(c, (const char *[]){"rootfs", "diff_ids", NULL}, yajl_t_array);
	int r = add_layers(img, json_get(e, "Layers"), diff_ids, err);
	yajl_tree_free(c);
	return r;
}

int image_pick_docker(struct image *img, const char *ref, struct hull_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (image_read_blob(img->dir_fd, "manifest.json", NULL, -1, &text, err) < 0)
		return -1;
	yajl_val list = json_parse(text, err);
	if (list == NULL)
		return hull_error_wrap(err, "manifest.json");
	yajl_val e = pick_entry(list, ref, err);
	int r = e ? load_entry(img, e, err) : -1;
	yajl_tree_free(list);
	if (r == 0 && ref != NULL && (img->ref = strdup(ref)) == NULL)
		r = hull_error(err, ENOMEM, "ref");
	return r;
}
