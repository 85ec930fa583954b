#include "config/value.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

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
        struct value *v = xcalloc(1, sizeof(*v));
        v->type = type;
        v->pos = pos;
        return v;
}

struct value *value_new_string(enum value_type type, const char *s, size_t len, struct srcpos pos)
{
        struct value *v = value_new(type, pos);
        v->str = xmalloc(len + 1);
        memcpy(v->str, s, len);
        v->str[len] = '\0';
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
        list->items = xreallocarray(list->items, list->n_items + 1, sizeof(*list->items));
        list->items[list->n_items++] = item;
}

void value_attrs_append(struct value *attrs, const char *key, struct srcpos key_pos,
                        struct value *v)
{
        attrs->attrs = xreallocarray(attrs->attrs, attrs->n_attrs + 1, sizeof(*attrs->attrs));
        attrs->attrs[attrs->n_attrs++] =
                (struct attr){ .key = xstrdup(key), .key_pos = key_pos, .value = v };
}

struct attr *value_attrs_get(const struct value *attrs, const char *key)
{
        if (!attrs || attrs->type != VALUE_ATTRS)
                return NULL;
        for (size_t i = 0; i < attrs->n_attrs; i++)
                if (strcmp(attrs->attrs[i].key, key) == 0)
                        return &attrs->attrs[i];
        return NULL;
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
                c->str = xmalloc(v->len + 1);
                memcpy(c->str, v->str, v->len + 1);
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
        if (!v)
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
                break;
        case VALUE_FUNCTION:
                value_free(v->body);
                break;
        default:
                break;
        }
        free(v);
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

void value_sort_attrs(struct value *v)
{
        if (v->type == VALUE_ATTRS) {
                if (v->n_attrs > 1)
                        qsort(v->attrs, v->n_attrs, sizeof(*v->attrs), attr_cmp);
                for (size_t i = 0; i < v->n_attrs; i++)
                        value_sort_attrs(v->attrs[i].value);
        } else if (v->type == VALUE_LIST) {
                for (size_t i = 0; i < v->n_items; i++)
                        value_sort_attrs(v->items[i]);
        }
}
