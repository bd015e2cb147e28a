/* The image store under --root: its directories, its lock, and the clean-up of what
 * nothing uses any more. Who may do what, and when: a `run` holds the lock shared from
 * reading the source until its container is made and its record written, so a
 * remover (exclusive) never sees a layer that a record is about to name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "internal.h"

static const char *const store_dirs[] = {"layers", "locks", "refs", "containers", "tmp"};

static int open_dirs(struct image_store *s, bool create, struct hull_err *err)
{
	for (size_t i = 0; i < sizeof store_dirs / sizeof store_dirs[0]; i++)
		if (create && mkdirat(s->dir_fd, store_dirs[i], 0700) < 0 && errno != EEXIST)
			return hull_error(err, errno, "image store: create %s/%s", s->path,
					  store_dirs[i]);
	s->lock_fd = openat(s->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lock_fd < 0)
		return hull_error(err, errno, "image store: open %s/lock", s->path);
	return 0;
}

int image_store_open(const char *root, bool create, struct image_store *s, struct hull_err *err)
{
	*s = (struct image_store){.dir_fd = -1, .lock_fd = -1};
	if (asprintf(&s->path, "%s/images", root) < 0) {
		s->path = NULL;
		return hull_error(err, ENOMEM, "image store");
	}
	if (create && mkdir(root, 0700) < 0 && errno != EEXIST)
		return hull_error(err, errno, "--root: create %s", root);
	if (create && mkdir(s->path, 0700) < 0 && errno != EEXIST)
		return hull_error(err, errno, "image store: create %s", s->path);
	s->dir_fd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (s->dir_fd < 0 && errno == ENOENT && !create)
		return 1;
	if (s->dir_fd < 0)
		return hull_error(err, errno, "image store: open %s", s->path);
	return open_dirs(s, create, err);
}

int image_store_lock(struct image_store *s, bool exclusive, bool wait, struct hull_err *err)
{
	int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
	while (flock(s->lock_fd, op) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK && !wait)
			return 1;
		return hull_error(err, errno, "image store: lock %s", s->path);
	}
	return 0;
}

void image_store_unlock(struct image_store *s)
{
	if (s->lock_fd >= 0)
		flock(s->lock_fd, LOCK_UN);
}

void image_store_close(struct image_store *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	free(s->path);
	*s = (struct image_store){.dir_fd = -1, .lock_fd = -1};
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int image_keyset_add(struct image_keyset *k, const char *key, struct hull_err *err)
{
	char **grown = realloc(k->keys, (k->n + 1) * sizeof *grown);
	if (grown == NULL || (grown[k->n] = strdup(key)) == NULL) {
		if (grown != NULL)
			k->keys = grown;
		return hull_error(err, ENOMEM, "image store");
	}
	k->keys = grown;
	k->n++;
	return 0;
}

static void keyset_free(struct image_keyset *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->keys[i]);
	free(k->keys);
}

/* The layers every record and every container names. */
static int used_layers(struct image_store *s, struct image_keyset *used, struct hull_err *err)
{
	struct image_record *recs = NULL;
	size_t n = 0;
	if (image_record_list(s, &recs, &n, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++)
		for (size_t j = 0; r == 0 && j < recs[i].n_layers; j++)
			r = image_keyset_add(used, recs[i].layers[j], err);
	image_records_free(recs, n);
	if (r == 0)
		r = image_container_layers(s, used, err);
	if (r == 0 && used->n > 1)
		qsort(used->keys, used->n, sizeof *used->keys, cmp_key);
	return r;
}

static int remove_in(struct image_store *s, const char *dir, const char *name, struct hull_err *err)
{
	_cleanup_close_ int fd = openat(s->dir_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "image store: open %s", dir);
	return image_remove_tree(fd, name, err);
}

/* Remove the entries of dir for which keep() says no. */
static int sweep(struct image_store *s, const char *dir, const struct image_keyset *used,
		 struct hull_err *err)
{
	int fd = openat(s->dir_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return errno == ENOENT ? 0 : hull_error(err, errno, "image store: open %s", dir);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		const char *name = de->d_name;
		if (used != NULL && used->n > 0 &&
		    bsearch(&name, used->keys, used->n, sizeof *used->keys, cmp_key) != NULL)
			continue;
		if (remove_in(s, dir, name, err) < 0)
			return -1;
	}
	return 0;
}

int image_store_gc(struct image_store *s, struct hull_err *err)
{
	struct image_keyset used = {0};
	int r = used_layers(s, &used, err);
	/* layers/ holds KEY (kept when used) and KEY.tmp-* (never a used name). */
	if (r == 0)
		r = sweep(s, "layers", &used, err);
	if (r == 0)
		r = sweep(s, "locks", NULL, err);
	if (r == 0)
		r = sweep(s, "tmp", NULL, err);
	if (r == 0)
		r = image_record_sweep_tmp(s, err);
	keyset_free(&used);
	return r < 0 ? hull_error_wrap(err, "image store: clean up") : 0;
}
