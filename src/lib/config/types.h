/*
 * Option types and option tables: the one description of every option,
 * from which validation, defaults, `microvm options` and the man page
 * all come. Type names and their descriptions follow the NixOS module
 * system, so that `Type:` lines read as in microvm.nix's documentation.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config/value.h"

enum type_kind {
        TYPE_BOOL,
        TYPE_INT,   /* signed, within [min, max] when has_range */
        TYPE_FLOAT, /* number: int or float */
        TYPE_STR,
        TYPE_LINES, /* strings concatenated with "\n" */
        TYPE_PATH,  /* a path, or a string starting with "/" */
        TYPE_ENUM,
        TYPE_NULL_OR,
        TYPE_LIST_OF,
        TYPE_ATTRS_OF,
        TYPE_ONE_OF,
        TYPE_SUBMODULE,
        TYPE_ANY, /* "unspecified value": kept as written */
};

struct mv_option;
struct merge_ctx;

struct type {
        enum type_kind kind;
        const struct type *inner;               /* NULL_OR, LIST_OF, ATTRS_OF */
        const struct type *const *alternatives; /* ONE_OF, NULL-terminated */
        const char *const *values;              /* ENUM, NULL-terminated */
        const struct mv_option *options;        /* SUBMODULE: table ending with { NULL } */
        bool has_range;
        bool nonempty; /* STR: the empty string is not allowed */
        int64_t min, max;
        const char *name;     /* a description that replaces the generated one */
        bool module;          /* SUBMODULE written as a NixOS module: functions, imports */
        bool freeform_others; /* SUBMODULE: top-level namespaces it does not declare are kept */
};

/*
 * Absent from the evaluation unless set: options whose default only a Nix
 * build can produce (pkgs, kernel, ...), and ones that are used only in
 * some cases and checked there (a volume's size, needed to create it).
 */
#define OPTION_OMIT_DEFAULT (1u << 0)

struct mv_option {
        const char *name; /* dotted, relative to its table; quoted segments allowed */
        const struct type *type;
        const char *default_nix; /* the default as Nix text; NULL: computed or none */
        /* Computes a default from what is already merged; NULL when default_nix says it. */
        int (*default_fn)(const struct merge_ctx *ctx, struct value **out);
        const char *default_text; /* shown in the docs in place of default_nix */
        const char *example;      /* Nix text, or NULL */
        const char *description;
        const char *declared_by; /* the microvm.nix module this option comes from */
        unsigned flags;
};

/* "list of string", "null or one of \"a\", \"b\"", ... into a malloc'd string. */
char *type_describe(const struct type *t);

/* Shared type instances. */
extern const struct type type_bool, type_int, type_uint, type_positive, type_port, type_float,
        type_str, type_nonempty_str, type_lines, type_path, type_abs_path, type_package, type_any,
        type_list_of_str, type_null_or_str, type_null_or_int, type_null_or_path,
        type_null_or_abs_path, type_null_or_package, type_attrs_of_any, type_null_or_attrs,
        type_null_or_attrs_of_str, type_attrs_of_lines, type_attrs_of_abs_path,
        type_attrs_of_package, type_json_attrs, type_thread_pool, type_null_or_thread_pool;

/* Split "a.b.\"c.d\".e" into segments; returns the count, fills `out` with malloc'd strings. */
size_t option_name_split(const char *name, char ***out);

/* Quote a name segment for display when it is not a plain identifier. malloc'd. */
char *option_segment_display(const char *segment);
