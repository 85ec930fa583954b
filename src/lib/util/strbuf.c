#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static void reserve(struct strbuf *b, size_t extra)
{
        if (b->len + extra + 1 <= b->cap)
                return;
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + extra + 1)
                cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
}

void strbuf_putn(struct strbuf *b, const char *s, size_t n)
{
        reserve(b, n);
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

void strbuf_putc_slow(struct strbuf *b, char c)
{
        strbuf_putn(b, &c, 1);
}

void strbuf_puts(struct strbuf *b, const char *s)
{
        strbuf_putn(b, s, strlen(s));
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

char *strbuf_take(struct strbuf *b)
{
        char *s = b->data ? b->data : xstrdup("");
        *b = (struct strbuf){ 0 };
        return s;
}

void strbuf_free(struct strbuf *b)
{
        free(b->data);
        *b = (struct strbuf){ 0 };
}
