#include "config/value.h"

#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/*
 * Looking a key up: sorted sets (the merged configuration, built in the
 * schema's sorted order) are bisected; unsorted ones larger than this
 * (the parser's, as definitions come) get a hash index on the first
 * lookup; below it a linear search is fastest.
 */
#define INDEX_THRESHOLD  16
#define BISECT_THRESHOLD 8

static struct arena *current_arena;

struct arena *value_use_arena(struct arena *a)
{
        struct arena *old = current_arena;
        current_arena = a;
        return old;
}

static void *mem_alloc(struct arena *a, size_t n)
{
        return a ? arena_alloc(a, n) : xcalloc(1, n);
}

static char *mem_strndup(struct arena *a, const char *s, size_t n)
{
        return a ? arena_strndup(a, s, n) : xstrndup(s, n);
}

static void mem_free(struct arena *a, void *p)
{
        if (!a)
                free(p);
}

/* Room for one more element in an items or attrs array of `v`, doubling as it fills. */
static void *grow_array(struct value *v, void *array, size_t n, size_t elem)
{
        if (n < v->cap)
                return array;
        size_t cap = v->cap ? v->cap * 2 : 4;
        void *p = v->arena ? arena_grow(v->arena, array, n * elem, cap * elem)
                           : xreallocarray(array, cap, elem);
        v->cap = cap;
        return p;
}

const char *value_type_to_string(enum value_type t)
{
        static const char *const names[] = {
                [VALUE_NULL] = "null",         [VALUE_BOOL] = "boolean",
                [VALUE_INT] = "integer",       [VALUE_FLOAT] = "float",
                [VALUE_STRING] = "string",     [VALUE_PATH] = "path",
                [VALUE_LIST] = "list",         [VALUE_ATTRS] = "attribute set",
                [VALUE_FUNCTION] = "function",
        };
        return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

struct value *value_new(enum value_type type, struct srcpos pos)
{
        struct value *v = mem_alloc(current_arena, sizeof(*v));
        v->arena = current_arena;
        v->type = type;
        v->pos = pos;
        return v;
}

struct value *value_new_string(enum value_type type, const char *s, size_t len, struct srcpos pos)
{
        struct value *v = value_new(type, pos);
        v->str = mem_strndup(v->arena, s, len);
        v->len = len;
        return v;
}

struct value *value_new_bool(bool b, struct srcpos pos)
{
        struct value *v = value_new(VALUE_BOOL, pos);
        v->boolean = b;
        return v;
}

struct value *value_new_int(int64_t i, struct srcpos pos)
{
        struct value *v = value_new(VALUE_INT, pos);
        v->integer = i;
        return v;
}

void value_list_append(struct value *list, struct value *item)
{
        list->items = grow_array(list, list->items, list->n_items, sizeof(*list->items));
        list->items[list->n_items++] = item;
}

static void index_drop(struct value *attrs)
{
        if (attrs->index) {
                strmap_free(attrs->index);
                mem_free(attrs->arena, attrs->index);
                attrs->index = NULL;
        }
}

/* Keys point into the attributes' own strings, which never move. */
static void index_build(struct value *attrs)
{
        index_drop(attrs);
        attrs->index = mem_alloc(attrs->arena, sizeof(*attrs->index));
        attrs->index->arena = attrs->arena;
        for (size_t i = 0; i < attrs->n_attrs; i++)
                strmap_put(attrs->index, attrs->attrs[i].key, i, NULL);
}

static void attrs_push(struct value *attrs, char *key, struct srcpos key_pos, struct value *v)
{
        attrs->attrs = grow_array(attrs, attrs->attrs, attrs->n_attrs, sizeof(*attrs->attrs));
        attrs->sorted = attrs->n_attrs == 0 ||
                        (attrs->sorted && strcmp(attrs->attrs[attrs->n_attrs - 1].key, key) < 0);
        attrs->attrs[attrs->n_attrs++] =
                (struct attr){ .key = key, .key_pos = key_pos, .value = v };
        if (attrs->index)
                strmap_put(attrs->index, attrs->attrs[attrs->n_attrs - 1].key, attrs->n_attrs - 1,
                           NULL);
}

void value_attrs_reserve(struct value *attrs, size_t n)
{
        if (n <= attrs->cap)
                return;
        attrs->attrs = attrs->arena ? arena_grow(attrs->arena, attrs->attrs,
                                                 attrs->n_attrs * sizeof(*attrs->attrs),
                                                 n * sizeof(*attrs->attrs))
                                    : xreallocarray(attrs->attrs, n, sizeof(*attrs->attrs));
        attrs->cap = n;
}

/* Position of the first key not below `key` in a sorted set. */
static size_t bisect(const struct value *attrs, const char *key)
{
        size_t lo = 0, hi = attrs->n_attrs;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(attrs->attrs[mid].key, key) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

void value_attrs_insert_static(struct value *attrs, const char *key, struct srcpos key_pos,
                               struct value *v)
{
        size_t at = attrs->sorted ? bisect(attrs, key) : attrs->n_attrs;
        if (at == attrs->n_attrs || attrs->index) {
                value_attrs_append_static(attrs, key, key_pos, v);
                return;
        }
        attrs->attrs = grow_array(attrs, attrs->attrs, attrs->n_attrs, sizeof(*attrs->attrs));
        memmove(&attrs->attrs[at + 1], &attrs->attrs[at],
                (attrs->n_attrs - at) * sizeof(*attrs->attrs));
        char *k = attrs->arena ? (char *)key : xstrdup(key);
        attrs->attrs[at] = (struct attr){ .key = k, .key_pos = key_pos, .value = v };
        attrs->n_attrs++;
        /* Still sorted unless the key was already there. */
        attrs->sorted = strcmp(k, attrs->attrs[at + 1].key) < 0;
}

void value_attrs_append(struct value *attrs, const char *key, struct srcpos key_pos,
                        struct value *v)
{
        attrs_push(attrs, mem_strndup(attrs->arena, key, strlen(key)), key_pos, v);
}

void value_attrs_append_static(struct value *attrs, const char *key, struct srcpos key_pos,
                               struct value *v)
{
        /* Arena keys are never freed, so a key that outlives the arena can be shared. */
        if (attrs->arena)
                attrs_push(attrs, (char *)key, key_pos, v);
        else
                value_attrs_append(attrs, key, key_pos, v);
}

struct attr *value_attrs_get(const struct value *attrs, const char *key)
{
        if (!attrs || attrs->type != VALUE_ATTRS)
                return NULL;
        if (attrs->sorted && attrs->n_attrs > BISECT_THRESHOLD) {
                size_t i = bisect(attrs, key);
                return i < attrs->n_attrs && strcmp(attrs->attrs[i].key, key) == 0
                               ? &attrs->attrs[i]
                               : NULL;
        }
        if (!attrs->index && attrs->n_attrs > INDEX_THRESHOLD)
                index_build((struct value *)attrs); /* a cache: the set itself is unchanged */
        if (attrs->index) {
                size_t i;
                return strmap_get(attrs->index, key, &i) ? &attrs->attrs[i] : NULL;
        }
        for (size_t i = 0; i < attrs->n_attrs; i++)
                if (strcmp(attrs->attrs[i].key, key) == 0)
                        return &attrs->attrs[i];
        return NULL;
}

void value_attrs_remove(struct value *attrs, size_t i)
{
        mem_free(attrs->arena, attrs->attrs[i].key);
        value_free(attrs->attrs[i].value);
        memmove(&attrs->attrs[i], &attrs->attrs[i + 1],
                (attrs->n_attrs - i - 1) * sizeof(*attrs->attrs));
        attrs->n_attrs--;
        if (attrs->index)
                index_build(attrs);
}

struct value *value_copy(const struct value *v)
{
        if (!v)
                return NULL;
        struct value *c = value_new(v->type, v->pos);
        c->priority = v->priority;
        switch (v->type) {
        case VALUE_NULL:
                break;
        case VALUE_BOOL:
                c->boolean = v->boolean;
                break;
        case VALUE_INT:
                c->integer = v->integer;
                break;
        case VALUE_FLOAT:
                c->number = v->number;
                break;
        case VALUE_STRING:
        case VALUE_PATH:
                c->str = mem_strndup(c->arena, v->str, v->len);
                c->len = v->len;
                break;
        case VALUE_LIST:
                for (size_t i = 0; i < v->n_items; i++)
                        value_list_append(c, value_copy(v->items[i]));
                break;
        case VALUE_ATTRS:
                for (size_t i = 0; i < v->n_attrs; i++)
                        value_attrs_append(c, v->attrs[i].key, v->attrs[i].key_pos,
                                           value_copy(v->attrs[i].value));
                break;
        case VALUE_FUNCTION:
                c->body = value_copy(v->body);
                break;
        }
        return c;
}

void value_free(struct value *v)
{
        if (!v || v->arena)
                return;
        switch (v->type) {
        case VALUE_STRING:
        case VALUE_PATH:
                free(v->str);
                break;
        case VALUE_LIST:
                for (size_t i = 0; i < v->n_items; i++)
                        value_free(v->items[i]);
                free(v->items);
                break;
        case VALUE_ATTRS:
                for (size_t i = 0; i < v->n_attrs; i++) {
                        free(v->attrs[i].key);
                        value_free(v->attrs[i].value);
                }
                free(v->attrs);
                index_drop(v);
                break;
        case VALUE_FUNCTION:
                value_free(v->body);
                break;
        default:
                break;
        }
        free(v);
}

void value_forget_positions(struct value *v)
{
        if (!v)
                return;
        v->pos = (struct srcpos){ 0 };
        if (v->type == VALUE_LIST)
                for (size_t i = 0; i < v->n_items; i++)
                        value_forget_positions(v->items[i]);
        else if (v->type == VALUE_ATTRS)
                for (size_t i = 0; i < v->n_attrs; i++) {
                        v->attrs[i].key_pos = (struct srcpos){ 0 };
                        value_forget_positions(v->attrs[i].value);
                }
        else if (v->type == VALUE_FUNCTION)
                value_forget_positions(v->body);
}

bool value_equal(const struct value *a, const struct value *b)
{
        if (a->type != b->type)
                return false;
        switch (a->type) {
        case VALUE_NULL:
                return true;
        case VALUE_BOOL:
                return a->boolean == b->boolean;
        case VALUE_INT:
                return a->integer == b->integer;
        case VALUE_FLOAT:
                return a->number == b->number;
        case VALUE_STRING:
        case VALUE_PATH:
                return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
        case VALUE_LIST:
                if (a->n_items != b->n_items)
                        return false;
                for (size_t i = 0; i < a->n_items; i++)
                        if (!value_equal(a->items[i], b->items[i]))
                                return false;
                return true;
        case VALUE_ATTRS:
                if (a->n_attrs != b->n_attrs)
                        return false;
                for (size_t i = 0; i < a->n_attrs; i++) {
                        struct attr *o = value_attrs_get(b, a->attrs[i].key);
                        if (!o || !value_equal(a->attrs[i].value, o->value))
                                return false;
                }
                return true;
        case VALUE_FUNCTION:
                return value_equal(a->body, b->body);
        }
        return false;
}

int value_priority(const struct value *v)
{
        return v->priority ? v->priority : PRIORITY_NORMAL;
}

static int attr_cmp(const void *a, const void *b)
{
        return strcmp(((const struct attr *)a)->key, ((const struct attr *)b)->key);
}

/* Sorted without duplicate keys: what bisecting needs. */
static bool attrs_strictly_sorted(const struct value *v)
{
        for (size_t i = 1; i < v->n_attrs; i++)
                if (strcmp(v->attrs[i - 1].key, v->attrs[i].key) >= 0)
                        return false;
        return true;
}

static bool attrs_sorted(const struct value *v)
{
        for (size_t i = 1; i < v->n_attrs; i++)
                if (strcmp(v->attrs[i - 1].key, v->attrs[i].key) > 0)
                        return false;
        return true;
}

void value_sort_attrs_shallow(struct value *v)
{
        if (v->type != VALUE_ATTRS || v->sorted)
                return;
        if (v->n_attrs > 1 && !attrs_sorted(v))
                qsort(v->attrs, v->n_attrs, sizeof(*v->attrs), attr_cmp);
        v->sorted = attrs_strictly_sorted(v);
        if (v->sorted)
                index_drop(v); /* bisecting needs none */
        else if (v->index)
                index_build(v);
}

void value_sort_attrs(struct value *v)
{
        if (v->type == VALUE_ATTRS) {
                value_sort_attrs_shallow(v);
                for (size_t i = 0; i < v->n_attrs; i++)
                        value_sort_attrs(v->attrs[i].value);
        } else if (v->type == VALUE_LIST) {
                for (size_t i = 0; i < v->n_items; i++)
                        value_sort_attrs(v->items[i]);
        }
}
