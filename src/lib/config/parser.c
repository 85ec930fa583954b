#include "config/parser.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/lexer.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

#define NEEDS_NIX                                                                                  \
        "needs a Nix evaluator; write the value out, or evaluate the configuration "               \
        "with `nix eval --json` and use the JSON file (see microvm-options(5))"

/* Names bound by `let` (or `inherit`), innermost scope first. */
struct scope {
        struct scope *parent;
        struct value *bindings; /* VALUE_ATTRS */
        bool with_lib;          /* `with lib;` is in effect */
};

struct parser {
        struct lexer lx;
        struct token tok;
        struct token ahead; /* scratch for looking one or two tokens ahead */
        struct scope *scope;
        int depth;
};

/* Deep nesting is legal Nix but no configuration needs it; the bound keeps the stack safe. */
#define MAX_DEPTH 256

static int parse_expr(struct parser *P, struct value **out, struct mv_error **err);
static int parse_select(struct parser *P, struct value **out, struct mv_error **err);

static int next(struct parser *P, struct mv_error **err)
{
        return lexer_next(&P->lx, &P->tok, err);
}

static int unexpected(struct parser *P, const char *wanted, struct mv_error **err)
{
        if (P->tok.type == TOK_EOF)
                return srcpos_error(err, P->tok.pos, "unexpected end of file, expected %s", wanted);
        if (P->tok.type == TOK_ID || P->tok.type == TOK_INT || P->tok.type == TOK_FLOAT ||
            P->tok.type == TOK_PATH || P->tok.type == TOK_OPERATOR)
                return srcpos_error(err, P->tok.pos, "unexpected %s '%s', expected %s",
                                    token_type_to_string(P->tok.type), P->tok.text, wanted);
        return srcpos_error(err, P->tok.pos, "unexpected %s, expected %s",
                            token_type_to_string(P->tok.type), wanted);
}

static int expect(struct parser *P, enum token_type t, struct mv_error **err)
{
        if (P->tok.type != t)
                return unexpected(P, token_type_to_string(t), err);
        return next(P, err);
}

char *path_normalize(const char *path)
{
        size_t n = strlen(path);
        char *out = xmalloc(n + 2);
        size_t len = 0;
        const char *p = path;

        while (*p) {
                while (*p == '/')
                        p++;
                size_t seg = strcspn(p, "/");
                if (seg == 0)
                        break;
                if (seg == 1 && p[0] == '.') {
                        /* skip */
                } else if (seg == 2 && p[0] == '.' && p[1] == '.') {
                        while (len > 0 && out[len - 1] != '/')
                                len--;
                        if (len > 0)
                                len--;
                } else {
                        out[len++] = '/';
                        memcpy(out + len, p, seg);
                        len += seg;
                }
                p += seg;
        }
        if (len == 0)
                out[len++] = '/';
        out[len] = '\0';
        return out;
}

static int make_path(struct parser *P, struct value **out, struct mv_error **err)
{
        const char *raw = P->tok.text;
        _cleanup_free_ char *joined = NULL;

        if (raw[0] == '/') {
                joined = xstrdup(raw);
        } else if (raw[0] == '~') {
                const char *home = getenv("HOME");
                if (!home || home[0] != '/')
                        return srcpos_error(err, P->tok.pos, "path %s: HOME is not set", raw);
                joined = xasprintf("%s%s", home, raw + 1);
        } else {
                const char *dir = P->lx.src->dir;
                if (dir[0] != '/') {
                        _cleanup_free_ char *cwd = getcwd(NULL, 0);
                        if (!cwd)
                                return mv_error_set(err, errno, "getcwd");
                        joined = xasprintf("%s/%s/%s", cwd, dir, raw);
                } else {
                        joined = xasprintf("%s/%s", dir, raw);
                }
        }
        _cleanup_free_ char *norm = path_normalize(joined);
        *out = value_new_string(VALUE_PATH, norm, strlen(norm), P->tok.pos);
        return next(P, err);
}

static const struct value *scope_lookup(const struct scope *s, const char *name)
{
        for (; s; s = s->parent) {
                struct attr *a = value_attrs_get(s->bindings, name);
                if (a)
                        return a->value;
        }
        return NULL;
}

static bool scope_with_lib(const struct scope *s)
{
        for (; s; s = s->parent)
                if (s->with_lib)
                        return true;
        return false;
}

/*
 * Insert `v` at the attribute path `path` (n_path keys) of `attrs`,
 * creating the sets a dotted path implies. Sets written out in full may
 * be merged with implied ones, as Nix allows; anything else defined twice
 * is an error.
 */
static int attrs_insert(struct value *attrs, char **path, struct srcpos *pos, size_t n_path,
                        struct value *v, struct mv_error **err);

static int merge_literal_sets(struct value *into, struct value *from, struct mv_error **err)
{
        for (size_t i = 0; i < from->n_attrs; i++) {
                struct attr *a = &from->attrs[i];
                int r = attrs_insert(into, &a->key, &a->key_pos, 1, a->value, err);
                a->value = NULL;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int attrs_insert(struct value *attrs, char **path, struct srcpos *pos, size_t n_path,
                        struct value *v, struct mv_error **err)
{
        struct attr *a = value_attrs_get(attrs, path[0]);

        if (n_path == 1) {
                if (!a) {
                        value_attrs_append(attrs, path[0], pos[0], v);
                        return 0;
                }
                if (a->value->type == VALUE_ATTRS && v->type == VALUE_ATTRS &&
                    (a->value->implicit || v->implicit)) {
                        int r = merge_literal_sets(a->value, v, err);
                        a->value->implicit = a->value->implicit && v->implicit;
                        value_free(v);
                        return r;
                }
                _cleanup_free_ char *first = srcpos_format(a->key_pos);
                value_free(v);
                return srcpos_error(err, pos[0], "attribute '%s' already defined at %s", path[0],
                                    first);
        }

        if (!a) {
                struct value *sub = value_new(VALUE_ATTRS, pos[0]);
                sub->implicit = true;
                value_attrs_append(attrs, path[0], pos[0], sub);
                a = &attrs->attrs[attrs->n_attrs - 1];
        } else if (a->value->type != VALUE_ATTRS) {
                _cleanup_free_ char *first = srcpos_format(a->key_pos);
                value_free(v);
                return srcpos_error(err, pos[0], "attribute '%s' already defined at %s", path[0],
                                    first);
        }
        return attrs_insert(a->value, path + 1, pos + 1, n_path - 1, v, err);
}

/* attrpath := attr ('.' attr)* ; attr := ID | STRING */
static int parse_attrpath(struct parser *P, char ***keys, struct srcpos **pos, size_t *n,
                          struct mv_error **err)
{
        for (;;) {
                if (P->tok.type == TOK_INTERP)
                        return srcpos_error(err, P->tok.pos, "a dynamic attribute name " NEEDS_NIX);
                bool keyword_name = P->tok.type >= TOK_LET;
                if (P->tok.type != TOK_ID && P->tok.type != TOK_STRING && !keyword_name)
                        return unexpected(P, "an attribute name", err);
                *keys = xreallocarray(*keys, *n + 1, sizeof(char *));
                *pos = xreallocarray(*pos, *n + 1, sizeof(struct srcpos));
                (*keys)[*n] = xstrdup(P->tok.text);
                (*pos)[*n] = P->tok.pos;
                (*n)++;
                int r = next(P, err);
                if (r < 0)
                        return r;
                if (P->tok.type != TOK_DOT)
                        return 0;
                r = next(P, err);
                if (r < 0)
                        return r;
        }
}

static void free_keys(char **keys, struct srcpos *pos, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(keys[i]);
        free(keys);
        free(pos);
}

/* binds := (attrpath '=' expr ';' | 'inherit' ID* ';')* up to `end` */
static int parse_binds(struct parser *P, struct value *attrs, enum token_type end,
                       struct mv_error **err)
{
        int r;
        while (P->tok.type != end) {
                if (P->tok.type == TOK_INHERIT) {
                        if ((r = next(P, err)) < 0)
                                return r;
                        if (P->tok.type == TOK_LPAREN)
                                return srcpos_error(err, P->tok.pos, "inherit (...) " NEEDS_NIX);
                        while (P->tok.type == TOK_ID) {
                                const struct value *v = scope_lookup(P->scope, P->tok.text);
                                if (!v)
                                        return srcpos_error(err, P->tok.pos,
                                                            "undefined variable '%s' in inherit",
                                                            P->tok.text);
                                char *key = P->tok.text;
                                struct srcpos kpos = P->tok.pos;
                                r = attrs_insert(attrs, &key, &kpos, 1, value_copy(v), err);
                                if (r < 0)
                                        return r;
                                if ((r = next(P, err)) < 0)
                                        return r;
                        }
                        if ((r = expect(P, TOK_SEMI, err)) < 0)
                                return r;
                        continue;
                }

                char **keys = NULL;
                struct srcpos *pos = NULL;
                size_t n = 0;
                struct value *v = NULL;
                r = parse_attrpath(P, &keys, &pos, &n, err);
                if (r >= 0)
                        r = expect(P, TOK_ASSIGN, err);
                if (r >= 0)
                        r = parse_expr(P, &v, err);
                if (r >= 0 && P->tok.type != TOK_SEMI)
                        r = srcpos_error(err, P->tok.pos, "expected ';' after the value of '%s'",
                                         keys[n - 1]);
                if (r >= 0)
                        r = next(P, err);
                if (r >= 0) {
                        r = attrs_insert(attrs, keys, pos, n, v, err);
                        v = NULL;
                }
                value_free(v);
                free_keys(keys, pos, n);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_attrset(struct parser *P, struct value **out, struct mv_error **err)
{
        _cleanup_value_ struct value *attrs = value_new(VALUE_ATTRS, P->tok.pos);
        int r = expect(P, TOK_LBRACE, err);
        if (r >= 0)
                r = parse_binds(P, attrs, TOK_RBRACE, err);
        if (r >= 0)
                r = expect(P, TOK_RBRACE, err);
        if (r < 0)
                return r;
        *out = TAKE_PTR(attrs);
        return 0;
}

static int parse_list(struct parser *P, struct value **out, struct mv_error **err)
{
        _cleanup_value_ struct value *list = value_new(VALUE_LIST, P->tok.pos);
        int r = expect(P, TOK_LBRACKET, err);
        while (r >= 0 && P->tok.type != TOK_RBRACKET) {
                struct value *item = NULL;
                if (P->tok.type == TOK_EOF)
                        return srcpos_error(err, list->pos, "unterminated list: missing ']'");
                r = parse_select(P, &item, err);
                if (r >= 0)
                        value_list_append(list, item);
        }
        if (r >= 0)
                r = expect(P, TOK_RBRACKET, err);
        if (r < 0)
                return r;
        *out = TAKE_PTR(list);
        return 0;
}

/* lib.mkDefault / lib.mkForce / lib.mkOverride N: the one kind of call we evaluate. */
static int parse_lib_call(struct parser *P, const char *fn, struct srcpos fpos, struct value **out,
                          struct mv_error **err)
{
        int priority, r;

        if (strcmp(fn, "mkDefault") == 0) {
                priority = PRIORITY_DEFAULT;
        } else if (strcmp(fn, "mkForce") == 0) {
                priority = PRIORITY_FORCE;
        } else if (strcmp(fn, "mkOverride") == 0) {
                _cleanup_value_ struct value *n = NULL;
                if ((r = parse_select(P, &n, err)) < 0)
                        return r;
                if (n->type != VALUE_INT || n->integer < 0 || n->integer > 10000)
                        return srcpos_error(err, n->pos,
                                            "lib.mkOverride takes a priority from 0 to 10000");
                priority = (int)n->integer;
        } else {
                return srcpos_error(err, fpos,
                                    "lib.%s " NEEDS_NIX
                                    "; only lib.mkDefault, lib.mkForce and lib.mkOverride are "
                                    "understood here",
                                    fn);
        }
        if (P->tok.type == TOK_RBRACKET || P->tok.type == TOK_RPAREN || P->tok.type == TOK_SEMI ||
            P->tok.type == TOK_EOF)
                return srcpos_error(err, P->tok.pos, "lib.%s needs a value", fn);
        struct value *v = NULL;
        if ((r = parse_select(P, &v, err)) < 0)
                return r;
        v->priority = priority;
        *out = v;
        return 0;
}

/* An identifier in value position: a literal, a let-bound name, or something we cannot do. */
static int parse_identifier(struct parser *P, struct value **out, struct mv_error **err)
{
        const char *name = P->tok.text;
        struct srcpos pos = P->tok.pos;
        int r;

        if (strcmp(name, "true") == 0 || strcmp(name, "false") == 0) {
                *out = value_new_bool(name[0] == 't', pos);
                return next(P, err);
        }
        if (strcmp(name, "null") == 0) {
                *out = value_new(VALUE_NULL, pos);
                return next(P, err);
        }

        const struct value *bound = scope_lookup(P->scope, name);
        if (bound) {
                *out = value_copy(bound);
                return next(P, err);
        }

        if (strcmp(name, "lib") == 0) {
                if ((r = next(P, err)) < 0)
                        return r;
                if (P->tok.type != TOK_DOT)
                        return srcpos_error(err, pos,
                                            "'lib' is only usable as lib.mkDefault, "
                                            "lib.mkForce or lib.mkOverride");
                if ((r = next(P, err)) < 0)
                        return r;
                if (P->tok.type != TOK_ID)
                        return unexpected(P, "a function name after 'lib.'", err);
                _cleanup_free_ char *fn = xstrdup(P->tok.text);
                struct srcpos fpos = P->tok.pos;
                if ((r = next(P, err)) < 0)
                        return r;
                return parse_lib_call(P, fn, fpos, out, err);
        }
        if (scope_with_lib(P->scope) &&
            (strcmp(name, "mkDefault") == 0 || strcmp(name, "mkForce") == 0 ||
             strcmp(name, "mkOverride") == 0)) {
                _cleanup_free_ char *fn = xstrdup(name);
                if ((r = next(P, err)) < 0)
                        return r;
                return parse_lib_call(P, fn, pos, out, err);
        }
        if (strcmp(name, "pkgs") == 0)
                return srcpos_error(err, pos,
                                    "a package reference (pkgs...) " NEEDS_NIX
                                    "; where an option takes a package, give the path of the "
                                    "file or executable instead");
        if (strcmp(name, "import") == 0 || strcmp(name, "builtins") == 0 ||
            strcmp(name, "config") == 0)
                return srcpos_error(err, pos, "'%s' " NEEDS_NIX, name);
        return srcpos_error(err, pos, "undefined variable '%s'", name);
}

static int parse_primary(struct parser *P, struct value **out, struct mv_error **err)
{
        int r;
        struct srcpos pos = P->tok.pos;

        switch (P->tok.type) {
        case TOK_INT:
                *out = value_new_int(P->tok.integer, pos);
                return next(P, err);
        case TOK_FLOAT:
                *out = value_new(VALUE_FLOAT, pos);
                (*out)->number = P->tok.number;
                return next(P, err);
        case TOK_MINUS:
                if ((r = next(P, err)) < 0)
                        return r;
                if (P->tok.type == TOK_INT) {
                        *out = value_new_int(-P->tok.integer, pos);
                        return next(P, err);
                }
                if (P->tok.type == TOK_FLOAT) {
                        *out = value_new(VALUE_FLOAT, pos);
                        (*out)->number = -P->tok.number;
                        return next(P, err);
                }
                return srcpos_error(err, pos, "arithmetic " NEEDS_NIX);
        case TOK_STRING:
                *out = value_new_string(VALUE_STRING, P->tok.text, P->tok.len, pos);
                return next(P, err);
        case TOK_PATH:
                return make_path(P, out, err);
        case TOK_ID:
                return parse_identifier(P, out, err);
        case TOK_LPAREN:
                if ((r = next(P, err)) < 0 || (r = parse_expr(P, out, err)) < 0)
                        return r;
                return expect(P, TOK_RPAREN, err);
        case TOK_LBRACKET:
                return parse_list(P, out, err);
        case TOK_LBRACE:
                return parse_attrset(P, out, err);
        case TOK_REC:
                return srcpos_error(err, pos,
                                    "a recursive attribute set (rec { ... }) " NEEDS_NIX
                                    "; a let ... in binding can often replace one");
        case TOK_SEARCHPATH:
                return srcpos_error(err, pos, "a search path like %s " NEEDS_NIX, P->tok.text);
        case TOK_INTERP:
                return srcpos_error(err, pos, "interpolation ${...} " NEEDS_NIX);
        case TOK_KEYWORD:
                return srcpos_error(err, pos, "an '%s' expression " NEEDS_NIX, P->tok.text);
        default:
                return unexpected(P, "a value", err);
        }
}

static bool starts_value(enum token_type t)
{
        switch (t) {
        case TOK_ID:
        case TOK_INT:
        case TOK_FLOAT:
        case TOK_STRING:
        case TOK_PATH:
        case TOK_LPAREN:
        case TOK_LBRACKET:
        case TOK_LBRACE:
        case TOK_REC:
        case TOK_SEARCHPATH:
                return true;
        default:
                return false;
        }
}

/* select := primary ('.' attrpath)? -- selection from let-bound sets only */
static int parse_select(struct parser *P, struct value **out, struct mv_error **err)
{
        if (++P->depth > MAX_DEPTH)
                return srcpos_error(err, P->tok.pos, "nesting deeper than %d levels", MAX_DEPTH);

        _cleanup_value_ struct value *v = NULL;
        int r = parse_primary(P, &v, err);
        while (r >= 0 && P->tok.type == TOK_DOT) {
                if ((r = next(P, err)) < 0)
                        break;
                if (P->tok.type != TOK_ID && P->tok.type != TOK_STRING) {
                        r = unexpected(P, "an attribute name after '.'", err);
                        break;
                }
                struct attr *a = value_attrs_get(v, P->tok.text);
                if (!a) {
                        r = srcpos_error(err, P->tok.pos, "attribute '%s' missing", P->tok.text);
                        break;
                }
                struct value *sel = TAKE_PTR(a->value);
                a->value = value_new(VALUE_NULL, sel->pos);
                value_free(v);
                v = sel;
                r = next(P, err);
        }
        P->depth--;
        if (r < 0)
                return r;
        *out = TAKE_PTR(v);
        return 0;
}

/* Is the '{' at the current token a function's argument pattern rather than a set? */
static bool brace_starts_pattern(struct parser *P)
{
        struct lexer ahead = P->lx;
        struct token *t = &P->ahead;

        if (lexer_next(&ahead, t, NULL) < 0)
                return false;
        if (t->type == TOK_RBRACE) /* {}: or {} @ */
                return lexer_next(&ahead, t, NULL) >= 0 &&
                       (t->type == TOK_COLON || t->type == TOK_AT);
        if (t->type == TOK_ELLIPSIS)
                return true;
        if (t->type == TOK_ID)
                return lexer_next(&ahead, t, NULL) >= 0 &&
                       (t->type == TOK_COMMA || t->type == TOK_QUESTION || t->type == TOK_RBRACE);
        return false;
}

/* The type of the token after the current one. */
static enum token_type peek_type(struct parser *P)
{
        struct lexer ahead = P->lx;
        if (lexer_next(&ahead, &P->ahead, NULL) < 0)
                return TOK_EOF;
        return P->ahead.type;
}

/* pattern := '{' (ID ('?' default)? ',')* ('...')? '}' -- arguments are accepted and ignored */
static int skip_pattern(struct parser *P, struct mv_error **err)
{
        int r = expect(P, TOK_LBRACE, err);
        while (r >= 0 && P->tok.type != TOK_RBRACE) {
                if (P->tok.type == TOK_ELLIPSIS) {
                        r = next(P, err);
                        continue;
                }
                if (P->tok.type != TOK_ID)
                        return unexpected(P, "an argument name", err);
                if ((r = next(P, err)) < 0)
                        return r;
                if (P->tok.type == TOK_QUESTION) {
                        _cleanup_value_ struct value *dflt = NULL;
                        if ((r = next(P, err)) < 0 || (r = parse_select(P, &dflt, err)) < 0)
                                return r;
                }
                if (P->tok.type == TOK_COMMA)
                        r = next(P, err);
                else if (P->tok.type != TOK_RBRACE)
                        return unexpected(P, "',' or '}'", err);
        }
        if (r >= 0)
                r = expect(P, TOK_RBRACE, err);
        return r;
}

static int parse_function(struct parser *P, struct value **out, struct mv_error **err)
{
        struct srcpos pos = P->tok.pos;
        int r;

        if (P->tok.type == TOK_ID) { /* name: or name @ { ... }: */
                if ((r = next(P, err)) < 0)
                        return r;
                if (P->tok.type == TOK_AT) {
                        if ((r = next(P, err)) < 0 || (r = skip_pattern(P, err)) < 0)
                                return r;
                }
        } else {
                if ((r = skip_pattern(P, err)) < 0)
                        return r;
                if (P->tok.type == TOK_AT) {
                        if ((r = next(P, err)) < 0 || (r = expect(P, TOK_ID, err)) < 0)
                                return r;
                }
        }
        if ((r = expect(P, TOK_COLON, err)) < 0)
                return r;

        struct value *fn = value_new(VALUE_FUNCTION, pos);
        r = parse_expr(P, &fn->body, err);
        if (r < 0) {
                value_free(fn);
                return r;
        }
        *out = fn;
        return 0;
}

static int parse_let(struct parser *P, struct value **out, struct mv_error **err)
{
        struct scope scope = { .parent = P->scope, .bindings = value_new(VALUE_ATTRS, P->tok.pos) };
        int r = next(P, err);

        /* Bindings see the ones before them: evaluated in order, not recursively. */
        P->scope = &scope;
        if (r >= 0)
                r = parse_binds(P, scope.bindings, TOK_IN, err);
        if (r >= 0)
                r = expect(P, TOK_IN, err);
        if (r >= 0)
                r = parse_expr(P, out, err);
        P->scope = scope.parent;
        value_free(scope.bindings);
        return r;
}

static int parse_with(struct parser *P, struct value **out, struct mv_error **err)
{
        struct srcpos pos = P->tok.pos;
        int r = next(P, err);
        if (r < 0)
                return r;
        if (P->tok.type != TOK_ID || strcmp(P->tok.text, "lib") != 0)
                return srcpos_error(err, pos,
                                    "'with' " NEEDS_NIX "; only 'with lib;' is understood");
        if ((r = next(P, err)) < 0 || (r = expect(P, TOK_SEMI, err)) < 0)
                return r;

        struct scope scope = { .parent = P->scope, .bindings = NULL, .with_lib = true };
        P->scope = &scope;
        r = parse_expr(P, out, err);
        P->scope = scope.parent;
        return r;
}

/* Does the identifier at the current token start a definition (name = or name.)? */
static bool next_is_binding(struct parser *P)
{
        enum token_type t = peek_type(P);
        return t == TOK_ASSIGN || t == TOK_DOT;
}

static int parse_expr(struct parser *P, struct value **out, struct mv_error **err)
{
        if (++P->depth > MAX_DEPTH)
                return srcpos_error(err, P->tok.pos, "nesting deeper than %d levels", MAX_DEPTH);

        int r;
        switch (P->tok.type) {
        case TOK_LET:
                r = parse_let(P, out, err);
                break;
        case TOK_WITH:
                r = parse_with(P, out, err);
                break;
        case TOK_LBRACE:
                r = brace_starts_pattern(P) ? parse_function(P, out, err)
                                            : parse_select(P, out, err);
                break;
        case TOK_ID: {
                enum token_type t = peek_type(P);
                bool lambda = t == TOK_COLON || t == TOK_AT;
                r = lambda ? parse_function(P, out, err) : parse_select(P, out, err);
                break;
        }
        default:
                r = parse_select(P, out, err);
                break;
        }
        P->depth--;
        if (r < 0)
                return r;

        /* What may follow a complete value; anything else is an operation we cannot do. */
        if (P->tok.type == TOK_OPERATOR || P->tok.type == TOK_MINUS) {
                r = srcpos_error(err, P->tok.pos, "operator '%s' " NEEDS_NIX, P->tok.text);
        } else if (P->tok.type == TOK_ID && next_is_binding(P)) {
                r = srcpos_error(err, P->tok.pos,
                                 "expected ';' before '%s': the definition before it is not "
                                 "terminated",
                                 P->tok.text);
        } else if (starts_value(P->tok.type) && (*out)->type != VALUE_FUNCTION) {
                r = srcpos_error(err, P->tok.pos,
                                 "a function call " NEEDS_NIX
                                 " (or is a ';' missing before this?)");
        } else {
                return 0;
        }
        value_free(*out);
        *out = NULL;
        return r;
}

int nix_parse(const struct source *src, struct value **out, struct mv_error **err)
{
        struct parser P = { 0 };
        _cleanup_value_ struct value *v = NULL;
        int r;

        lexer_init(&P.lx, src);
        r = next(&P, err);
        if (r >= 0)
                r = parse_expr(&P, &v, err);
        if (r >= 0 && P.tok.type != TOK_EOF)
                r = unexpected(&P, "end of file", err);
        token_clear(&P.tok);
        token_clear(&P.ahead);
        if (r < 0)
                return r;
        *out = TAKE_PTR(v);
        return 0;
}
