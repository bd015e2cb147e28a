/* Writing a whole buffer to an fd, across short writes and EINTR. */
#pragma once
#include <stddef.h>

/* 0 when all len bytes were written; -1 with errno otherwise. */
int fd_write_all(int fd, const void *buf, size_t len);
