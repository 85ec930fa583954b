/* A growable, always NUL-terminated byte buffer. */
#pragma once

#include <stddef.h>

struct strbuf {
        char *data; /* NULL until the first write */
        size_t len, cap;
};

void strbuf_putc_slow(struct strbuf *b, char c);

/* Hot in the JSON writer: the common case appends in place. */
static inline void strbuf_putc(struct strbuf *b, char c)
{
        if (b->len + 2 <= b->cap) {
                b->data[b->len++] = c;
                b->data[b->len] = '\0';
        } else {
                strbuf_putc_slow(b, c);
        }
}
void strbuf_putn(struct strbuf *b, const char *s, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hand out the contents (never NULL: "" for an empty buffer) and reset the buffer. */
char *strbuf_take(struct strbuf *b);

void strbuf_free(struct strbuf *b);
