/* The newc cpio writer (format and hard-link rules: cpio.h). */
#include "cpio.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

#define FLUSH_AT (64u << 10)

struct link_slot {
	uint64_t dev, ino; /* ino 0: empty slot (no file has inode 0) */
	uint32_t cpio_ino;
};

struct cpio_writer {
	int fd;
	unsigned char *buf;
	size_t len, cap;
	uint64_t offset; /* bytes of archive so far, written or not */
	uint64_t limit;
	uint32_t next_ino;
	struct link_slot *links; /* open addressing, cap a power of 2 */
	size_t n_links, links_cap;
};

struct cpio_writer *cpio_new(int fd, uint64_t limit, struct hull_err *err)
{
	struct cpio_writer *w = calloc(1, sizeof *w);
	if (w == NULL) {
		hull_error(err, ENOMEM, "cpio writer");
		return NULL;
	}
	w->fd = fd;
	w->limit = limit;
	w->next_ino = 1;
	return w;
}

void cpio_free(struct cpio_writer *w)
{
	if (w == NULL)
		return;
	free(w->buf);
	free(w->links);
	free(w);
}

uint64_t cpio_size(const struct cpio_writer *w)
{
	return w->offset;
}

bool cpio_over_limit(const struct cpio_writer *w)
{
	return w->limit != 0 && w->offset > w->limit;
}

const unsigned char *cpio_buffer(const struct cpio_writer *w, size_t *len)
{
	*len = w->len;
	return w->buf;
}

static int flush(struct cpio_writer *w, struct hull_err *err)
{
	size_t done = 0;
	while (done < w->len) {
		ssize_t n = write(w->fd, w->buf + done, w->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return hull_error(err, n < 0 ? errno : EIO, "writing the initramfs");
		done += (size_t)n;
	}
	w->len = 0;
	return 0;
}

static int reserve(struct cpio_writer *w, size_t more, struct hull_err *err)
{
	if (w->cap - w->len >= more)
		return 0;
	size_t cap = w->cap ? w->cap : FLUSH_AT;
	while (cap - w->len < more) {
		if (cap > SIZE_MAX / 2)
			return hull_error(err, ENOMEM, "initramfs buffer");
		cap *= 2;
	}
	unsigned char *nb = realloc(w->buf, cap);
	if (nb == NULL)
		return hull_error(err, ENOMEM, "initramfs buffer");
	w->buf = nb;
	w->cap = cap;
	return 0;
}

/* Append bytes (or NULs when p is NULL); past the limit only count them. */
static int emit(struct cpio_writer *w, const void *p, size_t n, struct hull_err *err)
{
	w->offset += n;
	if (cpio_over_limit(w))
		return 0;
	if (reserve(w, n, err) < 0)
		return -1;
	if (p != NULL)
		memcpy(w->buf + w->len, p, n);
	else
		memset(w->buf + w->len, 0, n);
	w->len += n;
	if (w->fd >= 0 && w->len >= FLUSH_AT)
		return flush(w, err);
	return 0;
}

static int pad4(struct cpio_writer *w, struct hull_err *err)
{
	return emit(w, NULL, (size_t)((4 - (w->offset & 3)) & 3), err);
}

static size_t link_hash(uint64_t dev, uint64_t ino, size_t cap)
{
	uint64_t h = (ino ^ (dev * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
	return (size_t)(h >> 17) & (cap - 1);
}

static struct link_slot *link_find(const struct cpio_writer *w, uint64_t dev, uint64_t ino)
{
	if (w->links_cap == 0)
		return NULL;
	for (size_t i = link_hash(dev, ino, w->links_cap);; i = (i + 1) & (w->links_cap - 1)) {
		struct link_slot *s = &w->links[i];
		if (s->ino == 0 || (s->dev == dev && s->ino == ino))
			return s;
	}
}

static int link_grow(struct cpio_writer *w, struct hull_err *err)
{
	size_t cap = w->links_cap ? w->links_cap * 2 : 64;
	struct link_slot *old = w->links;
	size_t old_cap = w->links_cap;
	w->links = calloc(cap, sizeof *w->links);
	if (w->links == NULL) {
		w->links = old;
		return hull_error(err, ENOMEM, "initramfs hard links");
	}
	w->links_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].ino != 0)
			*link_find(w, old[i].dev, old[i].ino) = old[i];
	free(old);
	return 0;
}

bool cpio_link_seen(const struct cpio_writer *w, uint64_t dev, uint64_t ino)
{
	const struct link_slot *s = link_find(w, dev, ino);
	return s != NULL && s->ino != 0;
}

/* The inode number for an entry; *later is set for the second and later links of a group. */
static int assign_ino(struct cpio_writer *w, const struct cpio_meta *m, uint32_t *ino, bool *later,
		      struct hull_err *err)
{
	*later = false;
	bool linked = S_ISREG(m->mode) && m->nlink >= 2 && m->link_ino != 0;
	if (linked) {
		if (w->n_links + 1 > w->links_cap / 2 && link_grow(w, err) < 0)
			return -1;
		struct link_slot *s = link_find(w, m->link_dev, m->link_ino);
		if (s->ino != 0) {
			*ino = s->cpio_ino;
			*later = true;
			return 0;
		}
		*s = (struct link_slot){m->link_dev, m->link_ino, w->next_ino};
		w->n_links++;
	}
	if (w->next_ino == UINT32_MAX)
		return hull_error(err, EFBIG, "initramfs: too many entries");
	*ino = w->next_ino++;
	return 0;
}

static uint32_t clamp_u32(int64_t v)
{
	return v < 0 ? 0 : v > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int header(struct cpio_writer *w, const char *name, const struct cpio_meta *m, uint32_t ino,
		  uint64_t filesize, struct hull_err *err)
{
	size_t namesize = strlen(name) + 1;
	if (namesize < 2 || namesize > PATH_MAX)
		return hull_error(err, ENAMETOOLONG, "initramfs: bad entry name \"%.64s\"", name);
	if (filesize > UINT32_MAX)
		return hull_error(err, EFBIG, "initramfs: %s is 4 GiB or larger", name);
	uint32_t nlink = m->nlink ? m->nlink : S_ISDIR(m->mode) ? 2 : 1;
	char h[CPIO_HEADER_SIZE + 1];
	snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino,
		 m->mode, m->uid, m->gid, nlink, clamp_u32(m->mtime), (uint32_t)filesize, 0u, 0u,
		 m->rmajor, m->rminor, (uint32_t)namesize, 0u);
	if (emit(w, h, CPIO_HEADER_SIZE, err) < 0 || emit(w, name, namesize, err) < 0)
		return -1;
	return pad4(w, err);
}

static int entry(struct cpio_writer *w, const char *name, const struct cpio_meta *m,
		 const void *data, uint64_t len, struct hull_err *err)
{
	uint32_t ino = 0;
	bool later = false;
	if (assign_ino(w, m, &ino, &later, err) < 0)
		return -1;
	if (later)
		len = 0;
	if (header(w, name, m, ino, len, err) < 0 || emit(w, data, (size_t)len, err) < 0)
		return -1;
	return pad4(w, err);
}

int cpio_add_dir(struct cpio_writer *w, const char *name, const struct cpio_meta *m,
		 struct hull_err *err)
{
	if (!S_ISDIR(m->mode))
		return hull_error(err, EINVAL, "initramfs: %s: not a directory mode", name);
	return entry(w, name, m, NULL, 0, err);
}

int cpio_add_file_mem(struct cpio_writer *w, const char *name, const struct cpio_meta *m,
		      const void *data, size_t len, struct hull_err *err)
{
	if (!S_ISREG(m->mode))
		return hull_error(err, EINVAL, "initramfs: %s: not a regular file mode", name);
	return entry(w, name, m, data, len, err);
}

int cpio_add_symlink(struct cpio_writer *w, const char *name, const struct cpio_meta *m,
		     const char *target, struct hull_err *err)
{
	if (!S_ISLNK(m->mode) || target[0] == '\0')
		return hull_error(err, EINVAL, "initramfs: %s: bad symlink", name);
	return entry(w, name, m, target, strlen(target), err);
}

int cpio_add_node(struct cpio_writer *w, const char *name, const struct cpio_meta *m,
		  struct hull_err *err)
{
	if (!S_ISCHR(m->mode) && !S_ISBLK(m->mode) && !S_ISFIFO(m->mode) && !S_ISSOCK(m->mode))
		return hull_error(err, EINVAL, "initramfs: %s: not a special file mode", name);
	return entry(w, name, m, NULL, 0, err);
}

static int copy_fd(struct cpio_writer *w, const char *name, int fd, uint64_t size,
		   struct hull_err *err)
{
	if (w->limit != 0 && size > w->limit - (w->offset < w->limit ? w->offset : w->limit)) {
		w->offset += size; /* it cannot fit: count it, do not read it */
		return 0;
	}
	_cleanup_free_ unsigned char *chunk = malloc(FLUSH_AT);
	if (chunk == NULL)
		return hull_error(err, ENOMEM, "initramfs: %s", name);
	uint64_t left = size;
	while (left > 0 && !cpio_over_limit(w)) {
		ssize_t n = read(fd, chunk, left < FLUSH_AT ? (size_t)left : FLUSH_AT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hull_error(err, errno, "initramfs: reading %s", name);
		if (n == 0)
			return hull_error(err, 0, "initramfs: %s shrank while being read", name);
		if (emit(w, chunk, (size_t)n, err) < 0)
			return -1;
		left -= (uint64_t)n;
	}
	if (left > 0) { /* over the limit: count what was not read */
		w->offset += left;
		return 0;
	}
	char extra;
	ssize_t n = read(fd, &extra, 1);
	if (n != 0)
		return hull_error(err, n < 0 ? errno : 0, "initramfs: %s grew while being read",
				  name);
	return 0;
}

int cpio_add_file_fd(struct cpio_writer *w, const char *name, const struct cpio_meta *m, int fd,
		     uint64_t size, struct hull_err *err)
{
	if (!S_ISREG(m->mode))
		return hull_error(err, EINVAL, "initramfs: %s: not a regular file mode", name);
	uint32_t ino = 0;
	bool later = false;
	if (assign_ino(w, m, &ino, &later, err) < 0)
		return -1;
	if (later)
		size = 0;
	if (header(w, name, m, ino, size, err) < 0)
		return -1;
	if (size > 0 && copy_fd(w, name, fd, size, err) < 0)
		return -1;
	return pad4(w, err);
}

int cpio_finish(struct cpio_writer *w, struct hull_err *err)
{
	struct cpio_meta m = {.nlink = 1};
	if (header(w, "TRAILER!!!", &m, 0, 0, err) < 0)
		return -1;
	if (w->fd >= 0 && !cpio_over_limit(w))
		return flush(w, err);
	return 0;
}
