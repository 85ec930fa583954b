#include "config/lexer.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define INTERP_HINT                                                                                \
        "string interpolation ${...} needs a Nix evaluator; write the value out, or evaluate "     \
        "the configuration with `nix eval --json` and use the JSON file (see microvm-options(5))"

void lexer_init(struct lexer *lx, const struct source *src)
{
        lx->src = src;
        lx->p = src->text;
        lx->line = 1;
        lx->col = 1;
}

void token_clear(struct token *tok)
{
        free(tok->text);
        memset(tok, 0, sizeof(*tok));
}

/* Forget the previous token but keep its buffer: most tokens need no allocation. */
static void token_reset(struct token *tok)
{
        char *text = tok->text;
        size_t cap = tok->cap;
        memset(tok, 0, sizeof(*tok));
        tok->text = text;
        tok->cap = cap;
        if (text)
                text[0] = '\0';
}

/* A strbuf writing into the token's own buffer, for decoded strings. */
static struct strbuf token_buffer(struct token *tok)
{
        struct strbuf b = { .data = tok->text, .len = 0, .cap = tok->cap };
        tok->text = NULL;
        tok->cap = 0;
        return b;
}

const char *token_type_to_string(enum token_type t)
{
        static const char *const names[] = {
                [TOK_EOF] = "end of file", [TOK_ID] = "identifier",
                [TOK_INT] = "integer",     [TOK_FLOAT] = "float",
                [TOK_STRING] = "string",   [TOK_PATH] = "path",
                [TOK_LBRACE] = "'{'",      [TOK_RBRACE] = "'}'",
                [TOK_LBRACKET] = "'['",    [TOK_RBRACKET] = "']'",
                [TOK_LPAREN] = "'('",      [TOK_RPAREN] = "')'",
                [TOK_SEMI] = "';'",        [TOK_COLON] = "':'",
                [TOK_ASSIGN] = "'='",      [TOK_DOT] = "'.'",
                [TOK_COMMA] = "','",       [TOK_QUESTION] = "'?'",
                [TOK_AT] = "'@'",          [TOK_ELLIPSIS] = "'...'",
                [TOK_MINUS] = "'-'",       [TOK_OPERATOR] = "operator",
                [TOK_INTERP] = "'${'",     [TOK_SEARCHPATH] = "search path",
                [TOK_LET] = "'let'",       [TOK_IN] = "'in'",
                [TOK_REC] = "'rec'",       [TOK_INHERIT] = "'inherit'",
                [TOK_WITH] = "'with'",     [TOK_KEYWORD] = "keyword",
        };
        return (unsigned)t < ELEMENTSOF(names) ? names[t] : "?";
}

static struct srcpos here(const struct lexer *lx)
{
        return (struct srcpos){ .src = lx->src, .line = lx->line, .col = lx->col };
}

static void advance(struct lexer *lx, size_t n)
{
        for (size_t i = 0; i < n && *lx->p; i++, lx->p++) {
                if (*lx->p == '\n') {
                        lx->line++;
                        lx->col = 1;
                } else {
                        lx->col++;
                }
        }
}

/* Past `n` bytes that hold no newline (every token but strings): no per-byte scan. */
static void advance_in_line(struct lexer *lx, size_t n)
{
        lx->p += n;
        lx->col += (int)n;
}

static int skip_space_and_comments(struct lexer *lx, struct mv_error **err)
{
        for (;;) {
                /* Indentation is most of a configuration's bytes: a tight loop. */
                while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r') {
                        lx->p++;
                        lx->col++;
                }
                if (*lx->p == '\n') {
                        lx->p++;
                        lx->line++;
                        lx->col = 1;
                } else if (*lx->p == '#') {
                        while (*lx->p && *lx->p != '\n')
                                advance(lx, 1);
                } else if (lx->p[0] == '/' && lx->p[1] == '*') {
                        struct srcpos start = here(lx);
                        advance(lx, 2);
                        while (*lx->p && !(lx->p[0] == '*' && lx->p[1] == '/'))
                                advance(lx, 1);
                        if (!*lx->p)
                                return srcpos_error(err, start, "unterminated comment /* ... */");
                        advance(lx, 2);
                } else {
                        return 0;
                }
        }
}

static void set_text(struct token *tok, struct strbuf *b)
{
        if (!b->data)
                strbuf_puts(b, "");
        tok->len = b->len;
        tok->cap = b->cap;
        tok->text = b->data;
        *b = (struct strbuf){ 0 };
}

static int lex_string(struct lexer *lx, struct token *tok, struct mv_error **err)
{
        struct srcpos start = here(lx);
        struct strbuf b = token_buffer(tok);

        advance(lx, 1); /* opening quote */
        for (;;) {
                char c = *lx->p;
                if (!c) {
                        strbuf_free(&b);
                        return srcpos_error(err, start, "unterminated string");
                }
                if (c == '"') {
                        advance(lx, 1);
                        break;
                }
                if (c == '$' && lx->p[1] == '{') {
                        struct srcpos at = here(lx);
                        strbuf_free(&b);
                        return srcpos_error(err, at, INTERP_HINT);
                }
                if (c == '$' && lx->p[1] == '$') {
                        /* "$$" stays literal, and so does the "{" after it. */
                        strbuf_putc(&b, '$');
                        strbuf_putc(&b, '$');
                        advance(lx, 2);
                        continue;
                }
                if (c == '\\') {
                        char e = lx->p[1];
                        if (!e) {
                                strbuf_free(&b);
                                return srcpos_error(err, start, "unterminated string");
                        }
                        strbuf_putc(&b, e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
                        advance(lx, 2);
                        continue;
                }
                strbuf_putc(&b, c);
                advance(lx, 1);
        }
        tok->type = TOK_STRING;
        tok->pos = start;
        set_text(tok, &b);
        return 0;
}

/*
 * Indented strings. Characters are collected with a flag saying whether
 * they came from the text itself (so count as indentation) or from an
 * escape (never indentation); then the common indentation is stripped
 * as Nix does: only spaces count, whitespace-only lines do not take part,
 * and a last line of only spaces is dropped.
 */
struct ind_char {
        char c;
        bool literal;
};

static void ind_put(struct ind_char **v, size_t *n, size_t *cap, char c, bool literal)
{
        if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 64;
                *v = xreallocarray(*v, *cap, sizeof(**v));
        }
        (*v)[(*n)++] = (struct ind_char){ c, literal };
}

static void ind_strip(const struct ind_char *v, size_t n, struct strbuf *out)
{
        size_t min_indent = SIZE_MAX, cur = 0;
        bool at_start = true;

        for (size_t i = 0; i < n; i++) {
                if (at_start && v[i].literal && v[i].c == ' ') {
                        cur++;
                } else if (at_start && v[i].literal && v[i].c == '\n') {
                        cur = 0; /* whitespace-only line: does not count */
                } else if (at_start) {
                        at_start = false;
                        if (cur < min_indent)
                                min_indent = cur;
                }
                if (!at_start && v[i].literal && v[i].c == '\n') {
                        at_start = true;
                        cur = 0;
                }
        }
        if (min_indent == SIZE_MAX)
                min_indent = 0;

        size_t skip = min_indent;
        for (size_t i = 0; i < n; i++) {
                if (skip > 0 && v[i].literal && v[i].c == ' ') {
                        skip--;
                        continue;
                }
                skip = 0;
                strbuf_putc(out, v[i].c);
                if (v[i].literal && v[i].c == '\n')
                        skip = min_indent;
        }
        /* Drop a last line made only of spaces, keeping its newline. */
        if (out->data) {
                char *nl = strrchr(out->data, '\n');
                if (nl && strspn(nl + 1, " ") == strlen(nl + 1)) {
                        out->len = (size_t)(nl + 1 - out->data);
                        out->data[out->len] = '\0';
                }
        }
}

static int lex_ind_string(struct lexer *lx, struct token *tok, struct mv_error **err)
{
        struct srcpos start = here(lx);
        _cleanup_free_ struct ind_char *v = NULL;
        size_t n = 0, cap = 0;

        advance(lx, 2);
        /* Spaces and a newline right after the opening '' are not part of the string. */
        size_t sp = strspn(lx->p, " ");
        if (lx->p[sp] == '\n')
                advance(lx, sp + 1);

        for (;;) {
                const char *p = lx->p;
                if (!*p)
                        return srcpos_error(err, start, "unterminated indented string ''...''");
                if (p[0] == '\'' && p[1] == '\'') {
                        if (p[2] == '\'') { /* ''' is a literal '' */
                                ind_put(&v, &n, &cap, '\'', false);
                                ind_put(&v, &n, &cap, '\'', false);
                                advance(lx, 3);
                        } else if (p[2] == '$') {
                                ind_put(&v, &n, &cap, '$', false);
                                advance(lx, 3);
                        } else if (p[2] == '\\' && p[3]) {
                                char e = p[3];
                                ind_put(&v, &n, &cap,
                                        e == 'n'   ? '\n'
                                        : e == 't' ? '\t'
                                        : e == 'r' ? '\r'
                                                   : e,
                                        false);
                                advance(lx, 4);
                        } else {
                                advance(lx, 2);
                                break;
                        }
                        continue;
                }
                if (p[0] == '$' && p[1] == '{')
                        return srcpos_error(err, here(lx), INTERP_HINT);
                if (p[0] == '$' && p[1] == '$') {
                        ind_put(&v, &n, &cap, '$', true);
                        ind_put(&v, &n, &cap, '$', true);
                        advance(lx, 2);
                        continue;
                }
                ind_put(&v, &n, &cap, p[0], true);
                advance(lx, 1);
        }

        struct strbuf b = token_buffer(tok);
        ind_strip(v, n, &b);
        tok->type = TOK_STRING;
        tok->pos = start;
        set_text(tok, &b);
        return 0;
}

/* ASCII classes by hand: <ctype.h> would ask the locale for every byte. */
static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_id_start(char c)
{
        return is_alpha(c) || c == '_';
}

static bool is_id_char(char c)
{
        return is_alpha(c) || is_digit(c) || c == '_' || c == '\'' || c == '-';
}

static bool is_path_char(char c)
{
        return is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '-' || c == '+';
}

/* Length of a path token at p (Nix: [a-zA-Z0-9._+-]*(/[a-zA-Z0-9._+-]+)+/?), or 0. */
static size_t path_length(const char *p)
{
        size_t i = 0, segments = 0;

        if (p[0] == '~' && p[1] == '/')
                i = 1;
        else
                while (is_path_char(p[i]))
                        i++;
        while (p[i] == '/' && is_path_char(p[i + 1])) {
                i++;
                while (is_path_char(p[i]))
                        i++;
                segments++;
        }
        if (!segments)
                return 0;
        if (p[i] == '/')
                i++;
        return i;
}

static const struct {
        const char *word;
        enum token_type type;
} keywords[] = {
        { "let", TOK_LET },         { "in", TOK_IN },        { "rec", TOK_REC },
        { "inherit", TOK_INHERIT }, { "with", TOK_WITH },    { "if", TOK_KEYWORD },
        { "then", TOK_KEYWORD },    { "else", TOK_KEYWORD }, { "assert", TOK_KEYWORD },
        { "or", TOK_KEYWORD },
};

/* Length of the operator at p ("..." first, then the two-character ones), or 0. */
static size_t operator_length(const char *p)
{
        switch (p[0]) {
        case '.':
                return p[1] == '.' && p[2] == '.' ? 3 : 0;
        case '+':
                return p[1] == '+' ? 2 : 1;
        case '/':
                return p[1] == '/' ? 2 : 1;
        case '=':
                return p[1] == '=' ? 2 : 0;
        case '!':
        case '<':
        case '>':
                return p[1] == '=' ? 2 : 1;
        case '&':
                return p[1] == '&' ? 2 : 0;
        case '|':
                return p[1] == '|' ? 2 : 0;
        case '-':
                return p[1] == '>' ? 2 : 0;
        case '*':
                return 1;
        default:
                return 0;
        }
}

static void set_raw(struct token *tok, enum token_type type, struct srcpos pos, const char *p,
                    size_t len)
{
        tok->type = type;
        tok->pos = pos;
        if (len + 1 > tok->cap) {
                tok->cap = len + 1 > 64 ? len + 1 : 64;
                free(tok->text);
                tok->text = xmalloc(tok->cap);
        }
        memcpy(tok->text, p, len);
        tok->text[len] = '\0';
        tok->len = len;
}

static int lex_number(struct lexer *lx, struct token *tok, struct mv_error **err)
{
        struct srcpos pos = here(lx);
        size_t n = strspn(lx->p, "0123456789");
        bool is_float = lx->p[n] == '.' && is_digit(lx->p[n + 1]);

        if (is_float) {
                n++;
                n += strspn(lx->p + n, "0123456789");
                if (lx->p[n] == 'e' || lx->p[n] == 'E') {
                        size_t e = n + 1 + (lx->p[n + 1] == '+' || lx->p[n + 1] == '-');
                        size_t d = strspn(lx->p + e, "0123456789");
                        if (d)
                                n = e + d;
                }
        }
        set_raw(tok, is_float ? TOK_FLOAT : TOK_INT, pos, lx->p, n);
        errno = 0;
        if (is_float) {
                tok->number = strtod(tok->text, NULL);
        } else {
                tok->integer = strtoll(tok->text, NULL, 10);
                if (errno == ERANGE)
                        return srcpos_error(err, pos, "integer %s is out of range", tok->text);
        }
        advance_in_line(lx, n);
        return 0;
}

int lexer_next(struct lexer *lx, struct token *tok, struct mv_error **err)
{
        token_reset(tok);
        int r = skip_space_and_comments(lx, err);
        if (r < 0)
                return r;

        struct srcpos pos = here(lx);
        const char *p = lx->p;
        char c = *p;

        if (!c) {
                tok->type = TOK_EOF;
                tok->pos = pos;
                return 0;
        }
        if (c == '"')
                return lex_string(lx, tok, err);
        if (c == '\'' && p[1] == '\'')
                return lex_ind_string(lx, tok, err);

        /* Only a run of path characters followed by "/x" (or "~/") can be a path. */
        size_t run = 0;
        while (is_path_char(p[run]))
                run++;
        size_t plen = (p[run] == '/' || (c == '~' && p[1] == '/')) ? path_length(p) : 0;
        if (plen) {
                set_raw(tok, TOK_PATH, pos, p, plen);
                advance_in_line(lx, plen);
                return 0;
        }
        if (c == '<' && is_id_start(p[1])) {
                size_t n = 1 + strcspn(p + 1, "> \t\n");
                if (p[n] == '>') {
                        set_raw(tok, TOK_SEARCHPATH, pos, p, n + 1);
                        advance_in_line(lx, n + 1);
                        return 0;
                }
        }
        if (is_digit(c))
                return lex_number(lx, tok, err);
        if (is_id_start(c)) {
                size_t n = 1;
                while (is_id_char(p[n]))
                        n++;
                set_raw(tok, TOK_ID, pos, p, n);
                for (size_t i = 0; n <= 7 && i < ELEMENTSOF(keywords); i++)
                        if (keywords[i].word[0] == c && strcmp(tok->text, keywords[i].word) == 0)
                                tok->type = keywords[i].type;
                advance_in_line(lx, n);
                return 0;
        }
        if (c == '$' && p[1] == '{') {
                set_raw(tok, TOK_INTERP, pos, p, 2);
                advance_in_line(lx, 2);
                return 0;
        }
        size_t op = operator_length(p);
        if (op) {
                set_raw(tok, op == 3 ? TOK_ELLIPSIS : TOK_OPERATOR, pos, p, op);
                advance_in_line(lx, op);
                return 0;
        }

        static const char singles[] = "{}[]();:=.,?@-";
        static const enum token_type single_types[] = {
                TOK_LBRACE, TOK_RBRACE,   TOK_LBRACKET, TOK_RBRACKET, TOK_LPAREN,
                TOK_RPAREN, TOK_SEMI,     TOK_COLON,    TOK_ASSIGN,   TOK_DOT,
                TOK_COMMA,  TOK_QUESTION, TOK_AT,       TOK_MINUS,
        };
        const char *s = strchr(singles, c);
        if (s) {
                set_raw(tok, single_types[s - singles], pos, p, 1);
                advance_in_line(lx, 1);
                return 0;
        }
        if (isprint((unsigned char)c))
                return srcpos_error(err, pos, "unexpected character '%c'", c);
        return srcpos_error(err, pos, "unexpected byte 0x%02x", (unsigned char)c);
}
