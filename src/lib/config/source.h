/*
 * Configuration source files and positions in them. A source keeps its
 * text so that an error can show the offending line with a caret.
 */
#pragma once

#include <stddef.h>

struct mv_error;

/*
 * The most a configuration file may hold. Real ones are kilobytes; the cap
 * is there so that a mistaken import (a log, a disk image, /dev/zero) is an
 * error instead of a process that eats the host's memory.
 */
#define SOURCE_MAX_BYTES ((size_t)64 << 20)

struct source {
        char *path; /* as given, or "<default>" for built-in defaults */
        char *dir;  /* directory relative paths in it resolve against */
        char *text; /* NUL-terminated contents */
        size_t len;
        struct source *next; /* sources form a list owned by a source_set */
};

struct srcpos {
        const struct source *src; /* NULL: no position (a built-in value) */
        int line, col;            /* 1-based; col counts bytes */
};

struct source_set {
        struct source *head;
};

/*
 * Read `path`, a regular file of at most SOURCE_MAX_BYTES, into the set.
 * Returns the source, owned by the set. Errors read "PATH: reason", for
 * the caller to prefix; a file that cannot be opened returns its -errno.
 */
int source_load(struct source_set *set, const char *path, struct source **out,
                struct mv_error **err);

/* Register in-memory text (for built-in defaults and tests). */
struct source *source_add_text(struct source_set *set, const char *name, const char *text);

void source_set_free(struct source_set *set);

/* "file:line:col", or "(built-in)" for a position-less value. Returned string is malloc'd. */
char *srcpos_format(struct srcpos pos);

/*
 * A configuration error at `pos`: "file:line:col: MESSAGE", then the
 * source line and a caret under the column. Returns -EINVAL.
 */
int srcpos_error(struct mv_error **err, struct srcpos pos, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
