#include "config/json-read.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"

struct json_reader {
        const struct source *src;
        const char *p;
        int line, col;
        int depth;
};

#define MAX_DEPTH 256

static struct srcpos here(const struct json_reader *J)
{
        return (struct srcpos){ .src = J->src, .line = J->line, .col = J->col };
}

static void advance(struct json_reader *J, size_t n)
{
        for (size_t i = 0; i < n && *J->p; i++, J->p++) {
                if (*J->p == '\n') {
                        J->line++;
                        J->col = 1;
                } else {
                        J->col++;
                }
        }
}

static void skip_ws(struct json_reader *J)
{
        while (*J->p == ' ' || *J->p == '\t' || *J->p == '\n' || *J->p == '\r')
                advance(J, 1);
}

static int fail_here(struct json_reader *J, const char *what, struct mv_error **err)
{
        if (!*J->p)
                return srcpos_error(err, here(J), "unexpected end of JSON, expected %s", what);
        return srcpos_error(err, here(J), "invalid JSON: expected %s", what);
}

static int hex4(const char *p, unsigned *out)
{
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
                char c = p[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned)(c - 'A' + 10);
                else
                        return -1;
        }
        *out = v;
        return 0;
}

static void put_utf8(struct strbuf *b, unsigned cp)
{
        if (cp < 0x80) {
                strbuf_putc(b, (char)cp);
        } else if (cp < 0x800) {
                strbuf_putc(b, (char)(0xc0 | cp >> 6));
                strbuf_putc(b, (char)(0x80 | (cp & 0x3f)));
        } else if (cp < 0x10000) {
                strbuf_putc(b, (char)(0xe0 | cp >> 12));
                strbuf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
                strbuf_putc(b, (char)(0x80 | (cp & 0x3f)));
        } else {
                strbuf_putc(b, (char)(0xf0 | cp >> 18));
                strbuf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
                strbuf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
                strbuf_putc(b, (char)(0x80 | (cp & 0x3f)));
        }
}

static int read_string(struct json_reader *J, struct strbuf *b, struct mv_error **err)
{
        struct srcpos start = here(J);
        advance(J, 1);
        for (;;) {
                unsigned char c = (unsigned char)*J->p;
                if (!c) {
                        strbuf_free(b);
                        return srcpos_error(err, start, "unterminated JSON string");
                }
                if (c == '"') {
                        advance(J, 1);
                        if (!b->data)
                                strbuf_puts(b, "");
                        return 0;
                }
                if (c < 0x20) {
                        strbuf_free(b);
                        return srcpos_error(err, here(J), "control character in JSON string");
                }
                if (c != '\\') {
                        strbuf_putc(b, (char)c);
                        advance(J, 1);
                        continue;
                }
                char e = J->p[1];
                const char *simple = strchr("\"\\/bfnrt", e);
                if (e && simple) {
                        static const char decoded[] = "\"\\/\b\f\n\r\t";
                        strbuf_putc(b, decoded[simple - "\"\\/bfnrt"]);
                        advance(J, 2);
                        continue;
                }
                unsigned cp;
                if (e != 'u' || hex4(J->p + 2, &cp) < 0) {
                        strbuf_free(b);
                        return srcpos_error(err, here(J), "invalid escape in JSON string");
                }
                advance(J, 6);
                if (cp >= 0xd800 && cp < 0xdc00) {
                        unsigned lo;
                        if (J->p[0] != '\\' || J->p[1] != 'u' || hex4(J->p + 2, &lo) < 0 ||
                            lo < 0xdc00 || lo > 0xdfff) {
                                strbuf_free(b);
                                return srcpos_error(err, here(J), "unpaired surrogate in JSON");
                        }
                        advance(J, 6);
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp < 0xe000) {
                        strbuf_free(b);
                        return srcpos_error(err, here(J), "unpaired surrogate in JSON");
                }
                if (cp == 0) {
                        strbuf_free(b);
                        return srcpos_error(err, here(J), "NUL character in JSON string");
                }
                put_utf8(b, cp);
        }
}

static int read_value(struct json_reader *J, struct value **out, struct mv_error **err);

static int read_number(struct json_reader *J, struct value **out, struct mv_error **err)
{
        struct srcpos pos = here(J);
        const char *s = J->p;
        size_t n = 0;
        bool is_float = false;

        if (s[n] == '-')
                n++;
        if (!isdigit((unsigned char)s[n]))
                return fail_here(J, "a value", err);
        if (s[n] == '0' && isdigit((unsigned char)s[n + 1]))
                return srcpos_error(err, pos, "invalid JSON number: leading zero");
        n += strspn(s + n, "0123456789");
        if (s[n] == '.') {
                is_float = true;
                n++;
                size_t d = strspn(s + n, "0123456789");
                if (!d)
                        return srcpos_error(err, pos, "invalid JSON number");
                n += d;
        }
        if (s[n] == 'e' || s[n] == 'E') {
                is_float = true;
                n++;
                if (s[n] == '+' || s[n] == '-')
                        n++;
                size_t d = strspn(s + n, "0123456789");
                if (!d)
                        return srcpos_error(err, pos, "invalid JSON number");
                n += d;
        }
        _cleanup_free_ char *text = strndup(s, n);
        errno = 0;
        if (is_float) {
                *out = value_new(VALUE_FLOAT, pos);
                (*out)->number = strtod(text, NULL);
        } else {
                long long v = strtoll(text, NULL, 10);
                if (errno == ERANGE)
                        return srcpos_error(err, pos, "integer %s is out of range", text);
                *out = value_new_int(v, pos);
        }
        advance(J, n);
        return 0;
}

static int read_array(struct json_reader *J, struct value **out, struct mv_error **err)
{
        _cleanup_value_ struct value *list = value_new(VALUE_LIST, here(J));
        advance(J, 1);
        skip_ws(J);
        if (*J->p == ']') {
                advance(J, 1);
                *out = TAKE_PTR(list);
                return 0;
        }
        for (;;) {
                struct value *item = NULL;
                int r = read_value(J, &item, err);
                if (r < 0)
                        return r;
                value_list_append(list, item);
                skip_ws(J);
                if (*J->p == ',') {
                        advance(J, 1);
                        continue;
                }
                if (*J->p == ']') {
                        advance(J, 1);
                        *out = TAKE_PTR(list);
                        return 0;
                }
                return fail_here(J, "',' or ']'", err);
        }
}

static int read_object(struct json_reader *J, struct value **out, struct mv_error **err)
{
        _cleanup_value_ struct value *obj = value_new(VALUE_ATTRS, here(J));
        advance(J, 1);
        skip_ws(J);
        if (*J->p == '}') {
                advance(J, 1);
                *out = TAKE_PTR(obj);
                return 0;
        }
        for (;;) {
                skip_ws(J);
                if (*J->p != '"')
                        return fail_here(J, "a string key", err);
                struct srcpos kpos = here(J);
                struct strbuf key = { 0 };
                int r = read_string(J, &key, err);
                if (r < 0)
                        return r;
                _cleanup_free_ char *k = strbuf_take(&key);
                struct attr *dup = value_attrs_get(obj, k);
                if (dup) {
                        _cleanup_free_ char *first = srcpos_format(dup->key_pos);
                        return srcpos_error(err, kpos, "key \"%s\" already defined at %s", k,
                                            first);
                }
                skip_ws(J);
                if (*J->p != ':')
                        return fail_here(J, "':'", err);
                advance(J, 1);
                struct value *v = NULL;
                r = read_value(J, &v, err);
                if (r < 0)
                        return r;
                value_attrs_append(obj, k, kpos, v);
                skip_ws(J);
                if (*J->p == ',') {
                        advance(J, 1);
                        continue;
                }
                if (*J->p == '}') {
                        advance(J, 1);
                        *out = TAKE_PTR(obj);
                        return 0;
                }
                return fail_here(J, "',' or '}'", err);
        }
}

static int read_value(struct json_reader *J, struct value **out, struct mv_error **err)
{
        skip_ws(J);
        if (++J->depth > MAX_DEPTH)
                return srcpos_error(err, here(J), "JSON nested deeper than %d levels", MAX_DEPTH);

        struct srcpos pos = here(J);
        int r;
        switch (*J->p) {
        case '{':
                r = read_object(J, out, err);
                break;
        case '[':
                r = read_array(J, out, err);
                break;
        case '"': {
                struct strbuf b = { 0 };
                r = read_string(J, &b, err);
                if (r >= 0) {
                        size_t len = b.len;
                        _cleanup_free_ char *s = strbuf_take(&b);
                        *out = value_new_string(VALUE_STRING, s, len, pos);
                }
                break;
        }
        default:
                if (strncmp(J->p, "true", 4) == 0 || strncmp(J->p, "false", 5) == 0) {
                        bool t = J->p[0] == 't';
                        *out = value_new_bool(t, pos);
                        advance(J, t ? 4 : 5);
                        r = 0;
                } else if (strncmp(J->p, "null", 4) == 0) {
                        *out = value_new(VALUE_NULL, pos);
                        advance(J, 4);
                        r = 0;
                } else {
                        r = read_number(J, out, err);
                }
        }
        J->depth--;
        return r;
}

int json_parse(const struct source *src, struct value **out, struct mv_error **err)
{
        struct json_reader J = { .src = src, .p = src->text, .line = 1, .col = 1 };
        _cleanup_value_ struct value *v = NULL;

        int r = read_value(&J, &v, err);
        if (r < 0)
                return r;
        skip_ws(&J);
        if (*J.p)
                return srcpos_error(err, here(&J), "unexpected text after the JSON value");
        *out = TAKE_PTR(v);
        return 0;
}
