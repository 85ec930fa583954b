/*
 * Typed reads from an evaluated configuration. The evaluation has already
 * checked every type, so these only distinguish "set" from "absent or null".
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config/value.h"

/* The string at `path` below `v`, or NULL when absent or null. */
const char *vget_str(const struct value *v, const char *path);

/* The integer at `path`, or `fallback` when absent or null. */
int64_t vget_int(const struct value *v, const char *path, int64_t fallback);

bool vget_bool(const struct value *v, const char *path, bool fallback);

/* The list at `path`, or NULL when absent. */
const struct value *vget_list(const struct value *v, const char *path);

/* The attribute set at `path`, or NULL when absent or null. */
const struct value *vget_attrs(const struct value *v, const char *path);

/* Number of items of the list at `path` (0 when absent). */
size_t vget_count(const struct value *v, const char *path);

/* Append every string of `list` (a list of strings, or NULL) to the vector `*v`. */
void vlist_push_strings(char ***v, const struct value *list);
