/* Tokens of the Nix language, as far as configuration data needs them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/source.h"

struct mv_error;

enum token_type {
        TOK_EOF,
        TOK_ID,
        TOK_INT,
        TOK_FLOAT,
        TOK_STRING, /* "..." and ''...'', decoded */
        TOK_PATH,   /* ./x, ../x, /x, ~/x: raw text */
        TOK_LBRACE,
        TOK_RBRACE,
        TOK_LBRACKET,
        TOK_RBRACKET,
        TOK_LPAREN,
        TOK_RPAREN,
        TOK_SEMI,
        TOK_COLON,
        TOK_ASSIGN,
        TOK_DOT,
        TOK_COMMA,
        TOK_QUESTION,
        TOK_AT,
        TOK_ELLIPSIS,
        TOK_MINUS,
        TOK_OPERATOR,   /* any other operator: ++ // + * / == != < > <= >= && || -> ! */
        TOK_INTERP,     /* ${ outside a string (a dynamic attribute name) */
        TOK_SEARCHPATH, /* <nixpkgs> */
        TOK_LET,
        TOK_IN,
        TOK_REC,
        TOK_INHERIT,
        TOK_WITH,
        TOK_KEYWORD, /* if then else assert or: need an evaluator */
};

struct token {
        enum token_type type;
        struct srcpos pos;
        char *text; /* identifier, decoded string, path or operator; reused between tokens */
        size_t len;
        size_t cap; /* allocated bytes of text */
        int64_t integer;
        double number;
};

struct lexer {
        const struct source *src;
        const char *p;
        int line, col;
};

void lexer_init(struct lexer *lx, const struct source *src);

/* Read the next token into `tok`, reusing its text buffer. */
int lexer_next(struct lexer *lx, struct token *tok, struct mv_error **err);

/* Release the token's buffer. */
void token_clear(struct token *tok);

const char *token_type_to_string(enum token_type t);
