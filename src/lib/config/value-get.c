#include "config/value-get.h"

#include "config/merge.h"
#include "util/strv.h"

const char *vget_str(const struct value *v, const char *path)
{
        const struct value *s = value_lookup(v, path);
        return s && (s->type == VALUE_STRING || s->type == VALUE_PATH) ? s->str : NULL;
}

int64_t vget_int(const struct value *v, const char *path, int64_t fallback)
{
        const struct value *i = value_lookup(v, path);
        return i && i->type == VALUE_INT ? i->integer : fallback;
}

bool vget_bool(const struct value *v, const char *path, bool fallback)
{
        const struct value *b = value_lookup(v, path);
        return b && b->type == VALUE_BOOL ? b->boolean : fallback;
}

const struct value *vget_list(const struct value *v, const char *path)
{
        const struct value *l = value_lookup(v, path);
        return l && l->type == VALUE_LIST ? l : NULL;
}

const struct value *vget_attrs(const struct value *v, const char *path)
{
        const struct value *a = value_lookup(v, path);
        return a && a->type == VALUE_ATTRS ? a : NULL;
}

size_t vget_count(const struct value *v, const char *path)
{
        const struct value *l = vget_list(v, path);
        return l ? l->n_items : 0;
}

void vlist_push_strings(char ***v, const struct value *list)
{
        for (size_t i = 0; list && i < list->n_items; i++)
                strv_push(v, list->items[i]->str);
}
