#include "util/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define CHUNK_SIZE (256 * 1024)

struct arena_chunk {
        struct arena_chunk *next;
        size_t size;
        alignas(max_align_t) unsigned char data[];
};

static size_t align_up(size_t n)
{
        size_t a = alignof(max_align_t);
        return (n + a - 1) & ~(a - 1);
}

void *arena_alloc(struct arena *a, size_t size)
{
        size = align_up(size ? size : 1);
        if (!a->chunks || a->used + size > a->chunks->size) {
                /* A large request gets a chunk of its own, kept behind the current one. */
                size_t cap = size > CHUNK_SIZE / 4 ? size : CHUNK_SIZE;
                struct arena_chunk *c = xmalloc(sizeof(*c) + cap);
                c->size = cap;
                if (cap != CHUNK_SIZE && a->chunks) {
                        c->next = a->chunks->next;
                        a->chunks->next = c;
                        a->total += size;
                        return memset(c->data, 0, size);
                }
                c->next = a->chunks;
                a->chunks = c;
                a->used = 0;
        }
        void *p = a->chunks->data + a->used;
        a->used += size;
        a->total += size;
        return memset(p, 0, size);
}

void *arena_grow(struct arena *a, void *old, size_t old_size, size_t new_size)
{
        void *p = arena_alloc(a, new_size);
        if (old && old_size)
                memcpy(p, old, old_size < new_size ? old_size : new_size);
        return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
        char *p = arena_alloc(a, n + 1);
        memcpy(p, s, n);
        p[n] = '\0';
        return p;
}

void arena_free(struct arena *a)
{
        struct arena_chunk *c = a->chunks;
        while (c) {
                struct arena_chunk *next = c->next;
                free(c);
                c = next;
        }
        *a = (struct arena){ 0 };
}
