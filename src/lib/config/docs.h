/* Option documentation from the schema: `microvm options` and microvm-options(5). */
#pragma once

#include <stdbool.h>

#include "util/strbuf.h"

struct mv_error;

enum docs_format {
        DOCS_TEXT, /* the layout of microvm.nix's option reference */
        DOCS_JSON, /* NixOS options.json: { "name": { "type", "default", ... } } */
        DOCS_MAN,  /* microvm-options(5), troff */
};

/*
 * Document the options whose names equal `filter` or start with "filter.";
 * all of them when `filter` is NULL. An unknown filter is an error that
 * suggests the closest name.
 */
int docs_render(struct strbuf *out, enum docs_format format, const char *filter,
                struct mv_error **err);
