/*
 * Configuration source files and positions in them. A source keeps its
 * text so that an error can show the offending line with a caret.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct mv_error;

/*
 * The most a configuration file may hold. Real ones are kilobytes; the cap
 * is there so that a mistaken import (a log, a disk image, /dev/zero) is an
 * error instead of a process that eats the host's memory.
 */
#define SOURCE_MAX_BYTES ((size_t)64 << 20)

struct source {
        char *path; /* as given, "<stdin>" for "-", or "<default>" for built-in defaults */
        char *dir;  /* directory relative paths in it resolve against */
        char *text; /* NUL-terminated contents */
        size_t len;
        bool unnamed;        /* read from standard input or a pipe: no file name to go by */
        struct source *next; /* sources form a list owned by a source_set */
};

struct srcpos {
        const struct source *src; /* NULL: no position (a built-in value) */
        int line, col;            /* 1-based; col counts bytes */
};

struct source_set {
        struct source *head;
};

/* source_load() flags. */
enum {
        /*
         * Also read a pipe or socket to its end: the main configuration
         * may come from standard input ("-" or /dev/stdin) or a pipe
         * (`--config <(...)`). Relative paths in it resolve against the
         * current directory. Without it, only regular files are read.
         */
        SOURCE_ALLOW_STREAM = 1 << 0,
};

/*
 * Read `path` (at most SOURCE_MAX_BYTES) into the set. Returns the source,
 * owned by the set. Errors read "PATH: reason", for the caller to prefix;
 * a file that cannot be opened returns its -errno.
 */
int source_load(struct source_set *set, const char *path, unsigned flags, struct source **out,
                struct mv_error **err);

/* How `path` is shown in messages: "<stdin>" for "-", else itself. */
const char *source_display_name(const char *path);

/* Register in-memory text (for built-in defaults and tests). */
struct source *source_add_text(struct source_set *set, const char *name, const char *text);

void source_set_free(struct source_set *set);

/* "file:line:col", or "(built-in)" for a position-less value. Returned string is malloc'd. */
char *srcpos_format(struct srcpos pos);

/*
 * A configuration error at `pos`: "file:line:col: MESSAGE", then the
 * source line and a caret under the column. A long line is shown as a
 * window around the column, the cuts marked "...". Returns -EINVAL.
 */
int srcpos_error(struct mv_error **err, struct srcpos pos, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
