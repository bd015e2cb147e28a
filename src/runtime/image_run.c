/* `run --image`: the image into the store (src/images), a container directory there
 * with an overlay root and a config.json made from the image, then the ordinary
 * create. Every step that fails undoes what came before; what an error leaves in the
 * store (layers no record names, temporary directories) is swept once nobody else is
 * inside it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "images/images.h"
#include "runtime.h"
#include "spec.h"

static bool path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int write_config(const char *dir, const char *text, struct hull_err *err)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/config.json", dir) < 0)
		return hull_error(err, ENOMEM, "config.json");
	_cleanup_close_ int fd =
	    open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return hull_error(err, errno ? errno : EIO, "write %s", path);
	return 0;
}

struct prep {
	struct image_store *s;
	const struct image_run *o;
	const char *id, *name; /* container id; the image as the user named it */
	const char *source;    /* its absolute path */
	struct image *img;
	struct image_stored_layer *layers;
	char record[IMAGE_DIGEST_HEX + 1];
};

/* config.json for the container and, the first time, the image's record. */
static int make_configs(struct prep *p, const char *dir, struct hull_err *err)
{
	_cleanup_free_ char *root_path = NULL;
	if (asprintf(&root_path, "%s/rootfs", dir) < 0)
		return hull_error(err, ENOMEM, "config.json");
	/* The image's user names resolve in the merged tree, its /etc/passwd and group. */
	_cleanup_close_ int root = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return hull_error(err, errno, "open %s", root_path);
	_cleanup_free_ char *defaults = spec_default_config(false, err);
	if (defaults == NULL)
		return -1;
	const char *cfg_digest = p->img->config_digest ? p->img->config_digest : "";
	const char *ann[] = {"org.hull.image.id",
			     cfg_digest,
			     "org.hull.image.record",
			     p->record,
			     "org.hull.image.source",
			     p->name,
			     "org.hull.image.bundle",
			     dir,
			     NULL};
	struct image_config_opts opts = {.cmd = p->o->cmd,
					 .n_cmd = (size_t)p->o->n_cmd,
					 .terminal = p->o->terminal,
					 .writable = true,
					 .annotations = ann};
	_cleanup_free_ char *cfg =
	    image_container_config(p->img->config, defaults, root, &opts, err);
	if (cfg == NULL || write_config(dir, cfg, err) < 0)
		return -1;
	if (image_record_exists(p->s, p->record))
		return 0;
	struct image_config_opts plain = {.writable = true};
	_cleanup_free_ char *base =
	    image_container_config(p->img->config, defaults, root, &plain, err);
	if (base == NULL)
		return -1;
	return image_record_add(p->s, p->img, p->source, p->layers, base, err);
}

static void log_layers(const struct prep *p)
{
	for (size_t i = 0; i < p->img->n_layers; i++) {
		const struct image_layer *l = &p->img->layers[i];
		log_msg(LOG_DEBUG, "layer %s %s (store key %s)", l->digest ? l->digest : l->diff_id,
			p->layers[i].cached ? "cached" : "unpacked", p->layers[i].key);
	}
}

/* Shared store lock held. */
static int store_and_mount(struct prep *p, const char *source, const char *ref, char **bundle,
			   int *lock_fd, struct hull_err *err)
{
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s/tmp", p->s->path) < 0)
		return hull_error(err, ENOMEM, "image store");
	if (image_open_lazy(source, ref, tmp, &p->img, err) < 0)
		return -1;
	p->layers = calloc(p->img->n_layers + 1, sizeof *p->layers);
	if (p->layers == NULL)
		return hull_error(err, ENOMEM, "image store");
	if (image_store_layers(p->s, p->img, p->layers, err) < 0)
		return -1;
	log_layers(p);
	if (image_record_id(p->img, p->record, err) < 0 ||
	    image_container_make(p->s, p->id, p->record, p->layers, p->img->n_layers, p->o->rm,
				 lock_fd, err) < 0)
		return -1;
	*bundle = image_container_dir(p->s, p->id);
	if (*bundle != NULL && make_configs(p, *bundle, err) == 0)
		return 0;
	if (*bundle == NULL)
		hull_error(err, ENOMEM, "image store");
	free(steal_ptr(bundle));
	close(steal_fd(lock_fd));
	struct hull_err ignored = {0};
	image_container_remove(p->s, p->id, true, &ignored);
	hull_err_clear(&ignored);
	return -1;
}

/* After a failure: sweep what it left, unless someone is using the store right now
 * (then a later clean-up does it). */
static void sweep_store(struct image_store *s)
{
	struct hull_err ignored = {0};
	if (image_store_lock(s, true, false, &ignored) == 0) {
		if (image_store_gc(s, &ignored) < 0)
			log_msg(LOG_WARN, "%s", hull_err_text(&ignored));
		image_store_unlock(s);
	}
	hull_err_clear(&ignored);
}

static int check_new_id(const struct hull_globals *g, const char *id, struct hull_err *err)
{
	if (state_validate_id(id, err) < 0)
		return -1;
	_cleanup_free_ char *state = NULL;
	if (asprintf(&state, "%s/%s", g->root, id) < 0)
		return hull_error(err, ENOMEM, "run");
	if (access(state, F_OK) == 0)
		return hull_error(err, 0, "container %s already exists", id);
	return 0;
}

int image_run_prepare(const struct hull_globals *g, const char *id, const struct image_run *o,
		      char **bundle, int *lock_fd, struct hull_err *err)
{
	*bundle = NULL;
	*lock_fd = -1;
	_cleanup_free_ char *source = NULL, *ref = NULL, *abs = NULL;
	if (check_new_id(g, id, err) < 0 ||
	    image_split_source(o->image, path_exists, &source, &ref, err) < 0)
		return -1;
	if ((abs = realpath(source, NULL)) == NULL)
		return hull_error(err, errno, "image source %s", source);
	_cleanup_free_ char *name = NULL;
	if (asprintf(&name, "%s%s%s", abs, ref ? ":" : "", ref ? ref : "") < 0)
		return hull_error(err, ENOMEM, "run");
	/* --root as every command makes it (parents too), then the store in it. */
	_cleanup_close_ int root_fd = state_root_open(g->root, err);
	if (root_fd < 0)
		return -1;
	struct image_store s;
	if (image_store_open(g->root, true, &s, err) < 0) {
		image_store_close(&s);
		return -1;
	}
	struct prep p = {.s = &s, .o = o, .id = id, .name = name, .source = abs};
	int r = image_store_lock(&s, false, true, err);
	if (r == 0)
		r = store_and_mount(&p, abs, ref, bundle, lock_fd, err);
	image_free(p.img);
	free(p.layers);
	image_store_unlock(&s);
	if (r < 0)
		sweep_store(&s);
	image_store_close(&s);
	return r;
}

int image_run_remove(const struct hull_globals *g, const char *id, bool wait, struct hull_err *err)
{
	struct image_store s;
	int r = image_store_open(g->root, false, &s, err);
	if (r == 0)
		r = image_container_remove(&s, id, wait, err);
	image_store_close(&s);
	return r;
}

void image_run_abort(const struct hull_globals *g, const char *id, int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);
	struct hull_err ignored = {0};
	if (image_run_remove(g, id, true, &ignored) < 0)
		log_msg(LOG_WARN, "%s", hull_err_text(&ignored));
	hull_err_clear(&ignored);
	struct image_store s;
	if (image_store_open(g->root, false, &s, &ignored) == 0)
		sweep_store(&s);
	image_store_close(&s);
	hull_err_clear(&ignored);
}
