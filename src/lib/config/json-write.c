#include "config/json-write.h"

#include <stdio.h>
#include <string.h>

/* Bytes a JSON string carries as they are: not '"', '\\', control characters or DEL. */
static const bool plain[128] = {
        [0x20 ... 0x21] = true,
        [0x23 ... 0x5b] = true,
        [0x5d ... 0x7e] = true,
};

/*
 * The length of the well-formed UTF-8 character at `s` (`n` bytes left),
 * or 0 when it is not one; then `*bad` is the length of its maximal
 * subpart (Unicode's definition), the bytes one U+FFFD replaces. Overlong
 * forms, surrogates and code points above U+10FFFF are ill-formed.
 */
static size_t utf8_char(const unsigned char *s, size_t n, size_t *bad)
{
        unsigned char c = s[0];
        size_t need;
        unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
                need = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
                need = 3;
                lo = c == 0xe0 ? 0xa0 : 0x80; /* E0 80..9F would be overlong */
                hi = c == 0xed ? 0x9f : 0xbf; /* ED A0..BF would be a surrogate */
        } else if (c >= 0xf0 && c <= 0xf4) {
                need = 4;
                lo = c == 0xf0 ? 0x90 : 0x80; /* F0 80..8F would be overlong */
                hi = c == 0xf4 ? 0x8f : 0xbf; /* F4 90.. would be above U+10FFFF */
        } else {
                need = 0; /* a continuation byte, C0, C1 or F5..FF: never a start */
        }
        size_t i = 1;
        for (; i < need && i < n; i++) {
                unsigned char b = s[i];
                if (i == 1 ? b < lo || b > hi : b < 0x80 || b > 0xbf)
                        break;
        }
        if (need && i == need)
                return need;
        *bad = i;
        return 0;
}

/*
 * JSON is UTF-8, but a Nix string holds any bytes: each ill-formed sequence
 * becomes U+FFFD, as a decoder would show it, so the output always parses.
 */
void json_write_string(struct strbuf *out, const char *s, size_t n)
{
        static const char replacement[] = "\xef\xbf\xbd";
        const unsigned char *u = (const unsigned char *)s;
        strbuf_putc(out, '"');
        size_t run = 0; /* characters that need no escaping go out in one piece */
        for (size_t i = 0; i < n;) {
                unsigned char c = u[i];
                if (c < 0x80 && plain[c]) {
                        i++;
                        continue;
                }
                size_t bad = 1;
                size_t len = c < 0x80 ? 0 : utf8_char(u + i, n - i, &bad);
                if (len) {
                        i += len;
                        continue;
                }
                strbuf_putn(out, s + run, i - run);
                i += bad;
                run = i;
                switch (c) {
                case '"':
                        strbuf_puts(out, "\\\"");
                        break;
                case '\\':
                        strbuf_puts(out, "\\\\");
                        break;
                case '\n':
                        strbuf_puts(out, "\\n");
                        break;
                case '\t':
                        strbuf_puts(out, "\\t");
                        break;
                case '\r':
                        strbuf_puts(out, "\\r");
                        break;
                default:
                        if (c < 0x80)
                                strbuf_printf(out, "\\u%04x", c);
                        else
                                strbuf_puts(out, replacement);
                }
        }
        strbuf_putn(out, s + run, n - run);
        strbuf_putc(out, '"');
}

static void newline(struct strbuf *out, bool pretty, int depth)
{
        static const char spaces[] =
                "                                                                ";
        if (!pretty)
                return;
        strbuf_putc(out, '\n');
        for (size_t left = (size_t)depth * 2; left > 0;) {
                size_t take = left < sizeof(spaces) - 1 ? left : sizeof(spaces) - 1;
                strbuf_putn(out, spaces, take);
                left -= take;
        }
}

/* Past this much, a streamed document goes out at the next element. */
#define FLUSH_AT (64 * 1024)

static void maybe_flush(struct strbuf *out, FILE *to)
{
        if (to && out->len >= FLUSH_AT) {
                fwrite(out->data, 1, out->len, to);
                out->len = 0;
                out->data[0] = '\0';
        }
}

static void write_value(struct strbuf *out, const struct value *v, bool pretty, int depth, FILE *to)
{
        switch (v->type) {
        case VALUE_NULL:
        case VALUE_FUNCTION:
                strbuf_puts(out, "null");
                break;
        case VALUE_BOOL:
                strbuf_puts(out, v->boolean ? "true" : "false");
                break;
        case VALUE_INT: {
                char digits[24];
                int len = snprintf(digits, sizeof(digits), "%lld", (long long)v->integer);
                strbuf_putn(out, digits, (size_t)len);
                break;
        }
        case VALUE_FLOAT:
                strbuf_printf(out, "%.17g", v->number);
                break;
        case VALUE_STRING:
        case VALUE_PATH:
                json_write_string(out, v->str, v->len);
                break;
        case VALUE_LIST:
                if (v->n_items == 0) {
                        strbuf_puts(out, "[]");
                        break;
                }
                strbuf_putc(out, '[');
                for (size_t i = 0; i < v->n_items; i++) {
                        if (i)
                                strbuf_putc(out, ',');
                        newline(out, pretty, depth + 1);
                        write_value(out, v->items[i], pretty, depth + 1, to);
                        maybe_flush(out, to);
                }
                newline(out, pretty, depth);
                strbuf_putc(out, ']');
                break;
        case VALUE_ATTRS:
                if (v->n_attrs == 0) {
                        strbuf_puts(out, "{}");
                        break;
                }
                strbuf_putc(out, '{');
                for (size_t i = 0; i < v->n_attrs; i++) {
                        if (i)
                                strbuf_putc(out, ',');
                        newline(out, pretty, depth + 1);
                        json_write_string(out, v->attrs[i].key, strlen(v->attrs[i].key));
                        strbuf_puts(out, pretty ? ": " : ":");
                        write_value(out, v->attrs[i].value, pretty, depth + 1, to);
                        maybe_flush(out, to);
                }
                newline(out, pretty, depth);
                strbuf_putc(out, '}');
                break;
        }
}

void json_write_value(struct strbuf *out, const struct value *v, bool pretty)
{
        write_value(out, v, pretty, 0, NULL);
}

int json_write_value_to(FILE *to, const struct value *v, bool pretty)
{
        struct strbuf out = { 0 };
        write_value(&out, v, pretty, 0, to);
        strbuf_putc(&out, '\n');
        fwrite(out.data, 1, out.len, to);
        strbuf_free(&out);
        return fflush(to) == 0 && !ferror(to) ? 0 : -1;
}
