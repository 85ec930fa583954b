#include "config/types.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

const struct type type_bool = { .kind = TYPE_BOOL };
const struct type type_int = { .kind = TYPE_INT };
const struct type type_uint = { .kind = TYPE_INT, .has_range = true, .min = 0, .max = INT64_MAX };
const struct type type_positive = {
        .kind = TYPE_INT, .has_range = true, .min = 1, .max = INT64_MAX
};
const struct type type_port = { .kind = TYPE_INT,
                                .has_range = true,
                                .min = 0,
                                .max = 65535,
                                .name = "16 bit unsigned integer; between 0 and 65535 (both "
                                        "inclusive)" };
const struct type type_float = { .kind = TYPE_FLOAT };
const struct type type_str = { .kind = TYPE_STR };
const struct type type_lines = { .kind = TYPE_LINES };
const struct type type_path = { .kind = TYPE_PATH };
const struct type type_any = { .kind = TYPE_ANY };
const struct type type_list_of_str = { .kind = TYPE_LIST_OF, .inner = &type_str };
const struct type type_null_or_str = { .kind = TYPE_NULL_OR, .inner = &type_str };
const struct type type_null_or_path = { .kind = TYPE_NULL_OR, .inner = &type_path };
const struct type type_attrs_of_any = { .kind = TYPE_ATTRS_OF, .inner = &type_any };
const struct type type_nonempty_str = { .kind = TYPE_STR,
                                        .nonempty = true,
                                        .name = "non-empty string" };
const struct type type_abs_path = { .kind = TYPE_PATH, .name = "absolute path" };
/* microvm.nix takes a package; without Nix, the path of the file or executable. */
const struct type type_package = { .kind = TYPE_PATH,
                                   .name = "package (here: absolute path to the file or "
                                           "executable)" };
const struct type type_null_or_int = { .kind = TYPE_NULL_OR, .inner = &type_int };
const struct type type_null_or_abs_path = { .kind = TYPE_NULL_OR, .inner = &type_abs_path };
const struct type type_null_or_package = { .kind = TYPE_NULL_OR, .inner = &type_package };
const struct type type_null_or_attrs = { .kind = TYPE_NULL_OR, .inner = &type_attrs_of_any };
static const struct type type_attrs_of_str = { .kind = TYPE_ATTRS_OF, .inner = &type_str };
const struct type type_null_or_attrs_of_str = { .kind = TYPE_NULL_OR, .inner = &type_attrs_of_str };
const struct type type_attrs_of_lines = { .kind = TYPE_ATTRS_OF, .inner = &type_lines };
const struct type type_attrs_of_abs_path = { .kind = TYPE_ATTRS_OF, .inner = &type_abs_path };
const struct type type_attrs_of_package = { .kind = TYPE_ATTRS_OF, .inner = &type_package };
const struct type type_json_attrs = { .kind = TYPE_ATTRS_OF,
                                      .inner = &type_any,
                                      .name = "open submodule of (JSON value)" };
static const struct type *const thread_pool_alternatives[] = { &type_str, &type_uint, NULL };
const struct type type_thread_pool = { .kind = TYPE_ONE_OF,
                                       .alternatives = thread_pool_alternatives };
const struct type type_null_or_thread_pool = { .kind = TYPE_NULL_OR, .inner = &type_thread_pool };

/* Compound types are put in parentheses when nested, as NixOS does. */
static bool needs_parens(const struct type *t)
{
        if (t->name)
                return strchr(t->name, ' ') != NULL;
        switch (t->kind) {
        case TYPE_NULL_OR:
        case TYPE_ONE_OF:
        case TYPE_LIST_OF:
        case TYPE_ATTRS_OF:
                return true;
        case TYPE_INT:
                return t->has_range;
        case TYPE_SUBMODULE:
                return true;
        default:
                return false;
        }
}

static void describe(struct strbuf *b, const struct type *t, bool nested)
{
        bool parens = nested && needs_parens(t);
        if (parens)
                strbuf_putc(b, '(');
        if (t->name) {
                strbuf_puts(b, t->name);
        } else {
                switch (t->kind) {
                case TYPE_BOOL:
                        strbuf_puts(b, "boolean");
                        break;
                case TYPE_INT:
                        if (!t->has_range)
                                strbuf_puts(b, "signed integer");
                        else if (t->min == 0 && t->max == INT64_MAX)
                                strbuf_puts(b, "unsigned integer, meaning >=0");
                        else if (t->min == 1 && t->max == INT64_MAX)
                                strbuf_puts(b, "positive integer, meaning >0");
                        else
                                strbuf_printf(b,
                                              "integer between %" PRId64 " and %" PRId64
                                              " (both inclusive)",
                                              t->min, t->max);
                        break;
                case TYPE_FLOAT:
                        strbuf_puts(b, "integer or floating point number");
                        break;
                case TYPE_STR:
                        strbuf_puts(b, "string");
                        break;
                case TYPE_LINES:
                        strbuf_puts(b, "strings concatenated with \"\\n\"");
                        break;
                case TYPE_PATH:
                        strbuf_puts(b, "path");
                        break;
                case TYPE_ANY:
                        strbuf_puts(b, "unspecified value");
                        break;
                case TYPE_ENUM:
                        strbuf_puts(b, "one of ");
                        for (size_t i = 0; t->values[i]; i++)
                                strbuf_printf(b, "%s\"%s\"", i ? ", " : "", t->values[i]);
                        break;
                case TYPE_NULL_OR:
                        strbuf_puts(b, "null or ");
                        describe(b, t->inner, true);
                        break;
                case TYPE_LIST_OF:
                        strbuf_puts(b, "list of ");
                        describe(b, t->inner, true);
                        break;
                case TYPE_ATTRS_OF:
                        strbuf_puts(b, "attribute set of ");
                        describe(b, t->inner, true);
                        break;
                case TYPE_ONE_OF:
                        for (size_t i = 0; t->alternatives[i]; i++) {
                                if (i)
                                        strbuf_puts(b, " or ");
                                describe(b, t->alternatives[i], true);
                        }
                        break;
                case TYPE_SUBMODULE:
                        strbuf_puts(b, "submodule");
                        break;
                }
        }
        if (parens)
                strbuf_putc(b, ')');
}

char *type_describe(const struct type *t)
{
        struct strbuf b = { 0 };
        describe(&b, t, false);
        return strbuf_take(&b);
}

size_t option_name_split(const char *name, char ***out)
{
        char **segs = NULL;
        const char *p = name;

        while (*p) {
                struct strbuf seg = { 0 };
                if (*p == '"') {
                        p++;
                        while (*p && *p != '"')
                                strbuf_putc(&seg, *p++);
                        if (*p == '"')
                                p++;
                } else {
                        while (*p && *p != '.')
                                strbuf_putc(&seg, *p++);
                }
                strv_consume(&segs, strbuf_take(&seg));
                if (*p == '.')
                        p++;
        }
        *out = segs;
        return strv_length(segs);
}

char *option_segment_display(const char *segment)
{
        bool plain = *segment && (isalpha((unsigned char)*segment) || *segment == '_' ||
                                  *segment == '<' || *segment == '*');
        for (const char *p = segment; *p && plain; p++)
                plain = isalnum((unsigned char)*p) || strchr("_-'<>*", *p);
        if (plain)
                return xstrdup(segment);
        return xasprintf("\"%s\"", segment);
}
