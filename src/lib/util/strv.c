#include "util/strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

size_t strv_length(char *const *v)
{
        size_t n = 0;
        if (v)
                while (v[n])
                        n++;
        return n;
}

void strv_consume(char ***v, char *s)
{
        size_t n = strv_length(*v);
        char **nv = xreallocarray(*v, n + 2, sizeof(char *));
        nv[n] = s;
        nv[n + 1] = NULL;
        *v = nv;
}

void strv_push(char ***v, const char *s)
{
        strv_consume(v, xstrdup(s));
}

void strv_pushf(char ***v, const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                s = xstrdup(""); /* unreachable short of OOM, where xstrdup aborts */
        strv_consume(v, s);
}

void strv_extend(char ***v, char *const *other)
{
        for (size_t i = 0; other && other[i]; i++)
                strv_push(v, other[i]);
}

void strv_push_words(char ***v, const char *s)
{
        const char *p = s;
        while (*p) {
                p += strspn(p, " \t\n");
                size_t n = strcspn(p, " \t\n");
                if (n)
                        strv_consume(v, xstrndup(p, n));
                p += n;
        }
}

bool strv_contains(char *const *v, const char *s)
{
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

char **strv_copy(char *const *v)
{
        char **copy = xcalloc(1, sizeof(char *));
        strv_extend(&copy, v);
        return copy;
}

char *strv_join(char *const *v, const char *sep)
{
        size_t seplen = strlen(sep), len = 0, n = strv_length(v);

        for (size_t i = 0; i < n; i++)
                len += strlen(v[i]) + (i ? seplen : 0);

        char *out = xmalloc(len + 1), *p = out;
        for (size_t i = 0; i < n; i++) {
                if (i) {
                        memcpy(p, sep, seplen);
                        p += seplen;
                }
                size_t l = strlen(v[i]);
                memcpy(p, v[i], l);
                p += l;
        }
        *p = '\0';
        return out;
}

void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}
