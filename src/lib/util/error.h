/*
 * The error convention (docs/HACKING.md): a library function returns >= 0 on
 * success and a negative errno on failure, and fills its last parameter,
 * `struct mv_error **err`, with what went wrong. Callers add context with
 * mv_error_wrap() on the way up; only main() prints, once.
 */
#pragma once

#include <stdarg.h>

enum mv_error_kind {
        MV_ERROR_RUNTIME, /* something failed while doing the work: exit 1 */
        MV_ERROR_CONFIG,  /* the configuration is wrong: exit 2 */
        MV_ERROR_USAGE,   /* the command line is wrong: exit 2 */
};

struct mv_error {
        enum mv_error_kind kind;
        int code;   /* errno value behind the failure, 0 when none applies */
        char *msg;  /* complete message, context first */
        char *hint; /* what the user can do about it, or NULL */
};

/* Runtime failure caused by errno value `code` (0: no errno). Returns -code, or -EIO for 0. */
int mv_error_set(struct mv_error **err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Runtime failure described by `fmt` alone; equivalent to mv_error_set(err, 0, ...). */
#define mv_error_fail(err, ...) mv_error_set((err), 0, __VA_ARGS__)

/* Configuration error: exit status 2. Returns -EINVAL. */
int mv_error_config(struct mv_error **err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Usage error: exit status 2. Returns -EINVAL. */
int mv_error_usage(struct mv_error **err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Prefix the message with context ("starting web: <old message>"). Returns the error's -code. */
int mv_error_wrap(struct mv_error **err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Attach advice for the user, replacing any earlier hint. Returns the error's -code. */
int mv_error_hint(struct mv_error **err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Negative value a function returns for this error. */
int mv_error_return(const struct mv_error *e);

/* Exit status for this error: 1 for runtime failures, 2 for usage and configuration errors. */
int mv_error_exit_status(const struct mv_error *e);

void mv_error_free(struct mv_error **err);

#define _cleanup_error_ __attribute__((cleanup(mv_error_free)))
