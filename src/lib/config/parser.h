/*
 * A reader for the data subset of the Nix language: what a host
 * configuration is written in. It builds values directly; anything that
 * needs a real Nix evaluator is an error at its position that says so.
 */
#pragma once

#include "config/source.h"
#include "config/value.h"

struct mv_error;

/* Parse a whole source into one value (a module function stays VALUE_FUNCTION). */
int nix_parse(const struct source *src, struct value **out, struct mv_error **err);

/* Lexically normalise an absolute path: collapse "//", "." and "..". Returns malloc'd. */
char *path_normalize(const char *path);
