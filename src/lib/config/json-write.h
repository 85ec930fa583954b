/* Values as JSON: the stable output format of `microvm eval --json` and friends. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "config/value.h"
#include "util/strbuf.h"

/* Append `v` as JSON. Paths become strings; functions become null. `pretty` indents by two. */
void json_write_value(struct strbuf *out, const struct value *v, bool pretty);

/*
 * Write `v` as JSON and a newline to `to`, a piece at a time: a large
 * document is never whole in memory. 0, or -1 with errno when writing failed.
 */
int json_write_value_to(FILE *to, const struct value *v, bool pretty);

/*
 * Append `s` (length n) as a JSON string literal, quotes included. The
 * output is always valid UTF-8: each ill-formed byte sequence (overlong,
 * surrogate, truncated, a stray byte) becomes one U+FFFD, as Unicode
 * recommends for decoders.
 */
void json_write_string(struct strbuf *out, const char *s, size_t n);
