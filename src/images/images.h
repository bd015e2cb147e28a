/* Images: read an OCI image layout, an OCI archive (a tar of a layout) or a
 * docker-archive (`docker save`), check every blob's SHA-256 against its descriptor,
 * apply the layers into a root filesystem with the OCI whiteout rules, and turn the
 * image config into a runtime config.json.
 *
 * Nothing here trusts the image: every path inside the rootfs is resolved with
 * safepath (RESOLVE_IN_ROOT) and created with O_NOFOLLOW/O_EXCL in its parent's fd. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define IMAGE_DIGEST_HEX 64 /* sha256, the only algorithm hull accepts */

enum image_compression { IMAGE_TAR, IMAGE_GZIP, IMAGE_ZSTD, IMAGE_ANY };

struct image_layer {
	char *path;	  /* the blob, relative to the source directory */
	char *digest;	  /* "sha256:<hex>" of the blob as stored, NULL when unknown */
	char *media_type; /* NULL for docker-archive layers */
	char *diff_id;	  /* "sha256:<hex>" of the uncompressed tar, NULL when unknown */
	int64_t size;	  /* -1 when unknown */
	enum image_compression compression;
};

struct image {
	int dir_fd;	    /* the layout (or the archive's extracted copy) */
	char *tmp_dir;	    /* extracted archive to remove on free, or NULL */
	const char *format; /* "oci-layout", "oci-archive", "docker-archive" */
	char *ref;	    /* the name it was picked by, or NULL */
	char *manifest;	    /* the manifest's JSON text (NULL for docker-archive) */
	char *manifest_digest;
	char *config; /* the image config's JSON text, digest checked */
	char *config_digest;
	struct image_layer *layers;
	size_t n_layers;
};

/* One contiguous id range of a user namespace map: container id c maps to host
 * id host + (c - container) when container <= c < container + size. */
struct image_idmap {
	unsigned container, host, size;
};

struct image_ids {
	struct image_idmap *uid, *gid;
	size_t n_uid, n_gid;
};

/* Open SOURCE (a directory or an archive file) and pick the image named ref (NULL:
 * the only one). An archive is extracted into a new directory under tmp_parent. */
int image_open(const char *source, const char *ref, const char *tmp_parent, struct image **out,
	       struct hull_err *err);
void image_free(struct image *img);

/* Apply every layer in order into root_fd (a directory fd); ids may be NULL. */
int image_unpack(const struct image *img, int root_fd, const struct image_ids *ids,
		 struct hull_err *err);

/* config.json text for the image: default_config (the runtime's defaults, what `hull
 * spec` writes; terminal is turned off) with the image's args, env, cwd, user (resolved
 * in root_fd's /etc/passwd and /etc/group; root_fd may be -1 for numeric users only),
 * stop signal and labels. */
char *image_runtime_config(const char *image_config, const char *default_config, int root_fd,
			   struct hull_err *err);

/* `hull image inspect` JSON. */
char *image_inspect_json(const struct image *img, struct hull_err *err);

/* ---- smaller pieces, exposed for the unit tests ---- */

/* "sha256:<64 lowercase hex>" -> hex (a pointer into digest); NULL with err otherwise. */
const char *image_digest_hex(const char *digest, struct hull_err *err);

/* Check that the SHA-256 of len bytes at buf is digest. */
int image_check_digest(const void *buf, size_t len, const char *digest, const char *what,
		       struct hull_err *err);

/* A layer entry's name made relative and clean: leading "/" and "./" dropped, empty and
 * "." components removed; ".." anywhere is refused. "" (the root itself) becomes ".".
 * Returns a malloc'd string or NULL with err. */
char *image_clean_path(const char *name, struct hull_err *err);

enum image_whiteout { IMAGE_WH_NONE, IMAGE_WH_FILE, IMAGE_WH_OPAQUE };
/* What a clean path's last component says: ".wh..wh..opq" -> OPAQUE, ".wh.NAME" ->
 * FILE with *hidden set to NAME (a pointer into path). */
enum image_whiteout image_whiteout_kind(const char *path, const char **hidden);

/* Parse "C:H:N" into a map entry. */
int image_parse_idmap(const char *text, struct image_idmap *out, struct hull_err *err);
/* Map a container id to the host; -1 with err when outside every range. */
int image_map_id(const struct image_idmap *maps, size_t n, unsigned id, unsigned *out,
		 const char *what, struct hull_err *err);

struct image_user {
	unsigned uid, gid;
	unsigned *gids; /* additional groups, malloc'd */
	size_t n_gids;
	char *home; /* from passwd, or NULL */
};
/* Resolve an image config's User ("", "name", "uid", "name:group", "uid:gid") against
 * the texts of /etc/passwd and /etc/group (either may be NULL). */
int image_resolve_user(const char *spec, const char *passwd, const char *group,
		       struct image_user *out, struct hull_err *err);
void image_user_free(struct image_user *u);

/* Remove name in dir_fd, recursively, never following a symlink. ENOENT is success. */
int image_remove_tree(int dir_fd, const char *name, struct hull_err *err);
