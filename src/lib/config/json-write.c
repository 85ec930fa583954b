#include "config/json-write.h"

#include <stdio.h>
#include <string.h>

/* Bytes a JSON string carries as they are: not '"', '\\', control characters or DEL. */
static const bool plain[256] = {
        [0x20 ... 0x21] = true,
        [0x23 ... 0x5b] = true,
        [0x5d ... 0x7e] = true,
        [0x80 ... 0xff] = true,
};

void json_write_string(struct strbuf *out, const char *s, size_t n)
{
        strbuf_putc(out, '"');
        size_t run = 0; /* characters that need no escaping go out in one piece */
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (plain[c])
                        continue;
                strbuf_putn(out, s + run, i - run);
                run = i + 1;
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
                        strbuf_printf(out, "\\u%04x", c);
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
