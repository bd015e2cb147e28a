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
	char *archive;	    /* image_open_lazy: the archive, whose big blobs wait in it */
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
/* The same, but an archive's big files (layers) stay in it until image_store_layers
 * needs them: a stored image is found again without copying its layers out. */
int image_open_lazy(const char *source, const char *ref, const char *tmp_parent, struct image **out,
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

/* What a container made from an image changes in that config. */
struct image_config_opts {
	char *const *cmd; /* replaces the image's Cmd (Entrypoint stays) when n_cmd > 0 */
	size_t n_cmd;
	bool terminal;			/* process.terminal */
	bool writable;			/* root.readonly false */
	const char *const *annotations; /* extra key, value pairs; NULL-terminated */
};
char *image_container_config(const char *image_config, const char *default_config, int root_fd,
			     const struct image_config_opts *o, struct hull_err *err);

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

/* ---- the image store: <root>/images (store*.c, overlay.c) ----
 *
 *   lock                 flock: shared while a `run` stores and mounts, exclusive to
 *                        remove (image rm, clean-up after a failure)
 *   layers/KEY/root/     one layer in overlayfs's format; KEY is the hex of the layer's
 *   layers/KEY/layer.json  diff_id when the source gives one for the bytes it hands
 *                        over (docker-archive), else of its blob digest (OCI), or of
 *                        its chain when the unpacked form needed the layers below
 *   layers/KEY.tmp-XXXXXX  an extraction under way, renamed to KEY when complete
 *   locks/KEY            flock per layer: one process extracts, the others wait
 *   refs/ID.json         one record per stored image (ID: see image_record_key)
 *   containers/CID/      a container's bundle: config.json, rootfs/ (the overlay
 *                        mount), upper/, work/, l/N (links to the layers), image.json
 *   tmp/                 archives being read */

struct image_store {
	int dir_fd;  /* <root>/images, -1 when closed */
	int lock_fd; /* <root>/images/lock */
	char *path;
};

/* Open the store; create it when create is true, else return 1 when there is none. */
int image_store_open(const char *root, bool create, struct image_store *s, struct hull_err *err);
/* Lock it shared or exclusive; without wait, 1 when someone else holds it. */
int image_store_lock(struct image_store *s, bool exclusive, bool wait, struct hull_err *err);
void image_store_unlock(struct image_store *s);
void image_store_close(struct image_store *s);
/* Exclusive lock held: remove layers that no record and no container uses, and
 * every temporary directory and lock file (nobody else is inside). */
int image_store_gc(struct image_store *s, struct hull_err *err);

struct image_stored_layer {
	char key[IMAGE_DIGEST_HEX + 1];
	bool cached; /* found in the store, not unpacked now */
};
/* Every layer of img in the store, in order (out has img->n_layers entries); the
 * missing ones are unpacked. Shared lock held. */
int image_store_layers(struct image_store *s, const struct image *img,
		       struct image_stored_layer *out, struct hull_err *err);
/* hex of sha256(parent + " sha256:" + key): a layer's key when its unpacked form
 * depends on the layers below (see lower.c). out has IMAGE_DIGEST_HEX + 1 bytes. */
int image_chain_key(const char *parent, const char *key, char *out, struct hull_err *err);

struct image_record {
	char *id; /* hex of the manifest digest, or of the config for a docker-archive */
	char *source, *ref, *format;
	char *manifest_digest, *config_digest;
	char **layers; /* store keys, bottom first */
	size_t n_layers;
	long long size; /* bytes of the unpacked layers */
	char *created;	/* RFC 3339 */
	char *config;	/* the config.json made for the image (JSON text), or NULL */
};
/* The record id of an opened image (hex, IMAGE_DIGEST_HEX + 1 bytes). */
int image_record_id(const struct image *img, char *out, struct hull_err *err);
bool image_record_exists(struct image_store *s, const char *id);
/* A new record for img, its layers stored; written whole (temporary file + rename). */
int image_record_add(struct image_store *s, const struct image *img, const char *source,
		     const struct image_stored_layer *layers, const char *config,
		     struct hull_err *err);
int image_record_read(struct image_store *s, const char *id, struct image_record *r,
		      struct hull_err *err);
/* Every record, oldest first. */
int image_record_list(struct image_store *s, struct image_record **out, size_t *n,
		      struct hull_err *err);
int image_record_remove(struct image_store *s, const char *id, struct hull_err *err);
void image_record_free(struct image_record *r);
void image_records_free(struct image_record *r, size_t n);
/* Does name pick r: its ref, its source (as given or as SOURCE:REF), its id or config
 * digest ("sha256:HEX", HEX or a prefix of 4 or more hex digits)? */
bool image_record_matches(const struct image_record *r, const char *name);
/* The records as a JSON array (`image ls --format json`), their configs left out. */
char *image_records_json(const struct image_record *r, size_t n);

/* SOURCE[:REF] of `run --image`: arg itself when it exists (exists(path) is true),
 * else split at the ':' that leaves the longest existing path on its left; ref NULL
 * when none is given. An arg that names nothing is an ENOENT error naming it. */
int image_split_source(const char *arg, bool (*exists)(const char *path), char **source, char **ref,
		       struct hull_err *err);

/* A container's root over stored layers (overlay.c). */
/* "lowerdir=l/N-1:...:l/0,upperdir=upper,workdir=work" (",volatile" after it when
 * ephemeral) into buf; an error when it does not fit in size (one page: the kernel's
 * limit for mount options) or when n is beyond what overlayfs stacks. */
int image_overlay_options(size_t n_layers, bool ephemeral, char *buf, size_t size,
			  struct hull_err *err);
/* Make containers/ID (locked: *lock_fd until the caller closes it) with its links to
 * the layers and image.json naming the record, and mount its root; ephemeral (a
 * `run --rm`, whose writes go with it) mounts it without syncs to the disk. */
int image_container_make(struct image_store *s, const char *id, const char *image_id,
			 const struct image_stored_layer *layers, size_t n, bool ephemeral,
			 int *lock_fd, struct hull_err *err);
/* containers/ID, malloc'd. */
char *image_container_dir(const struct image_store *s, const char *id);
/* Unmount and remove containers/ID; 1 when there is none. Without wait, a container
 * whose directory is locked (a `run` still making it) is an EBUSY error. */
int image_container_remove(struct image_store *s, const char *id, bool wait, struct hull_err *err);
/* The ids of the containers made from record image_id (malloc'd array of malloc'd
 * strings). */
int image_container_users(struct image_store *s, const char *image_id, char ***ids, size_t *n,
			  struct hull_err *err);
