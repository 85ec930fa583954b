#include "config/schema-tree.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/parser.h"
#include "util/strv.h"
#include "util/xalloc.h"

static struct schema_node *node_child_or_add(struct schema_node *node, const char *segment)
{
        for (size_t i = 0; i < node->n_children; i++)
                if (strcmp(node->children[i]->segment, segment) == 0)
                        return node->children[i];
        struct schema_node *c = xcalloc(1, sizeof(*c));
        c->segment = xstrdup(segment);
        node->children =
                xreallocarray(node->children, node->n_children + 1, sizeof(*node->children));
        node->children[node->n_children++] = c;
        return c;
}

static int node_cmp(const void *a, const void *b)
{
        return strcmp((*(struct schema_node *const *)a)->segment,
                      (*(struct schema_node *const *)b)->segment);
}

/* Children by name too: merged sets are put together in that order, and lookups bisect. */
static void tree_index(struct schema_node *node)
{
        node->by_name = xcalloc(node->n_children ? node->n_children : 1, sizeof(*node->by_name));
        if (node->n_children)
                memcpy(node->by_name, node->children, node->n_children * sizeof(*node->by_name));
        if (node->n_children > 1)
                qsort(node->by_name, node->n_children, sizeof(*node->by_name), node_cmp);
        node->computed_below = node->option && node->option->default_fn;
        for (size_t i = 0; i < node->n_children; i++) {
                node->by_name[i]->rank = i;
                tree_index(node->children[i]);
                node->computed_below |= node->children[i]->computed_below;
        }
}

static struct schema_node *tree_build(const struct mv_option *options)
{
        struct schema_node *root = xcalloc(1, sizeof(*root));
        root->segment = xstrdup("");
        for (const struct mv_option *o = options; o->name; o++) {
                char **segs = NULL;
                size_t n = option_name_split(o->name, &segs);
                struct schema_node *node = root;
                for (size_t i = 0; i < n; i++)
                        node = node_child_or_add(node, segs[i]);
                node->option = o;
                strv_free(segs);
        }
        tree_index(root);
        return root;
}

/* A handful of submodule types exist; a short list is the right map. */
static struct tree_cache {
        const struct type *type;
        struct schema_node *tree;
        struct tree_cache *next;
} * trees;

const struct schema_node *schema_tree_for(const struct type *t)
{
        for (struct tree_cache *c = trees; c; c = c->next)
                if (c->type == t)
                        return c->tree;
        struct tree_cache *c = xcalloc(1, sizeof(*c));
        c->type = t;
        c->tree = tree_build(t->options);
        c->next = trees;
        trees = c;
        return c->tree;
}

const struct schema_node *schema_node_child(const struct schema_node *node, const char *segment)
{
        size_t lo = 0, hi = node->n_children;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(node->by_name[mid]->segment, segment);
                if (c == 0)
                        return node->by_name[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* Parsed defaults, by option address: open addressing, never freed (process lifetime). */
#define DEFAULT_SLOTS 1024
static struct {
        const struct mv_option *opt;
        struct value *value;
} defaults[DEFAULT_SLOTS];
static struct source_set default_sources;

struct value *schema_option_default(struct merge_ctx *ctx, const struct mv_option *opt)
{
        (void)ctx;
        if (!opt->default_nix)
                return NULL;

        size_t h = ((uintptr_t)opt >> 4) % DEFAULT_SLOTS;
        for (size_t probe = 0; probe < DEFAULT_SLOTS; probe++, h = (h + 1) % DEFAULT_SLOTS) {
                if (defaults[h].opt == opt)
                        return defaults[h].value;
                if (defaults[h].opt)
                        continue;
                char name[256];
                snprintf(name, sizeof(name), "<default of %s>", opt->name);
                struct source *src = source_add_text(&default_sources, name, opt->default_nix);
                struct value *v = NULL;
                /* The cache outlives any one configuration: not in its arena. */
                struct arena *arena = value_use_arena(NULL);
                int r = nix_parse(src, &v, NULL);
                value_use_arena(arena);
                if (r < 0)
                        abort(); /* a broken table entry: the schema unit test catches it */
                v->priority = PRIORITY_OPTION;
                defaults[h].opt = opt;
                defaults[h].value = v;
                return v;
        }
        abort();
}
