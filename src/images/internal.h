/* Private to src/images: streaming SHA-256, blob reading, JSON re-emitting. */
#pragma once
#include <nettle/sha2.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "images.h"

/* Blobs read whole into memory (manifests, indexes, configs) may be at most this big. */
#define IMAGE_MAX_JSON (16 << 20)

struct image_hash {
	struct sha256_ctx ctx;
	int64_t bytes;
};

int image_hash_init(struct image_hash *h, struct hull_err *err);
void image_hash_update(struct image_hash *h, const void *buf, size_t len);
/* Finish and compare with digest ("sha256:<hex>"); what names the blob in the error. */
int image_hash_check(struct image_hash *h, const char *digest, const char *what,
		     struct hull_err *err);
void image_hash_free(struct image_hash *h);

/* The SHA-256 of len bytes as hex into out (IMAGE_DIGEST_HEX + 1 bytes). */
int image_sha256_hex(const void *buf, size_t len, char *out, struct hull_err *err);

/* The compressions an image may use (OCI: gzip, zstd; docker-archive layers and OCI archives:
 * those or none). Not libarchive's "all": its bzip2, xz and lz4 filters would make every hull
 * exec load three more libraries for formats no image uses. */
struct archive;
void image_archive_filters(struct archive *a);

/* Read a JSON blob whole; digest (may be NULL: not checked) and size (-1: unknown)
 * checked before it is returned. */
int image_read_blob(int dir_fd, const char *path, const char *digest, int64_t size, char **text,
		    struct hull_err *err);

/* "blobs/sha256/<hex>" for a digest, malloc'd. */
char *image_blob_path(const char *digest, struct hull_err *err);

/* Emit a parsed JSON value as it is. */
void image_emit_json(yajl_gen g, yajl_val v);

/* String member of an object, or NULL. */
const char *image_json_str(yajl_val obj, const char *key);

/* Extract a tar file (an OCI archive or a docker-archive) into dir_fd: only
 * directories, regular files and symlinks, every path resolved inside dir_fd. */
int image_extract_archive(const char *file, int dir_fd, struct hull_err *err);

/* image_open_lazy: extract layer i's blob from the archive unless it is there. */
int image_fetch_layer(const struct image *img, size_t i, struct hull_err *err);

/* Pick the image from an OCI layout / a docker-archive in img->dir_fd. */
int image_pick_oci(struct image *img, const char *ref, struct hull_err *err);
int image_pick_docker(struct image *img, const char *ref, struct hull_err *err);

/* ---- the store's own pieces ---- */

/* A set of names (layer keys); the store sorts it for bsearch. */
struct image_keyset {
	char **keys;
	size_t n;
};
int image_keyset_add(struct image_keyset *k, const char *key, struct hull_err *err);
/* Add the layers named by every container's image.json (overlay.c). */
int image_container_layers(struct image_store *s, struct image_keyset *used, struct hull_err *err);
/* Remove refs/ *.tmp-* a writer that died left (store_record.c). */
int image_record_sweep_tmp(struct image_store *s, struct hull_err *err);
/* A JSON text written whole into dir_fd/name: a temporary file renamed into place. */
int image_write_json_at(int dir_fd, const char *name, const char *text, struct hull_err *err);
