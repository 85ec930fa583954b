/*
 * NULL-terminated string vectors: how every argv and environment is built.
 * A command line is a vector handed to execve(), never a string for a shell.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef char **strv;

size_t strv_length(char *const *v);

/* Append a copy of `s`. `*v` may be NULL (an empty vector). */
void strv_push(char ***v, const char *s);

/* Append a formatted string. */
void strv_pushf(char ***v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append copies of every element of `other` (which may be NULL). */
void strv_extend(char ***v, char *const *other);

/* Append `s`, taking ownership of it. */
void strv_consume(char ***v, char *s);

/*
 * Append the words of `s`, split at blanks: what microvm.nix's scripts get
 * from an unquoted expansion. Not a shell: no quotes, no expansions.
 */
void strv_push_words(char ***v, const char *s);

bool strv_contains(char *const *v, const char *s);

char **strv_copy(char *const *v);

/* Join with `sep`, for messages and display only. */
char *strv_join(char *const *v, const char *sep);

void strv_free(char **v);

static inline void strv_freep(char ***v)
{
        strv_free(*v);
}

#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))
