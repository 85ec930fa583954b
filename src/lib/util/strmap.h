/*
 * A string-keyed hash map to small values (indices, counts). Keys are
 * borrowed: they must outlive the map. For duplicate detection over
 * thousands of VMs, where a linear scan per name would be quadratic.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct arena;

struct strmap {
        struct strmap_slot {
                const char *key;
                size_t value;
        } * slots;
        size_t n, cap;
        struct arena *arena; /* slots come from here when set (freed with it) */
};

/* Insert `key` unless present. Returns true if inserted; `*value` gets the stored value. */
bool strmap_put(struct strmap *m, const char *key, size_t value, size_t *stored);

/* Look `key` up; returns false if absent. */
bool strmap_get(const struct strmap *m, const char *key, size_t *value);

void strmap_free(struct strmap *m);
