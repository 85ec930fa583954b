/*
 * Merging definitions into option values, as the NixOS module system
 * does: every definition of an option is collected from every module, the
 * highest-priority ones kept (lib.mkForce < normal < lib.mkDefault <
 * option default), then merged by type (lists concatenate, lines join
 * with "\n", attribute sets merge, scalars must agree). The result has
 * every option, with defaults applied.
 */
#pragma once

#include <stddef.h>

#include "config/source.h"
#include "config/types.h"
#include "config/value.h"

struct mv_error;

/*
 * Where in the option tree a merge is: a chain of segments on the stack,
 * formatted ("microvm.vms.web.config.microvm.shares[0].tag") only when an
 * error needs it.
 */
struct opt_path {
        const struct opt_path *parent; /* NULL at the root */
        const char *segment;           /* NULL for a list index */
        size_t index;
        bool is_index;
};

/* The dotted display form of a path; "" for the root. malloc'd. */
char *opt_path_format(const struct opt_path *p);

struct merge_ctx {
        struct source_set *sources; /* files read, and built-in default texts */
        char **loaded;              /* canonical paths of files read (imports are read once) */
        struct value **owned;       /* parsed files, freed with the context */
        size_t n_owned;
        const char *name; /* the attribute name of the enclosing `attrsOf` (a VM's name) */
        bool no_imports;  /* refuse `imports` (the fuzzers read no files) */
        /* The submodule values being built, outermost first, for computed defaults. */
        struct value *roots[16];
        size_t n_roots;
};

/* The submodule value `up` levels out from the innermost one being built, or NULL. */
const struct value *merge_ctx_root(const struct merge_ctx *ctx, size_t up);

/*
 * Read a configuration file (Nix syntax, or JSON when it ends in .json)
 * as a module. `*out` is owned by the context. `import_pos` is where an
 * import named the file: only regular files are read then, and a file that
 * cannot be read is an error there. NULL for the main configuration, which
 * may also be a pipe ("-" is standard input; its format is sniffed).
 */
int config_load_file(struct merge_ctx *ctx, const char *path, const struct srcpos *import_pos,
                     struct value **out, struct mv_error **err);

/* Merge the definitions `defs` (n of them) of type `t` at option path `path`. */
int merge_type(struct merge_ctx *ctx, const struct type *t, const struct opt_path *path,
               struct value *const *defs, size_t n, struct value **out, struct mv_error **err);

void merge_ctx_free(struct merge_ctx *ctx);

/* The value at a dotted path of segments in an evaluated tree, or NULL. */
const struct value *value_lookup(const struct value *root, const char *dotted);

/* A short rendering of a value for messages: true, 42, "text", [ ... ], { ... }. */
char *value_brief(const struct value *v);
