#include "config/nix-write.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config/types.h"
#include "util/cleanup.h"

static void put_indent(struct strbuf *out, int indent)
{
        for (int i = 0; i < indent; i++)
                strbuf_puts(out, "  ");
}

static void write_string(struct strbuf *out, const char *s, size_t n)
{
        strbuf_putc(out, '"');
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '"' || c == '\\')
                        strbuf_putc(out, '\\'), strbuf_putc(out, c);
                else if (c == '\n')
                        strbuf_puts(out, "\\n");
                else if (c == '\t')
                        strbuf_puts(out, "\\t");
                else if (c == '\r')
                        strbuf_puts(out, "\\r");
                else if (c == '$' && i + 1 < n && s[i + 1] == '{')
                        strbuf_puts(out, "\\$");
                else
                        strbuf_putc(out, c);
        }
        strbuf_putc(out, '"');
}

void nix_write_value(struct strbuf *out, const struct value *v, int indent)
{
        switch (v->type) {
        case VALUE_NULL:
                strbuf_puts(out, "null");
                break;
        case VALUE_BOOL:
                strbuf_puts(out, v->boolean ? "true" : "false");
                break;
        case VALUE_INT:
                strbuf_printf(out, "%lld", (long long)v->integer);
                break;
        case VALUE_FLOAT:
                strbuf_printf(out, "%g", v->number);
                break;
        case VALUE_STRING:
        case VALUE_PATH:
                write_string(out, v->str, v->len);
                break;
        case VALUE_FUNCTION:
                strbuf_puts(out, "<function>");
                break;
        case VALUE_LIST:
                if (!v->n_items) {
                        strbuf_puts(out, "[ ]");
                        break;
                }
                strbuf_puts(out, "[\n");
                for (size_t i = 0; i < v->n_items; i++) {
                        put_indent(out, indent + 1);
                        bool compound = v->items[i]->type == VALUE_LIST;
                        if (compound)
                                strbuf_putc(out, '(');
                        nix_write_value(out, v->items[i], indent + 1);
                        if (compound)
                                strbuf_putc(out, ')');
                        strbuf_putc(out, '\n');
                }
                put_indent(out, indent);
                strbuf_putc(out, ']');
                break;
        case VALUE_ATTRS:
                if (!v->n_attrs) {
                        strbuf_puts(out, "{ }");
                        break;
                }
                strbuf_puts(out, "{\n");
                for (size_t i = 0; i < v->n_attrs; i++) {
                        put_indent(out, indent + 1);
                        _cleanup_free_ char *key = option_segment_display(v->attrs[i].key);
                        strbuf_printf(out, "%s = ", key);
                        nix_write_value(out, v->attrs[i].value, indent + 1);
                        strbuf_puts(out, ";\n");
                }
                put_indent(out, indent);
                strbuf_putc(out, '}');
                break;
        }
}
