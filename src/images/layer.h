/* Private: applying one layer's entries (apply.c), driven by layer.c. */
#pragma once
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <time.h>

#include "images.h"

struct dir_time {
	char *path;
	struct timespec times[2];
};

/* Overlay mode (the image store): one layer unpacked alone into its own directory in
 * overlayfs's format (whiteouts as 0/0 character devices, opaque directories marked
 * with trusted.overlay.opaque), so that the layers stack with an overlay mount. */
struct layer_overlay {
	const int *lower; /* the directories of the layers below, nearest first */
	size_t n_lower;
	bool used_lower; /* set when what was written depends on the lower layers */
};

struct layer_ctx {
	int root_fd;
	const struct image_ids *ids;
	struct layer_overlay *ovl; /* NULL: apply onto a whole rootfs, deleting for real */
	void *seen;		   /* tsearch tree of the paths this layer holds */
	struct dir_time *dirs;
	size_t n_dirs, cap_dirs;
};

/* One archive entry, its data read from a. */
int layer_apply_entry(struct layer_ctx *c, struct archive *a, struct archive_entry *e,
		      struct hull_err *err);
/* Directories' times, once their contents are in place; frees what ctx holds. */
int layer_finish(struct layer_ctx *c, struct hull_err *err);
void layer_ctx_free(struct layer_ctx *c);

/* Overlay mode's own steps. */
/* Set path's times in layer_finish, once its contents are in place. */
int layer_defer_time(struct layer_ctx *c, const char *path, const struct timespec times[2],
		     struct hull_err *err);

/* Apply layer i of img alone into root_fd; ovl may be NULL (plain mode, as image_unpack
 * does for every layer). Defined in layer.c. */
int image_unpack_layer(const struct image *img, size_t i, int root_fd, const struct image_ids *ids,
		       struct layer_overlay *ovl, struct hull_err *err);

/* lower.c: the layers below, looked up the way overlayfs does. */
bool lower_is_whiteout(const struct stat *st);
/* What path is in the lower layers: an O_PATH fd and its stat, or -1 with ENOENT in err
 * when it is absent or hidden (a whiteout or an opaque directory on the way). */
int lower_find(struct layer_overlay *o, const char *path, struct stat *st, struct hull_err *err);
/* Copy the regular file path up from the lower layers (data, owner, mode, xattrs,
 * times), as a hard link of this layer to it needs; an O_PATH fd of the copy. */
int lower_copy_up(struct layer_ctx *c, const char *path, struct hull_err *err);

/* The same with the layer being written on top (its whiteouts and opaque
 * directories hide what is below, as they will once mounted). */
int merged_find(struct layer_ctx *c, const char *path, struct stat *st, struct hull_err *err);

/* merged.c: the tree as this layer over the lower ones shows it. */
/* path with every symlink on the way resolved (this layer's or a lower one's, inside
 * the root as RESOLVE_IN_ROOT would): where an entry under path really goes, as plain
 * mode would find it. malloc'd; "." for the root. */
char *merged_resolve(struct layer_ctx *c, const char *path, struct hull_err *err);
/* The directory path in the layer being written, made when missing with the owner,
 * mode, xattrs and times the lower layers give it (as overlayfs's copy-up does),
 * symlinks on the way resolved; an O_PATH fd. */
int lower_mkdir(struct layer_ctx *c, const char *path, struct hull_err *err);
/* trusted.overlay.opaque=y on the directory at fd. */
int lower_set_opaque(int dir_fd, const char *path, struct hull_err *err);
/* Copy every extended attribute but overlayfs's own from one path to another (both
 * /proc/self/fd links, which are followed). */
int lower_copy_xattrs(const char *from, const char *to, struct hull_err *err);
