/* The pure rules of layer entries: clean relative paths, whiteout names, id maps, and
 * removing a tree without ever following a symlink. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "images.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

char *image_clean_path(const char *name, struct hull_err *err)
{
	if (name == NULL)
		return hull_error(err, 0, "layer entry without a name"), NULL;
	size_t len = strlen(name);
	char *out = malloc(len + 2), *o = out;
	if (out == NULL)
		return hull_error(err, ENOMEM, "path"), NULL;
	for (const char *p = name; *p != '\0';) {
		size_t n = strcspn(p, "/");
		/* A ".." would climb out of the rootfs or name something else than the
		 * archive's author saw: refused, as umoci and containerd do. */
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			return hull_error(err, 0, "layer entry %s: \"..\" in path", name), NULL;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o != out)
				*o++ = '/';
			memcpy(o, p, n);
			o += n;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	if (o == out)
		*o++ = '.';
	*o = '\0';
	return out;
}

enum image_whiteout image_whiteout_kind(const char *path, const char **hidden)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (strcmp(base, WH_OPAQUE) == 0)
		return IMAGE_WH_OPAQUE;
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) != 0)
		return IMAGE_WH_NONE;
	if (hidden != NULL)
		*hidden = base + strlen(WH_PREFIX);
	return IMAGE_WH_FILE;
}

static int parse_uint(const char **s, char end, unsigned *out)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(*s, &e, 10);
	if (e == *s || *e != end || errno != 0 || v > 0xffffffffUL || **s == '-')
		return -1;
	*out = (unsigned)v;
	*s = e + (end != '\0');
	return 0;
}

int image_parse_idmap(const char *text, struct image_idmap *out, struct hull_err *err)
{
	const char *s = text;
	if (parse_uint(&s, ':', &out->container) < 0 || parse_uint(&s, ':', &out->host) < 0 ||
	    parse_uint(&s, '\0', &out->size) < 0 || out->size == 0)
		return hull_error(err, 0, "id map \"%s\": want CONTAINER:HOST:SIZE", text);
	if ((unsigned long long)out->container + out->size > 0x100000000ULL ||
	    (unsigned long long)out->host + out->size > 0x100000000ULL)
		return hull_error(err, ERANGE, "id map \"%s\"", text);
	return 0;
}

int image_map_id(const struct image_idmap *maps, size_t n, unsigned id, unsigned *out,
		 const char *what, struct hull_err *err)
{
	if (n == 0) {
		*out = id;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (id >= maps[i].container && id - maps[i].container < maps[i].size) {
			*out = maps[i].host + (id - maps[i].container);
			return 0;
		}
	}
	return hull_error(err, 0, "%s %u is outside the %s map", what, id, what);
}

static int remove_children(int dir_fd, const char *name, struct hull_err *err)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "remove %s", name);
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return hull_error(err, errno, "remove %s", name);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (image_remove_tree(dirfd(d), de->d_name, err) < 0)
			return -1;
	}
	return 0;
}

int image_remove_tree(int dir_fd, const char *name, struct hull_err *err)
{
	if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return hull_error(err, errno, "remove %s", name);
	if (remove_children(dir_fd, name, err) < 0)
		return -1;
	if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return hull_error(err, errno, "remove %s", name);
	return 0;
}
