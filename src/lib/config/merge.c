#include "config/merge.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config/json-read.h"
#include "config/parser.h"
#include "config/schema-tree.h"
#include "config/suggest.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/strmap.h"
#include "util/strv.h"
#include "util/xalloc.h"

void merge_ctx_free(struct merge_ctx *ctx)
{
        for (size_t i = 0; i < ctx->n_owned; i++)
                value_free(ctx->owned[i]);
        free(ctx->owned);
        strv_free(ctx->loaded);
        source_set_free(ctx->sources);
        ctx->owned = NULL;
        ctx->n_owned = 0;
        ctx->loaded = NULL;
}

static void own(struct merge_ctx *ctx, struct value *v)
{
        ctx->owned = xreallocarray(ctx->owned, ctx->n_owned + 1, sizeof(*ctx->owned));
        ctx->owned[ctx->n_owned++] = v;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/*
 * A configuration read from a pipe has no name to tell its format by: it is
 * JSON when it opens as a JSON object does, `{"key":`, which Nix never does.
 */
static bool looks_like_json(const char *p)
{
        p += strspn(p, " \t\r\n");
        if (*p++ != '{')
                return false;
        p += strspn(p, " \t\r\n");
        if (*p++ != '"')
                return false;
        for (; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                        p++;
        if (*p++ != '"')
                return false;
        p += strspn(p, " \t\r\n");
        return *p == ':';
}

/* A file that could not be read: at the import that named it, or as the configuration itself. */
static int load_error(const struct srcpos *import_pos, struct mv_error *cause,
                      struct mv_error **err)
{
        int r = mv_error_return(cause);
        if (import_pos)
                srcpos_error(err, *import_pos, "import %s", cause->msg);
        else
                mv_error_config(err, "configuration %s", cause->msg);
        if (err && *err) {
                (*err)->code = cause->code; /* -ENOENT stays recognisable */
                if (cause->hint)
                        mv_error_hint(err, "%s", cause->hint);
        }
        return r;
}

int config_load_file(struct merge_ctx *ctx, const char *path, const struct srcpos *import_pos,
                     struct value **out, struct mv_error **err)
{
        struct source *src;
        struct value *v = NULL;
        _cleanup_error_ struct mv_error *cause = NULL;
        int r = source_load(ctx->sources, path, import_pos ? 0 : SOURCE_ALLOW_STREAM, &src, &cause);
        if (r < 0)
                return load_error(import_pos, cause, err);
        bool json = ends_with(path, ".json") || (src->unnamed && looks_like_json(src->text));
        r = json ? json_parse(src, &v, err) : nix_parse(src, &v, err);
        if (r < 0)
                return r;
        own(ctx, v);
        *out = v;
        return 0;
}

char *value_brief(const struct value *v)
{
        switch (v->type) {
        case VALUE_NULL:
                return xstrdup("null");
        case VALUE_BOOL:
                return xstrdup(v->boolean ? "true" : "false");
        case VALUE_INT:
                return xasprintf("%lld", (long long)v->integer);
        case VALUE_FLOAT:
                return xasprintf("%g", v->number);
        case VALUE_STRING:
        case VALUE_PATH:
                if (v->len > 40)
                        return xasprintf("\"%.37s...\"", v->str);
                return xasprintf(v->type == VALUE_PATH ? "%s" : "\"%s\"", v->str);
        case VALUE_LIST:
                return xstrdup(v->n_items ? "[ ... ]" : "[ ]");
        case VALUE_ATTRS:
                return xstrdup(v->n_attrs ? "{ ... }" : "{ }");
        case VALUE_FUNCTION:
                return xstrdup("a function");
        }
        return xstrdup("?");
}

static int type_error(const struct type *t, const struct opt_path *at, const struct value *v,
                      struct mv_error **err)
{
        _cleanup_free_ char *path = opt_path_format(at);
        if (t->kind == TYPE_SUBMODULE && t->module)
                return srcpos_error(err, v->pos,
                                    "%s: a module must be an attribute set or a module function, "
                                    "got %s",
                                    *path ? path : "the configuration",
                                    value_type_to_string(v->type));
        _cleanup_free_ char *want = type_describe(t);
        _cleanup_free_ char *got = value_brief(v);
        if (v->type == VALUE_NULL || v->type == VALUE_LIST || v->type == VALUE_ATTRS ||
            v->type == VALUE_FUNCTION)
                return srcpos_error(err, v->pos, "%s: expected %s, got %s", path, want,
                                    value_type_to_string(v->type));
        return srcpos_error(err, v->pos, "%s: expected %s, got %s %s", path, want,
                            value_type_to_string(v->type), got);
}

/* Shallow check: does `v` have the shape `t` takes? (Contents are checked when merged.) */
static bool value_matches(const struct type *t, const struct value *v)
{
        switch (t->kind) {
        case TYPE_BOOL:
                return v->type == VALUE_BOOL;
        case TYPE_INT:
                return v->type == VALUE_INT &&
                       (!t->has_range || (v->integer >= t->min && v->integer <= t->max));
        case TYPE_FLOAT:
                return v->type == VALUE_INT || v->type == VALUE_FLOAT;
        case TYPE_STR:
                return v->type == VALUE_STRING && (!t->nonempty || v->len > 0);
        case TYPE_LINES:
                return v->type == VALUE_STRING;
        case TYPE_PATH:
                return v->type == VALUE_PATH || (v->type == VALUE_STRING && v->str[0] == '/');
        case TYPE_ENUM:
                return v->type == VALUE_STRING && strv_contains((char *const *)t->values, v->str);
        case TYPE_NULL_OR:
                return v->type == VALUE_NULL || value_matches(t->inner, v);
        case TYPE_LIST_OF:
                return v->type == VALUE_LIST;
        case TYPE_ATTRS_OF:
                return v->type == VALUE_ATTRS;
        case TYPE_SUBMODULE:
                return v->type == VALUE_ATTRS || (t->module && v->type == VALUE_FUNCTION);
        case TYPE_ONE_OF:
                for (size_t i = 0; t->alternatives[i]; i++)
                        if (value_matches(t->alternatives[i], v))
                                return true;
                return false;
        case TYPE_ANY:
                return true;
        }
        return false;
}

static int check_all(const struct type *t, const struct opt_path *path, struct value *const *defs,
                     size_t n, struct mv_error **err)
{
        for (size_t i = 0; i < n; i++) {
                if (value_matches(t, defs[i]))
                        continue;
                const struct type *e = t->kind == TYPE_NULL_OR ? t->inner : t;
                if (e->kind == TYPE_ENUM && defs[i]->type == VALUE_STRING) {
                        _cleanup_free_ char *want = type_describe(t);
                        _cleanup_free_ char *ps = opt_path_format(path);
                        size_t nv = strv_length((char *const *)e->values);
                        const char *close = suggest_closest(defs[i]->str, e->values, nv);
                        if (close)
                                return srcpos_error(err, defs[i]->pos,
                                                    "%s: expected %s, got \"%s\"; did you mean "
                                                    "\"%s\"?",
                                                    ps, want, defs[i]->str, close);
                        return srcpos_error(err, defs[i]->pos, "%s: expected %s, got \"%s\"", ps,
                                            want, defs[i]->str);
                }
                return type_error(t, path, defs[i], err);
        }
        return 0;
}

static int conflict_error(const struct opt_path *at, const struct value *a, const struct value *b,
                          struct mv_error **err)
{
        _cleanup_free_ char *path = opt_path_format(at);
        _cleanup_free_ char *va = value_brief(a), *vb = value_brief(b);
        _cleanup_free_ char *pa = srcpos_format(a->pos);
        return srcpos_error(err, b->pos,
                            "%s has conflicting definitions: %s here and %s at %s; keep one, or "
                            "give one priority with lib.mkForce or lib.mkDefault",
                            path, vb, va, pa);
}

static int merge_equal(const struct opt_path *path, struct value *const *defs, size_t n,
                       struct value **out, struct mv_error **err)
{
        for (size_t i = 1; i < n; i++)
                if (!value_equal(defs[0], defs[i]))
                        return conflict_error(path, defs[0], defs[i], err);
        *out = value_copy(defs[0]);
        (*out)->priority = 0;
        return 0;
}

static int merge_lines(struct value *const *defs, size_t n, struct value **out)
{
        struct strbuf b = { 0 };
        for (size_t i = 0; i < n; i++) {
                if (i)
                        strbuf_putc(&b, '\n');
                strbuf_putn(&b, defs[i]->str, defs[i]->len);
        }
        size_t len = b.len;
        _cleanup_free_ char *s = strbuf_take(&b);
        *out = value_new_string(VALUE_STRING, s, len, defs[0]->pos);
        return 0;
}

char *opt_path_format(const struct opt_path *p)
{
        if (!p)
                return xstrdup("");
        _cleanup_free_ char *parent = opt_path_format(p->parent);
        if (p->is_index)
                return xasprintf("%s[%zu]", parent, p->index);
        _cleanup_free_ char *seg = option_segment_display(p->segment);
        return *parent ? xasprintf("%s.%s", parent, seg) : xstrdup(seg);
}

static struct opt_path path_child(const struct opt_path *parent, const char *segment)
{
        return (struct opt_path){ .parent = parent, .segment = segment };
}

/* Definitions below a value carry its priority unless they have their own. */
static struct value *inherit_priority(struct value *child, const struct value *parent)
{
        if (!child->priority && parent->priority)
                child->priority = parent->priority;
        return child;
}

static int merge_list(struct merge_ctx *ctx, const struct type *t, const struct opt_path *path,
                      struct value *const *defs, size_t n, struct value **out,
                      struct mv_error **err)
{
        _cleanup_value_ struct value *list = value_new(VALUE_LIST, defs[0]->pos);
        size_t index = 0;
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < defs[i]->n_items; j++, index++) {
                        struct opt_path p = { .parent = path, .index = index, .is_index = true };
                        struct value *item = inherit_priority(defs[i]->items[j], defs[i]);
                        struct value *merged = NULL;
                        int r = merge_type(ctx, t->inner, &p, &item, 1, &merged, err);
                        if (r < 0)
                                return r;
                        value_list_append(list, merged);
                }
        }
        *out = TAKE_PTR(list);
        return 0;
}

static int merge_attrs_of(struct merge_ctx *ctx, const struct type *t, const struct opt_path *path,
                          struct value *const *defs, size_t n, struct value **out,
                          struct mv_error **err)
{
        _cleanup_value_ struct value *attrs = value_new(VALUE_ATTRS, defs[0]->pos);
        _cleanup_free_ struct value **vals = xcalloc(n, sizeof(*vals));
        struct strmap done = { 0 };
        const char *saved_name = ctx->name;
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++) {
                for (size_t j = 0; j < defs[i]->n_attrs && r >= 0; j++) {
                        const char *key = defs[i]->attrs[j].key;
                        size_t nv = 0;
                        if (n == 1) {
                                /* One definition: its keys are unique (the readers ensure it). */
                                vals[nv++] = inherit_priority(defs[0]->attrs[j].value, defs[0]);
                        } else {
                                if (!strmap_put(&done, key, 0, NULL))
                                        continue; /* merged already, with every definition of it */
                                for (size_t k = i; k < n; k++) {
                                        struct attr *a = value_attrs_get(defs[k], key);
                                        if (a)
                                                vals[nv++] = inherit_priority(a->value, defs[k]);
                                }
                        }
                        struct opt_path p = path_child(path, key);
                        struct value *merged = NULL;
                        ctx->name = key;
                        r = merge_type(ctx, t->inner, &p, vals, nv, &merged, err);
                        ctx->name = saved_name;
                        if (r >= 0)
                                value_attrs_append(attrs, key, defs[i]->attrs[j].key_pos, merged);
                }
        }
        strmap_free(&done);
        if (r < 0)
                return r;
        *out = TAKE_PTR(attrs);
        return 0;
}

/* Freeform values (unspecified type): sets merge deeply, lists concatenate, scalars agree. */
static int merge_any(struct merge_ctx *ctx, const struct opt_path *path, struct value *const *defs,
                     size_t n, struct value **out, struct mv_error **err)
{
        bool all_attrs = true, all_lists = true;
        for (size_t i = 0; i < n; i++) {
                all_attrs = all_attrs && defs[i]->type == VALUE_ATTRS;
                all_lists = all_lists && defs[i]->type == VALUE_LIST;
        }
        if (n > 1 && all_attrs)
                return merge_attrs_of(ctx, &type_attrs_of_any, path, defs, n, out, err);
        if (n > 1 && all_lists) {
                static const struct type list_of_any = { .kind = TYPE_LIST_OF, .inner = &type_any };
                return merge_list(ctx, &list_of_any, path, defs, n, out, err);
        }
        return merge_equal(path, defs, n, out, err);
}

static int merge_submodule(struct merge_ctx *ctx, const struct type *t, const struct opt_path *path,
                           struct value *const *defs, size_t n, struct value **out,
                           struct mv_error **err);

int merge_type(struct merge_ctx *ctx, const struct type *t, const struct opt_path *path,
               struct value *const *defs, size_t n, struct value **out, struct mv_error **err)
{
        /* Only the definitions of the highest priority (lowest number) count. */
        int best = INT_MAX;
        for (size_t i = 0; i < n; i++)
                if (value_priority(defs[i]) < best)
                        best = value_priority(defs[i]);
        if (n == 0)
                return mv_error_fail(err, "no definition to merge");
        /* Nearly always one definition: it is kept as it is, without a copy of the list. */
        _cleanup_free_ struct value **filtered = NULL;
        struct value *const *kept = defs;
        size_t nk = n;
        if (n > 1) {
                filtered = xcalloc(n, sizeof(*filtered));
                nk = 0;
                for (size_t i = 0; i < n; i++)
                        if (value_priority(defs[i]) == best)
                                filtered[nk++] = defs[i];
                kept = filtered;
        }

        int r = check_all(t, path, kept, nk, err);
        if (r < 0)
                return r;

        switch (t->kind) {
        case TYPE_BOOL:
        case TYPE_INT:
        case TYPE_FLOAT:
        case TYPE_STR:
        case TYPE_PATH:
        case TYPE_ENUM:
                return merge_equal(path, kept, nk, out, err);
        case TYPE_LINES:
                return merge_lines(kept, nk, out);
        case TYPE_NULL_OR: {
                size_t nulls = 0;
                for (size_t i = 0; i < nk; i++)
                        nulls += kept[i]->type == VALUE_NULL;
                if (nulls == nk)
                        return merge_equal(path, kept, nk, out, err);
                if (nulls > 0) {
                        const struct value *a = NULL, *b = NULL;
                        for (size_t i = 0; i < nk; i++) {
                                if (kept[i]->type == VALUE_NULL && !a)
                                        a = kept[i];
                                if (kept[i]->type != VALUE_NULL && !b)
                                        b = kept[i];
                        }
                        return conflict_error(path, a, b, err);
                }
                return merge_type(ctx, t->inner, path, kept, nk, out, err);
        }
        case TYPE_LIST_OF:
                return merge_list(ctx, t, path, kept, nk, out, err);
        case TYPE_ATTRS_OF:
                return merge_attrs_of(ctx, t, path, kept, nk, out, err);
        case TYPE_ONE_OF:
                for (size_t a = 0; t->alternatives[a]; a++) {
                        bool all = true;
                        for (size_t i = 0; i < nk && all; i++)
                                all = value_matches(t->alternatives[a], kept[i]);
                        if (all)
                                return merge_type(ctx, t->alternatives[a], path, kept, nk, out,
                                                  err);
                }
                return conflict_error(path, kept[0], kept[nk - 1], err);
        case TYPE_SUBMODULE:
                return merge_submodule(ctx, t, path, kept, nk, out, err);
        case TYPE_ANY:
                return merge_any(ctx, path, kept, nk, out, err);
        }
        return mv_error_fail(err, "unknown option type %d", (int)t->kind);
}

/* ---- modules: functions, imports, the full { config = ...; } form ---- */

static const char *const module_keys[] = { "imports", "config", "options",         "_file",
                                           "key",     "meta",   "disabledModules", NULL };

static int expand_module(struct merge_ctx *ctx, struct value *def, const struct opt_path *path,
                         struct value ***mods, size_t *n, struct mv_error **err);

static int import_file(struct merge_ctx *ctx, const struct value *item, const struct opt_path *path,
                       struct value ***mods, size_t *n, struct mv_error **err)
{
        if (item->type != VALUE_PATH && !(item->type == VALUE_STRING && item->str[0] == '/')) {
                _cleanup_free_ char *ps = opt_path_format(path);
                return srcpos_error(err, item->pos,
                                    "%s%simports: expected a path to a module file, got %s", ps,
                                    *ps ? "." : "", value_type_to_string(item->type));
        }
        if (ctx->no_imports)
                return srcpos_error(err, item->pos, "imports are disabled here");
        _cleanup_free_ char *real = realpath(item->str, NULL);
        if (!real) {
                _cleanup_error_ struct mv_error *cause = NULL;
                mv_error_set(&cause, errno, "%s", item->str);
                return load_error(&item->pos, cause, err);
        }
        if (strv_contains(ctx->loaded, real))
                return 0; /* a module is imported once, however often it is named */
        strv_push(&ctx->loaded, real);

        struct value *mod = NULL;
        int r = config_load_file(ctx, real, &item->pos, &mod, err);
        if (r < 0)
                return r;
        return expand_module(ctx, mod, path, mods, n, err);
}

/* Turn one module definition into the attribute sets it contributes, imports included. */
static int expand_module(struct merge_ctx *ctx, struct value *def, const struct opt_path *path,
                         struct value ***mods, size_t *n, struct mv_error **err)
{
        while (def->type == VALUE_FUNCTION)
                def = inherit_priority(def->body, def);
        if (def->type != VALUE_ATTRS) {
                _cleanup_free_ char *ps = opt_path_format(path);
                return srcpos_error(err, def->pos, "%s: a module must be an attribute set, got %s",
                                    *ps ? ps : "the configuration",
                                    value_type_to_string(def->type));
        }

        struct attr *config = value_attrs_get(def, "config");
        struct attr *options = value_attrs_get(def, "options");
        if (options)
                return srcpos_error(err, options->key_pos,
                                    "declaring options needs the Nix module system; microvm "
                                    "reads option definitions only");

        bool full_form = config != NULL;
        for (size_t i = 0; full_form && i < def->n_attrs; i++)
                full_form = strv_contains((char *const *)module_keys, def->attrs[i].key);

        /* Take the module's own keys out, so that what remains is option definitions. */
        _cleanup_value_ struct value *imports = NULL;
        for (size_t i = 0; i < def->n_attrs;) {
                const char *key = def->attrs[i].key;
                if (strcmp(key, "config") == 0 || !strv_contains((char *const *)module_keys, key)) {
                        i++;
                        continue;
                }
                if (strcmp(key, "imports") == 0)
                        imports = TAKE_PTR(def->attrs[i].value);
                value_attrs_remove(def, i);
        }

        struct value *body = def;
        if (full_form) {
                body = value_attrs_get(def, "config")->value;
                while (body->type == VALUE_FUNCTION)
                        body = body->body;
                if (body->type != VALUE_ATTRS)
                        return srcpos_error(err, body->pos, "config: expected an attribute set");
                inherit_priority(body, def);
        }

        *mods = xreallocarray(*mods, *n + 1, sizeof(**mods));
        (*mods)[(*n)++] = body;

        if (imports) {
                if (imports->type != VALUE_LIST) {
                        struct opt_path p = path_child(path, "imports");
                        return type_error(&type_list_of_str, &p, imports, err);
                }
                for (size_t i = 0; i < imports->n_items; i++) {
                        int r = import_file(ctx, imports->items[i], path, mods, n, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- submodules: walking the option tree ---- */

static int unknown_option(const struct schema_node *node, const struct opt_path *path,
                          const struct attr *a, struct mv_error **err)
{
        struct opt_path p = path_child(path, a->key);
        _cleanup_free_ char *full = opt_path_format(&p);
        _cleanup_free_ const char **names = xcalloc(node->n_children + 1, sizeof(char *));
        for (size_t i = 0; i < node->n_children; i++)
                names[i] = node->children[i]->segment;
        const char *close = suggest_closest(a->key, names, node->n_children);
        if (close)
                return srcpos_error(err, a->key_pos, "unknown option %s; did you mean %s?", full,
                                    close);
        struct strbuf known = { 0 };
        for (size_t i = 0; i < node->n_children && i < 12; i++)
                strbuf_printf(&known, "%s%s", i ? ", " : "", names[i]);
        if (node->n_children > 12)
                strbuf_puts(&known, ", ...");
        _cleanup_free_ char *list = strbuf_take(&known);
        return srcpos_error(err, a->key_pos, "unknown option %s; options here are: %s", full, list);
}

static int merge_option(struct merge_ctx *ctx, const struct mv_option *opt,
                        const struct opt_path *path, struct srcpos where, struct value *const *vals,
                        size_t n, struct value **out, struct mv_error **err)
{
        if (n > 0)
                return merge_type(ctx, opt->type, path, vals, n, out, err);

        struct value *dflt = schema_option_default(ctx, opt);
        if (!dflt) {
                _cleanup_free_ char *type = type_describe(opt->type);
                _cleanup_free_ char *ps = opt_path_format(path);
                return srcpos_error(err, where, "%s is not set; it has no default (%s)", ps, type);
        }
        return merge_type(ctx, opt->type, path, &dflt, 1, out, err);
}

static bool option_deferred(const struct mv_option *opt)
{
        return opt->default_fn != NULL || (opt->flags & OPTION_OMIT_DEFAULT);
}

/*
 * Merge the definitions `defs` (attribute sets at namespace `node`) into
 * `result`. Options with computed defaults and no definition are left for
 * fill_computed(), which runs when everything else is known.
 */
static int merge_namespace(struct merge_ctx *ctx, const struct schema_node *node,
                           const struct type *t, bool root, const struct opt_path *path,
                           struct srcpos where, struct value *const *defs, size_t n,
                           struct value *result, struct mv_error **err)
{
        /* Small on the stack, as namespaces nearly always have one or two definitions. */
        struct value *stack_vals[8];
        _cleanup_free_ struct value **heap_vals =
                n > ELEMENTSOF(stack_vals) ? xcalloc(n, sizeof(*heap_vals)) : NULL;
        struct value **vals = heap_vals ? heap_vals : stack_vals;
        int r;

        /* Which children the definitions set: most options are left to their defaults. */
        bool stack_set[128] = { 0 };
        _cleanup_free_ bool *heap_set = node->n_children > ELEMENTSOF(stack_set)
                                                ? xcalloc(node->n_children, sizeof(*heap_set))
                                                : NULL;
        bool *is_set = heap_set ? heap_set : stack_set;

        value_attrs_reserve(result, node->n_children);
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < defs[i]->n_attrs; j++) {
                        const struct attr *a = &defs[i]->attrs[j];
                        const struct schema_node *known = schema_node_child(node, a->key);
                        if (known) {
                                is_set[known->rank] = true;
                                continue;
                        }
                        if (!(root && t->freeform_others))
                                return unknown_option(node, path, a, err);
                        if (value_attrs_get(result, a->key))
                                continue;
                        /* Not ours to check: kept for a Nix build of the guest. */
                        size_t nv = 0;
                        for (size_t k = i; k < n; k++) {
                                struct attr *o = value_attrs_get(defs[k], a->key);
                                if (o)
                                        vals[nv++] = inherit_priority(o->value, defs[k]);
                        }
                        struct opt_path p = path_child(path, a->key);
                        struct value *merged = NULL;
                        if ((r = merge_type(ctx, &type_any, &p, vals, nv, &merged, err)) < 0)
                                return r;
                        value_attrs_append(result, a->key, a->key_pos, merged);
                }
        }

        for (size_t c = 0; c < node->n_children; c++) {
                const struct schema_node *child = node->children[c];
                size_t nv = 0;
                struct srcpos pos = { 0 };
                for (size_t i = 0; is_set[child->rank] && i < n; i++) {
                        struct attr *a = value_attrs_get(defs[i], child->segment);
                        if (a) {
                                if (!nv)
                                        pos = a->key_pos;
                                vals[nv++] = inherit_priority(a->value, defs[i]);
                        }
                }
                struct opt_path p = path_child(path, child->segment);
                struct value *merged = NULL;

                if (child->option) {
                        if (nv == 0 && option_deferred(child->option))
                                continue;
                        r = merge_option(ctx, child->option, &p, where, vals, nv, &merged, err);
                } else {
                        for (size_t i = 0; i < nv; i++) {
                                if (vals[i]->type == VALUE_ATTRS)
                                        continue;
                                _cleanup_free_ char *ps = opt_path_format(&p);
                                return srcpos_error(err, vals[i]->pos,
                                                    "%s: expected an attribute set of options, "
                                                    "got %s",
                                                    ps, value_type_to_string(vals[i]->type));
                        }
                        merged = value_new(VALUE_ATTRS, pos);
                        r = merge_namespace(ctx, child, t, false, &p, nv ? vals[0]->pos : where,
                                            vals, nv, merged, err);
                }
                if (r < 0) {
                        value_free(merged);
                        return r;
                }
                value_attrs_append_static(result, child->segment, pos, merged);
        }
        /* Sorted once here, so that lookups bisect and nothing sorts it again. */
        value_sort_attrs_shallow(result);
        return 0;
}

static int fill_computed(struct merge_ctx *ctx, const struct schema_node *node,
                         const struct opt_path *path, struct value *result, struct mv_error **err)
{
        for (size_t c = 0; c < node->n_children; c++) {
                const struct schema_node *child = node->children[c];
                if (!child->computed_below)
                        continue;
                struct attr *a = value_attrs_get(result, child->segment);
                int r;
                if (!child->option) {
                        if (!a)
                                continue;
                        struct opt_path p = path_child(path, child->segment);
                        if ((r = fill_computed(ctx, child, &p, a->value, err)) < 0)
                                return r;
                        continue;
                }
                if (a || !child->option->default_fn)
                        continue;
                struct value *v = NULL;
                if ((r = child->option->default_fn(ctx, &v)) < 0) {
                        struct opt_path p = path_child(path, child->segment);
                        _cleanup_free_ char *ps = opt_path_format(&p);
                        return mv_error_wrap(err, "default of %s", ps);
                }
                value_attrs_insert_static(result, child->segment, (struct srcpos){ 0 }, v);
        }
        return 0;
}

static int merge_submodule(struct merge_ctx *ctx, const struct type *t, const struct opt_path *path,
                           struct value *const *defs, size_t n, struct value **out,
                           struct mv_error **err)
{
        _cleanup_free_ struct value **mods = NULL;
        size_t nm = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                if (t->module) {
                        if ((r = expand_module(ctx, defs[i], path, &mods, &nm, err)) < 0)
                                return r;
                } else {
                        mods = xreallocarray(mods, nm + 1, sizeof(*mods));
                        mods[nm++] = defs[i];
                }
        }

        const struct schema_node *tree = schema_tree_for(t);
        _cleanup_value_ struct value *result = value_new(VALUE_ATTRS, defs[0]->pos);
        /* The schema's nesting is shallow (host, VM, guest, share); the bound is never reached. */
        if (ctx->n_roots >= ELEMENTSOF(ctx->roots))
                return mv_error_fail(err, "submodules nested too deeply");
        ctx->roots[ctx->n_roots++] = result;
        r = merge_namespace(ctx, tree, t, true, path, defs[0]->pos, mods, nm, result, err);
        if (r >= 0)
                r = fill_computed(ctx, tree, path, result, err);
        ctx->n_roots--;
        if (r < 0)
                return r;
        *out = TAKE_PTR(result);
        return 0;
}

const struct value *merge_ctx_root(const struct merge_ctx *ctx, size_t up)
{
        return up < ctx->n_roots ? ctx->roots[ctx->n_roots - 1 - up] : NULL;
}

const struct value *value_lookup(const struct value *root, const char *dotted)
{
        /* The common case, plain names: walked in place, without splitting into a list. */
        if (!strchr(dotted, '"')) {
                const struct value *v = root;
                char seg[128];
                for (const char *p = dotted; *p && v;) {
                        size_t len = strcspn(p, ".");
                        if (len >= sizeof(seg))
                                goto split;
                        memcpy(seg, p, len);
                        seg[len] = '\0';
                        struct attr *a = value_attrs_get(v, seg);
                        v = a ? a->value : NULL;
                        p += len;
                        if (*p == '.')
                                p++;
                }
                return v;
        }
split:;
        _cleanup_strv_free_ char **segs = NULL;
        size_t n = option_name_split(dotted, &segs);
        const struct value *v = root;
        for (size_t i = 0; i < n && v; i++) {
                struct attr *a = value_attrs_get(v, segs[i]);
                v = a ? a->value : NULL;
        }
        return v;
}
