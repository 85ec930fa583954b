/*
 * A bump allocator: many small allocations, one release. The evaluated
 * configuration is a few hundred thousand small values that all die
 * together; malloc and free for each of them cost more than the parse.
 */
#pragma once

#include <stddef.h>

struct arena_chunk;

struct arena {
        struct arena_chunk *chunks;
        size_t used;  /* in the newest chunk */
        size_t total; /* bytes handed out, for statistics */
};

/* Zeroed memory for `size` bytes, aligned for any object; aborts when out of memory. */
void *arena_alloc(struct arena *a, size_t size);

/* A larger copy of `old` (of `old_size` bytes); the old block stays until arena_free. */
void *arena_grow(struct arena *a, void *old, size_t old_size, size_t new_size);

char *arena_strndup(struct arena *a, const char *s, size_t n);

void arena_free(struct arena *a);
