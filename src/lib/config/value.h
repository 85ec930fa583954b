/*
 * Configuration values: the data subset of the Nix language (and of JSON),
 * each value with the position it was written at.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/source.h"

struct arena;
struct strmap;

enum value_type {
        VALUE_NULL,
        VALUE_BOOL,
        VALUE_INT,
        VALUE_FLOAT,
        VALUE_STRING,
        VALUE_PATH, /* absolute, resolved against the file that wrote it */
        VALUE_LIST,
        VALUE_ATTRS,
        VALUE_FUNCTION, /* a NixOS module function; `body` is what it returns */
};

/* NixOS override priorities: lower wins. */
#define PRIORITY_FORCE   50
#define PRIORITY_NORMAL  100
#define PRIORITY_DEFAULT 1000 /* lib.mkDefault */
#define PRIORITY_OPTION  1500 /* an option's own default */

struct value;

struct attr {
        char *key;
        struct srcpos key_pos;
        struct value *value;
};

struct value {
        enum value_type type;
        struct arena *arena; /* where it and its arrays live; NULL: malloc */
        size_t cap;          /* allocated items or attrs */
        struct srcpos pos;
        int priority;  /* 0: not overridden (PRIORITY_NORMAL) */
        bool implicit; /* an attribute set made by a dotted path (a.b = 1), not written */
        bool sorted;   /* attrs: keys in strictly ascending bytewise order (lookups bisect) */
        union {
                bool boolean;
                int64_t integer;
                double number;
                struct {
                        char *str; /* string and path */
                        size_t len;
                };
                struct {
                        struct value **items;
                        size_t n_items;
                };
                struct {
                        struct attr *attrs;
                        size_t n_attrs;
                        struct strmap *index; /* key -> position: a large unsorted set's cache */
                };
                struct value *body;
        };
};

const char *value_type_to_string(enum value_type t);

/*
 * Allocate new values in `a` (NULL: with malloc) from now on; returns the
 * previous setting. value_free() of an arena value does nothing: the arena
 * goes as a whole. A value in an arena holds only values in the same arena.
 */
struct arena *value_use_arena(struct arena *a);

struct value *value_new(enum value_type type, struct srcpos pos);
struct value *value_new_string(enum value_type type, const char *s, size_t len, struct srcpos pos);
struct value *value_new_bool(bool b, struct srcpos pos);
struct value *value_new_int(int64_t i, struct srcpos pos);

void value_list_append(struct value *list, struct value *item);

/* Append key = value (no check for duplicates: see value_attrs_get). */
void value_attrs_append(struct value *attrs, const char *key, struct srcpos key_pos,
                        struct value *v);

/*
 * The same for a key that lives as long as the process (an option name
 * from the schema): an arena value keeps the pointer instead of a copy.
 */
void value_attrs_append_static(struct value *attrs, const char *key, struct srcpos key_pos,
                               struct value *v);

/* Insert key = value where it keeps a sorted set sorted (appends to an unsorted one). */
void value_attrs_insert_static(struct value *attrs, const char *key, struct srcpos key_pos,
                               struct value *v);

/* Room for `n` attributes in all, so that filling the set allocates once. */
void value_attrs_reserve(struct value *attrs, size_t n);

/* The attribute named `key`, or NULL. */
struct attr *value_attrs_get(const struct value *attrs, const char *key);

/* Remove the attribute at position `i`, freeing it. */
void value_attrs_remove(struct value *attrs, size_t i);

struct value *value_copy(const struct value *v);
void value_free(struct value *v);

static inline void value_freep(struct value **v)
{
        value_free(*v);
}
#define _cleanup_value_ __attribute__((cleanup(value_freep)))

/* Drop every position (before the source they point into goes away). */
void value_forget_positions(struct value *v);

/* Deep structural equality, ignoring positions and priorities. */
bool value_equal(const struct value *a, const struct value *b);

/* Effective priority (PRIORITY_NORMAL when none was set). */
int value_priority(const struct value *v);

/* Sort an attribute set's keys bytewise, recursively (as `nix eval --json` orders them). */
void value_sort_attrs(struct value *v);

/* The same for the set itself, not the values in it. */
void value_sort_attrs_shallow(struct value *v);
