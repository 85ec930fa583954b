/* Values as Nix text, for `microvm eval` and the documentation. */
#pragma once

#include "config/value.h"
#include "util/strbuf.h"

/* Append `v` in Nix syntax, indented from `indent` levels (two spaces each). */
void nix_write_value(struct strbuf *out, const struct value *v, int indent);
