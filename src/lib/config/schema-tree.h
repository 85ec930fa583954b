/* Option tables as trees of name segments, built once per submodule type. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/types.h"

struct merge_ctx;

struct schema_node {
        char *segment;
        const struct mv_option *option; /* a leaf; NULL for a namespace */
        /* In declaration order, which is merge order: some defaults read earlier options. */
        struct schema_node **children;
        size_t n_children;
        struct schema_node **by_name; /* the same, bytewise by segment: lookups bisect */
        size_t rank;                  /* this node's position in its parent's by_name */
        bool computed_below; /* an option here or below has a computed default (default_fn) */
};

/* The tree of a SUBMODULE type's options. Built on first use, kept for the process. */
const struct schema_node *schema_tree_for(const struct type *t);

const struct schema_node *schema_node_child(const struct schema_node *node, const char *segment);

/* An option's default as a value (parsed once), with PRIORITY_OPTION; NULL if it has none. */
struct value *schema_option_default(struct merge_ctx *ctx, const struct mv_option *opt);
