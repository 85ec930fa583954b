#include "config/source.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static struct source *source_new(struct source_set *set, const char *path, char *text, size_t len)
{
        struct source *s = xcalloc(1, sizeof(*s));
        _cleanup_free_ char *copy = xstrdup(path);

        s->path = xstrdup(path);
        s->dir = xstrdup(dirname(copy));
        s->text = text;
        s->len = len;
        s->next = set->head;
        set->head = s;
        return s;
}

int source_load(struct source_set *set, const char *path, struct source **out,
                struct mv_error **err)
{
        char *text = NULL;
        size_t len = 0;
        int r = read_file_full(path, &text, &len, err);
        if (r < 0)
                return r;
        if (strlen(text) != len) {
                free(text);
                return mv_error_config(err, "%s: contains a NUL byte; not a text file", path);
        }
        *out = source_new(set, path, text, len);
        return 0;
}

struct source *source_add_text(struct source_set *set, const char *name, const char *text)
{
        return source_new(set, name, xstrdup(text), strlen(text));
}

void source_set_free(struct source_set *set)
{
        if (!set)
                return;
        struct source *s = set->head;
        while (s) {
                struct source *next = s->next;
                free(s->path);
                free(s->dir);
                free(s->text);
                free(s);
                s = next;
        }
        set->head = NULL;
}

char *srcpos_format(struct srcpos pos)
{
        if (!pos.src)
                return xstrdup("(built-in)");
        return xasprintf("%s:%d:%d", pos.src->path, pos.line, pos.col);
}

/* The text of line `line` (1-based) of `src`, without its newline. */
static char *source_line(const struct source *src, int line)
{
        const char *p = src->text;
        for (int l = 1; l < line && p; l++) {
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        if (!p)
                return xstrdup("");
        return xstrndup(p, strcspn(p, "\n"));
}

int srcpos_error(struct mv_error **err, struct srcpos pos, const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *msg = NULL;
        _cleanup_free_ char *where = srcpos_format(pos);

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                msg = xstrdup("(out of memory)");

        if (!pos.src)
                return mv_error_config(err, "%s: %s", where, msg);

        _cleanup_free_ char *text = source_line(pos.src, pos.line);
        /* The caret lines up under tabs too when the indent copies them. */
        size_t col = pos.col > 0 ? (size_t)pos.col - 1 : 0;
        _cleanup_free_ char *pad = xmalloc(col + 1);
        for (size_t i = 0; i < col; i++)
                pad[i] = i < strlen(text) && text[i] == '\t' ? '\t' : ' ';
        pad[col] = '\0';
        return mv_error_config(err, "%s: %s\n  %s\n  %s^", where, msg, text, pad);
}
