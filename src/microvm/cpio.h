/* A writer of the cpio "newc" format, the one the kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst, init/initramfs.c).
 *
 * Each entry: the 110-byte header "070701" + 13 fields of 8 upper-case hex digits (ino, mode,
 * uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize,
 * check=0), the name with its NUL, padded with NULs to a multiple of 4 (counted from the start
 * of the archive), the data, padded to 4. The archive ends with the entry "TRAILER!!!".
 *
 * Names are relative ("bin/sh", not "/bin/sh"); parents must come before children. Inode
 * numbers are the writer's own (1, 2, ...): on-disk ones do not fit 8 hex digits.
 *
 * Hard links: a regular file whose meta carries nlink >= 2 and a link key (the on-disk
 * st_dev/st_ino) gets one inode number per key. Its first entry holds the data; later entries
 * have filesize 0. The kernel's unpacker accepts that order (maybe_link() links a later entry
 * to the first one seen and, with no data, neither truncates nor writes), and so does GNU cpio
 * (it defers size-0 links and links them at the end). Every entry of the group carries the
 * same nlink >= 2: the kernel only records an entry for later links when its nlink >= 2.
 *
 * Output goes to an fd through a 64 KiB buffer, or (fd < 0) stays in memory. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define CPIO_HEADER_SIZE 110

struct cpio_meta {
	uint32_t mode; /* file type and permission bits, as st_mode */
	uint32_t uid, gid;
	int64_t mtime;
	uint32_t nlink;		     /* 0 means 1 (2 for a directory) */
	uint32_t rmajor, rminor;     /* device nodes */
	uint64_t link_dev, link_ino; /* hard-link key, used when nlink >= 2 */
};

struct cpio_writer;

/* fd < 0: keep the archive in memory (cpio_buffer). limit: refuse an archive larger than
 * this many bytes (0: no limit); see cpio_over_limit. */
struct cpio_writer *cpio_new(int fd, uint64_t limit, struct hull_err *err);
void cpio_free(struct cpio_writer *w);

int cpio_add_dir(struct cpio_writer *w, const char *name, const struct cpio_meta *m,
		 struct hull_err *err);
int cpio_add_file_mem(struct cpio_writer *w, const char *name, const struct cpio_meta *m,
		      const void *data, size_t len, struct hull_err *err);
/* Exactly size bytes from fd (read from its current offset); a file that changed size while
 * being archived is an error. fd is not read for a later link of a hard-link group. */
int cpio_add_file_fd(struct cpio_writer *w, const char *name, const struct cpio_meta *m, int fd,
		     uint64_t size, struct hull_err *err);
int cpio_add_symlink(struct cpio_writer *w, const char *name, const struct cpio_meta *m,
		     const char *target, struct hull_err *err);
/* Character and block devices, fifos, sockets (the type comes from m->mode). */
int cpio_add_node(struct cpio_writer *w, const char *name, const struct cpio_meta *m,
		  struct hull_err *err);

/* Whether an entry with this hard-link key was already written (its data need not be read). */
bool cpio_link_seen(const struct cpio_writer *w, uint64_t dev, uint64_t ino);

/* The trailer, then flush. */
int cpio_finish(struct cpio_writer *w, struct hull_err *err);

/* The archive's size so far. Past the limit, the writer stops writing and reading data but
 * keeps counting, so the caller can name the full size in its error. */
uint64_t cpio_size(const struct cpio_writer *w);
bool cpio_over_limit(const struct cpio_writer *w);

/* The in-memory archive (fd < 0 only). */
const unsigned char *cpio_buffer(const struct cpio_writer *w, size_t *len);
