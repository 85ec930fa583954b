/* "Did you mean ...?" for misspelt option names and enum values. */
#pragma once

#include <stddef.h>

/* Edit distance with adjacent transpositions (optimal string alignment). */
size_t edit_distance(const char *a, const char *b);

/* The candidate closest to `word` if it is close enough to be a likely typo, else NULL. */
const char *suggest_closest(const char *word, const char *const *candidates, size_t n);
