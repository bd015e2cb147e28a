/* `hull image inspect`: where the image came from, its manifest and config as they
 * are, and the layers with their sizes. */
#include <string.h>

#include "common/json.h"
#include "internal.h"

static void emit_text(yajl_gen g, const char *key, const char *text)
{
	struct hull_err ignored = {0};
	yajl_val v = text ? json_parse(text, &ignored) : NULL;
	hull_err_clear(&ignored);
	json_key(g, key);
	image_emit_json(g, v);
	yajl_tree_free(v);
}

static void emit_layers(yajl_gen g, const struct image *img)
{
	json_key(g, "layers");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < img->n_layers; i++) {
		const struct image_layer *l = &img->layers[i];
		yajl_gen_map_open(g);
		json_key_str(g, "digest", l->digest);
		json_key_str(g, "mediaType", l->media_type);
		json_key_str(g, "diffID", l->diff_id);
		json_key_int(g, "size", l->size);
		json_key_str(g, "path", l->path);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}

char *image_inspect_json(const struct image *img, struct hull_err *err)
{
	(void)err;
	yajl_gen g = json_gen_new(1);
	yajl_gen_map_open(g);
	json_key_str(g, "format", img->format);
	json_key_str(g, "ref", img->ref);
	json_key_str(g, "manifestDigest", img->manifest_digest);
	json_key_str(g, "configDigest", img->config_digest);
	emit_text(g, "manifest", img->manifest);
	emit_text(g, "config", img->config);
	emit_layers(g, img);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}
