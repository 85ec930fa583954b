/* Option tables as trees of name segments, built once per submodule type. */
#pragma once

#include <stddef.h>

#include "config/types.h"

struct merge_ctx;

struct schema_node {
        char *segment;
        const struct mv_option *option; /* a leaf; NULL for a namespace */
        struct schema_node **children;
        size_t n_children;
};

/* The tree of a SUBMODULE type's options. Built on first use, kept for the process. */
const struct schema_node *schema_tree_for(const struct type *t);

const struct schema_node *schema_node_child(const struct schema_node *node, const char *segment);

/* An option's default as a value (parsed once), with PRIORITY_OPTION; NULL if it has none. */
struct value *schema_option_default(struct merge_ctx *ctx, const struct mv_option *opt);
