/* Values as JSON: the stable output format of `microvm eval --json` and friends. */
#pragma once

#include <stdbool.h>

#include "config/value.h"
#include "util/strbuf.h"

/* Append `v` as JSON. Paths become strings; functions become null. `pretty` indents by two. */
void json_write_value(struct strbuf *out, const struct value *v, bool pretty);

/* Append `s` (length n) as a JSON string literal, quotes included. */
void json_write_string(struct strbuf *out, const char *s, size_t n);
