/* A bump allocator: everything parsed from one config.json lives and dies together. */
#pragma once
#include <stddef.h>

struct arena_block;
struct arena {
	struct arena_block *head;
};

/* Zeroed memory; aborts on out-of-memory (there is no sane recovery in a runtime). */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(struct arena *a);
