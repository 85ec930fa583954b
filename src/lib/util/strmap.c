#include "util/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/xalloc.h"

/* FNV-1a: short keys, no adversary with a reason to collide them. */
static uint64_t hash(const char *s)
{
        uint64_t h = 0xcbf29ce484222325ULL;
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
        return h;
}

static struct strmap_slot *find(const struct strmap *m, const char *key)
{
        size_t mask = m->cap - 1;
        for (size_t i = hash(key) & mask;; i = (i + 1) & mask)
                if (!m->slots[i].key || strcmp(m->slots[i].key, key) == 0)
                        return &m->slots[i];
}

static void grow(struct strmap *m)
{
        struct strmap old = *m;
        m->cap = old.cap ? old.cap * 2 : 16;
        m->slots = m->arena ? arena_alloc(m->arena, m->cap * sizeof(*m->slots))
                            : xcalloc(m->cap, sizeof(*m->slots));
        for (size_t i = 0; i < old.cap; i++)
                if (old.slots[i].key)
                        *find(m, old.slots[i].key) = old.slots[i];
        if (!m->arena)
                free(old.slots);
}

bool strmap_put(struct strmap *m, const char *key, size_t value, size_t *stored)
{
        if ((m->n + 1) * 2 > m->cap)
                grow(m);
        struct strmap_slot *s = find(m, key);
        bool inserted = !s->key;
        if (inserted) {
                s->key = key;
                s->value = value;
                m->n++;
        }
        if (stored)
                *stored = s->value;
        return inserted;
}

bool strmap_get(const struct strmap *m, const char *key, size_t *value)
{
        if (!m->cap)
                return false;
        const struct strmap_slot *s = find(m, key);
        if (!s->key)
                return false;
        if (value)
                *value = s->value;
        return true;
}

void strmap_free(struct strmap *m)
{
        if (!m->arena)
                free(m->slots);
        *m = (struct strmap){ 0 };
}
