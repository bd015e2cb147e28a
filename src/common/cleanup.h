/* Scope-bound release of resources, and hand-over of ownership. */
#pragma once
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_free(void *p)
{
	free(*(void **)p);
}
static inline void cleanup_close(const int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void cleanup_fclose(FILE **f)
{
	if (*f != NULL)
		fclose(*f);
}
static inline void cleanup_closedir(DIR **d)
{
	if (*d != NULL)
		closedir(*d);
}

#define _cleanup_free_	   __attribute__((cleanup(cleanup_free)))
#define _cleanup_close_	   __attribute__((cleanup(cleanup_close)))
#define _cleanup_fclose_   __attribute__((cleanup(cleanup_fclose)))
#define _cleanup_closedir_ __attribute__((cleanup(cleanup_closedir)))

static inline int steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}
static inline void *steal_ptr(void *pp)
{
	void **p = pp;
	void *r = *p;
	*p = NULL;
	return r;
}
