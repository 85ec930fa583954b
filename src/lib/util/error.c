#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
        char *s;
        if (vasprintf(&s, fmt, ap) < 0)
                return xstrdup("(error message lost: out of memory)");
        return s;
}

static int error_new(struct mv_error **err, enum mv_error_kind kind, int code, char *msg)
{
        struct mv_error *e = xcalloc(1, sizeof(*e));

        e->kind = kind;
        e->code = code;
        e->msg = msg;
        if (err) {
                /* A second error replaces the first: the later one has the context. */
                mv_error_free(err);
                *err = e;
        } else {
                mv_error_free(&e);
        }
        return code > 0 ? -code : (kind == MV_ERROR_RUNTIME ? -EIO : -EINVAL);
}

int mv_error_set(struct mv_error **err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *base = vformat(fmt, ap);
        va_end(ap);

        if (code > 0) {
                char *full = xasprintf("%s: %s", base, strerror(code));
                free(base);
                base = full;
        }
        return error_new(err, MV_ERROR_RUNTIME, code, base);
}

int mv_error_config(struct mv_error **err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *msg = vformat(fmt, ap);
        va_end(ap);
        return error_new(err, MV_ERROR_CONFIG, 0, msg);
}

int mv_error_usage(struct mv_error **err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *msg = vformat(fmt, ap);
        va_end(ap);
        return error_new(err, MV_ERROR_USAGE, 0, msg);
}

int mv_error_return(const struct mv_error *e)
{
        if (!e)
                return -EIO;
        if (e->code > 0)
                return -e->code;
        return e->kind == MV_ERROR_RUNTIME ? -EIO : -EINVAL;
}

int mv_error_wrap(struct mv_error **err, const char *fmt, ...)
{
        if (!err || !*err)
                return -EIO;

        va_list ap;
        va_start(ap, fmt);
        char *prefix = vformat(fmt, ap);
        va_end(ap);

        char *msg = xasprintf("%s: %s", prefix, (*err)->msg);
        free(prefix);
        free((*err)->msg);
        (*err)->msg = msg;
        return mv_error_return(*err);
}

int mv_error_hint(struct mv_error **err, const char *fmt, ...)
{
        if (!err || !*err)
                return -EIO;

        va_list ap;
        va_start(ap, fmt);
        char *hint = vformat(fmt, ap);
        va_end(ap);

        free((*err)->hint);
        (*err)->hint = hint;
        return mv_error_return(*err);
}

int mv_error_exit_status(const struct mv_error *e)
{
        if (!e)
                return 0;
        return e->kind == MV_ERROR_RUNTIME ? 1 : 2;
}

void mv_error_free(struct mv_error **err)
{
        if (!err || !*err)
                return;
        free((*err)->msg);
        free((*err)->hint);
        free(*err);
        *err = NULL;
}
