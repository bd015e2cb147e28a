/* Image records: refs/ID.json, one per stored image, written whole (a temporary file
 * renamed into place) so a reader without the lock never sees half a record. ID is
 * the hex of the manifest digest (which names config and layers exactly), or of the
 * config for a docker-archive (which has no manifest blob; its diff_ids name the
 * layers). Also the pure rules for naming an image: SOURCE[:REF] and rm's names. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/json.h"
#include "internal.h"

#define TMP_MARK ".tmp-"

int image_write_json_at(int dir_fd, const char *name, const char *text, struct hull_err *err)
{
	static unsigned serial;
	char tmp[512];
	snprintf(tmp, sizeof tmp, "%s" TMP_MARK "%d-%u", name, (int)getpid(), serial++);
	_cleanup_close_ int fd =
	    openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return hull_error(err, errno, "create %s", tmp);
	size_t len = strlen(text);
	int r = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 ? 0 : -1;
	if (r < 0 || renameat(dir_fd, tmp, dir_fd, name) < 0) {
		int saved = errno ? errno : EIO;
		unlinkat(dir_fd, tmp, 0);
		return hull_error(err, saved, "write %s", name);
	}
	return 0;
}

int image_record_id(const struct image *img, char *out, struct hull_err *err)
{
	const char *digest = img->manifest_digest ? img->manifest_digest : img->config_digest;
	if (digest == NULL)
		return image_sha256_hex(img->config, strlen(img->config), out, err);
	const char *hex = image_digest_hex(digest, err);
	if (hex == NULL)
		return -1;
	memcpy(out, hex, IMAGE_DIGEST_HEX + 1);
	return 0;
}

static int open_refs(struct image_store *s, struct hull_err *err)
{
	int fd = openat(s->dir_fd, "refs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : hull_error(err, errno, "image store: open %s/refs", s->path);
}

bool image_record_exists(struct image_store *s, const char *id)
{
	char name[IMAGE_DIGEST_HEX + 16];
	snprintf(name, sizeof name, "refs/%s.json", id);
	return faccessat(s->dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The unpacked size of one stored layer, from its layer.json (0 when unknown). */
static long long layer_size(struct image_store *s, const char *key)
{
	char name[IMAGE_DIGEST_HEX + 32];
	snprintf(name, sizeof name, "layers/%s/layer.json", key);
	_cleanup_free_ char *text = NULL;
	struct hull_err ignored = {0};
	yajl_val v = json_read_fileat(s->dir_fd, name, &text, NULL, &ignored) == 0
			 ? json_parse(text, &ignored)
			 : NULL;
	hull_err_clear(&ignored);
	yajl_val size = json_get(v, "size");
	long long n = size && YAJL_IS_INTEGER(size) ? YAJL_GET_INTEGER(size) : 0;
	yajl_tree_free(v);
	return n;
}

static void emit_record(yajl_gen g, const struct image_record *r, bool with_config)
{
	yajl_gen_map_open(g);
	json_key_str(g, "id", r->id);
	json_key_str(g, "source", r->source);
	json_key_str(g, "ref", r->ref);
	json_key_str(g, "format", r->format);
	json_key_str(g, "manifestDigest", r->manifest_digest);
	json_key_str(g, "configDigest", r->config_digest);
	json_key(g, "layers");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < r->n_layers; i++)
		json_str(g, r->layers[i]);
	yajl_gen_array_close(g);
	json_key_int(g, "size", r->size);
	json_key_str(g, "created", r->created);
	if (with_config) {
		struct hull_err ignored = {0};
		yajl_val cfg = r->config ? json_parse(r->config, &ignored) : NULL;
		hull_err_clear(&ignored);
		json_key(g, "config");
		image_emit_json(g, cfg);
		yajl_tree_free(cfg);
	}
	yajl_gen_map_close(g);
}

int image_record_add(struct image_store *s, const struct image *img, const char *source,
		     const struct image_stored_layer *layers, const char *config,
		     struct hull_err *err)
{
	char id[IMAGE_DIGEST_HEX + 1], cfg_hex[IMAGE_DIGEST_HEX + 1], created[64];
	char cfg_digest[IMAGE_DIGEST_HEX + 8];
	if (image_record_id(img, id, err) < 0 ||
	    image_sha256_hex(img->config, strlen(img->config), cfg_hex, err) < 0)
		return -1;
	snprintf(cfg_digest, sizeof cfg_digest, "sha256:%s", cfg_hex);
	clock_rfc3339_now(created, sizeof created);
	_cleanup_free_ char **keys = calloc(img->n_layers + 1, sizeof *keys);
	if (keys == NULL)
		return hull_error(err, ENOMEM, "image record");
	struct image_record r = {.id = id,
				 .source = (char *)source,
				 .ref = img->ref,
				 .format = (char *)img->format,
				 .manifest_digest = img->manifest_digest,
				 .config_digest =
				     img->config_digest ? img->config_digest : cfg_digest,
				 .layers = keys,
				 .n_layers = img->n_layers,
				 .created = created,
				 .config = (char *)config};
	for (size_t i = 0; i < img->n_layers; i++) {
		keys[i] = (char *)layers[i].key;
		r.size += layer_size(s, layers[i].key);
	}
	yajl_gen g = json_gen_new(0);
	emit_record(g, &r, true);
	_cleanup_free_ char *text = json_gen_finish(g);
	_cleanup_close_ int refs = open_refs(s, err);
	char name[IMAGE_DIGEST_HEX + 8];
	snprintf(name, sizeof name, "%s.json", id);
	if (refs < 0 || image_write_json_at(refs, name, text, err) < 0)
		return hull_error_wrap(err, "image store");
	return 0;
}

static char *dup_str(yajl_val obj, const char *key)
{
	const char *v = image_json_str(obj, key);
	return v ? strdup(v) : NULL;
}

static int parse_record(const char *text, struct image_record *r, struct hull_err *err)
{
	yajl_val v = json_parse(text, err);
	if (v == NULL)
		return -1;
	r->id = dup_str(v, "id");
	r->source = dup_str(v, "source");
	r->ref = dup_str(v, "ref");
	r->format = dup_str(v, "format");
	r->manifest_digest = dup_str(v, "manifestDigest");
	r->config_digest = dup_str(v, "configDigest");
	r->created = dup_str(v, "created");
	yajl_val size = json_get(v, "size"), layers = json_get(v, "layers");
	r->size = size && YAJL_IS_INTEGER(size) ? YAJL_GET_INTEGER(size) : 0;
	size_t n = layers && YAJL_IS_ARRAY(layers) ? layers->u.array.len : 0;
	r->layers = calloc(n + 1, sizeof *r->layers);
	for (size_t i = 0; r->layers != NULL && i < n; i++) {
		const char *k = YAJL_GET_STRING(layers->u.array.values[i]);
		if (k != NULL && (r->layers[r->n_layers] = strdup(k)) != NULL)
			r->n_layers++;
	}
	yajl_val cfg = json_get(v, "config");
	if (cfg != NULL && YAJL_IS_OBJECT(cfg)) {
		yajl_gen g = json_gen_new(1);
		image_emit_json(g, cfg);
		r->config = json_gen_finish(g);
	}
	yajl_tree_free(v);
	if (r->id == NULL || r->layers == NULL)
		return hull_error(err, 0, "image record without an id");
	return 0;
}

int image_record_read(struct image_store *s, const char *id, struct image_record *r,
		      struct hull_err *err)
{
	*r = (struct image_record){0};
	char name[IMAGE_DIGEST_HEX + 16];
	snprintf(name, sizeof name, "refs/%s.json", id);
	_cleanup_free_ char *text = NULL;
	if (json_read_fileat(s->dir_fd, name, &text, NULL, err) < 0 ||
	    parse_record(text, r, err) < 0) {
		image_record_free(r);
		return hull_error_wrap(err, "image record %s", id);
	}
	return 0;
}

static bool is_record_name(const char *name)
{
	size_t n = strlen(name);
	return n == IMAGE_DIGEST_HEX + 5 && strspn(name, "0123456789abcdef") == IMAGE_DIGEST_HEX &&
	       strcmp(name + IMAGE_DIGEST_HEX, ".json") == 0;
}

static int cmp_created(const void *a, const void *b)
{
	const struct image_record *x = a, *y = b;
	return strcmp(x->created ? x->created : "", y->created ? y->created : "");
}

static int add_listed(struct image_store *s, const char *name, struct image_record **out, size_t *n,
		      struct hull_err *err)
{
	char id[IMAGE_DIGEST_HEX + 1];
	memcpy(id, name, IMAGE_DIGEST_HEX);
	id[IMAGE_DIGEST_HEX] = '\0';
	struct image_record r;
	if (image_record_read(s, id, &r, err) < 0) {
		/* Removed meanwhile by an `image rm` (we list without the lock). */
		if (err->code != ENOENT)
			return -1;
		hull_err_clear(err);
		return 0;
	}
	struct image_record *grown = realloc(*out, (*n + 1) * sizeof *grown);
	if (grown == NULL) {
		image_record_free(&r);
		return hull_error(err, ENOMEM, "image records");
	}
	*out = grown;
	(*out)[(*n)++] = r;
	return 0;
}

int image_record_list(struct image_store *s, struct image_record **out, size_t *n,
		      struct hull_err *err)
{
	*out = NULL;
	*n = 0;
	int fd = open_refs(s, err);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return fd >= 0 ? hull_error(err, errno, "image store: refs") : -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (is_record_name(de->d_name) && add_listed(s, de->d_name, out, n, err) < 0) {
			image_records_free(*out, *n);
			*out = NULL;
			*n = 0;
			return -1;
		}
	if (*n > 1)
		qsort(*out, *n, sizeof **out, cmp_created);
	return 0;
}

int image_record_remove(struct image_store *s, const char *id, struct hull_err *err)
{
	char name[IMAGE_DIGEST_HEX + 16];
	snprintf(name, sizeof name, "refs/%s.json", id);
	if (unlinkat(s->dir_fd, name, 0) < 0 && errno != ENOENT)
		return hull_error(err, errno, "image store: remove %s", name);
	return 0;
}

int image_record_sweep_tmp(struct image_store *s, struct hull_err *err)
{
	int fd = open_refs(s, err);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, TMP_MARK) != NULL && unlinkat(dirfd(d), de->d_name, 0) < 0 &&
		    errno != ENOENT)
			return hull_error(err, errno, "image store: remove refs/%s", de->d_name);
	return 0;
}

void image_record_free(struct image_record *r)
{
	free(r->id);
	free(r->source);
	free(r->ref);
	free(r->format);
	free(r->manifest_digest);
	free(r->config_digest);
	for (size_t i = 0; i < r->n_layers; i++)
		free(r->layers[i]);
	free(r->layers);
	free(r->created);
	free(r->config);
	*r = (struct image_record){0};
}

void image_records_free(struct image_record *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		image_record_free(&r[i]);
	free(r);
}

char *image_records_json(const struct image_record *r, size_t n)
{
	yajl_gen g = json_gen_new(1);
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++)
		emit_record(g, &r[i], false);
	yajl_gen_array_close(g);
	return json_gen_finish(g);
}
