/* Private: applying one layer's entries (apply.c), driven by layer.c. */
#pragma once
#include <archive.h>
#include <archive_entry.h>
#include <time.h>

#include "images.h"

struct dir_time {
	char *path;
	struct timespec times[2];
};

struct layer_ctx {
	int root_fd;
	const struct image_ids *ids;
	void *seen; /* tsearch tree of the paths this layer holds */
	struct dir_time *dirs;
	size_t n_dirs, cap_dirs;
};

/* One archive entry, its data read from a. */
int layer_apply_entry(struct layer_ctx *c, struct archive *a, struct archive_entry *e,
		      struct hull_err *err);
/* Directories' times, once their contents are in place; frees what ctx holds. */
int layer_finish(struct layer_ctx *c, struct hull_err *err);
void layer_ctx_free(struct layer_ctx *c);
