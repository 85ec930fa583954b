#include "config/suggest.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static size_t min3(size_t a, size_t b, size_t c)
{
        size_t m = a < b ? a : b;
        return m < c ? m : c;
}

size_t edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        /* Three rows suffice for the transposition step. */
        size_t *prev2 = xcalloc(lb + 1, sizeof(size_t));
        size_t *prev = xcalloc(lb + 1, sizeof(size_t));
        size_t *cur = xcalloc(lb + 1, sizeof(size_t));

        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            prev2[j - 2] + 1 < cur[j])
                                cur[j] = prev2[j - 2] + 1;
                }
                size_t *t = prev2;
                prev2 = prev;
                prev = cur;
                cur = t;
        }
        size_t d = prev[lb];
        free(prev2);
        free(prev);
        free(cur);
        return d;
}

const char *suggest_closest(const char *word, const char *const *candidates, size_t n)
{
        const char *best = NULL;
        size_t best_d = (size_t)-1;
        size_t len = strlen(word);
        /* A third of the word, at least one edit and at most three. */
        size_t limit = len / 3;
        if (limit < 1)
                limit = 1;
        if (limit > 3)
                limit = 3;

        for (size_t i = 0; i < n; i++) {
                size_t d = edit_distance(word, candidates[i]);
                if (d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        return best_d <= limit ? best : NULL;
}
