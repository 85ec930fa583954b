#include "test-helpers.h"

#include "config/lexer.h"
#include "util/error.h"

struct lexed {
        struct source_set set;
        struct lexer lx;
        struct token tok;
};

static void lex_start(struct lexed *l, const char *text)
{
        memset(l, 0, sizeof(*l));
        lexer_init(&l->lx, source_add_text(&l->set, "t.nix", text));
}

static void lex_end(struct lexed *l)
{
        token_clear(&l->tok);
        source_set_free(&l->set);
}

static enum token_type next_type(struct lexed *l)
{
        struct mv_error *err = NULL;
        if (lexer_next(&l->lx, &l->tok, &err) < 0)
                fail_msg("lex error: %s", err->msg);
        return l->tok.type;
}

/* The decoded text of the single string token in `text`. */
static char *string_of(const char *text)
{
        struct lexed l;
        lex_start(&l, text);
        assert_int_equal(next_type(&l), TOK_STRING);
        char *s = strdup(l.tok.text);
        assert_int_equal(next_type(&l), TOK_EOF);
        lex_end(&l);
        return s;
}

static void lex_fails_with(const char *text, const char *needle)
{
        struct lexed l;
        struct mv_error *err = NULL;
        lex_start(&l, text);
        int r;
        do
                r = lexer_next(&l.lx, &l.tok, &err);
        while (r >= 0 && l.tok.type != TOK_EOF);
        if (r >= 0)
                fail_msg("<%s> lexed without error", text);
        if (!strstr(err->msg, needle))
                fail_msg("error '%s' lacks '%s'", err->msg, needle);
        mv_error_free(&err);
        lex_end(&l);
}

static void punctuation_and_positions(void **state)
{
        (void)state;
        struct lexed l;
        lex_start(&l, "{ a.b = [ 1 ];\n  c = ./x; ... }");
        enum token_type want[] = { TOK_LBRACE, TOK_ID,       TOK_DOT,    TOK_ID,
                                   TOK_ASSIGN, TOK_LBRACKET, TOK_INT,    TOK_RBRACKET,
                                   TOK_SEMI,   TOK_ID,       TOK_ASSIGN, TOK_PATH,
                                   TOK_SEMI,   TOK_ELLIPSIS, TOK_RBRACE, TOK_EOF };
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                assert_int_equal(next_type(&l), want[i]);
                if (i == 9) { /* c on line 2, column 3 */
                        assert_int_equal(l.tok.pos.line, 2);
                        assert_int_equal(l.tok.pos.col, 3);
                }
        }
        lex_end(&l);
}

static void identifiers_keywords_numbers(void **state)
{
        (void)state;
        struct lexed l;
        lex_start(&l, "cloud-hypervisor x' let in rec inherit with if 42 1.5 2.5e3");
        assert_int_equal(next_type(&l), TOK_ID);
        assert_string_equal(l.tok.text, "cloud-hypervisor");
        assert_int_equal(next_type(&l), TOK_ID);
        assert_string_equal(l.tok.text, "x'");
        assert_int_equal(next_type(&l), TOK_LET);
        assert_int_equal(next_type(&l), TOK_IN);
        assert_int_equal(next_type(&l), TOK_REC);
        assert_int_equal(next_type(&l), TOK_INHERIT);
        assert_int_equal(next_type(&l), TOK_WITH);
        assert_int_equal(next_type(&l), TOK_KEYWORD);
        assert_int_equal(next_type(&l), TOK_INT);
        assert_int_equal(l.tok.integer, 42);
        assert_int_equal(next_type(&l), TOK_FLOAT);
        assert_true(l.tok.number == 1.5);
        assert_int_equal(next_type(&l), TOK_FLOAT);
        assert_true(l.tok.number == 2500.0);
        lex_end(&l);
}

static void comments_are_skipped(void **state)
{
        (void)state;
        struct lexed l;
        lex_start(&l, "# line\n/* block\n * more */ x /**/ # end");
        assert_int_equal(next_type(&l), TOK_ID);
        assert_int_equal(l.tok.pos.line, 3);
        assert_int_equal(next_type(&l), TOK_EOF);
        lex_end(&l);
}

static void paths(void **state)
{
        (void)state;
        struct lexed l;
        lex_start(&l, "./vm.nix ../x/y /abs/p ~/h a/b <nixpkgs> 1/2");
        const char *want[] = { "./vm.nix", "../x/y", "/abs/p", "~/h", "a/b" };
        for (int i = 0; i < 5; i++) {
                assert_int_equal(next_type(&l), TOK_PATH);
                assert_string_equal(l.tok.text, want[i]);
        }
        assert_int_equal(next_type(&l), TOK_SEARCHPATH);
        assert_int_equal(next_type(&l), TOK_PATH); /* as in Nix, 1/2 is a path */
        lex_end(&l);
}

static void operators(void **state)
{
        (void)state;
        struct lexed l;
        lex_start(&l, "++ // == - ${");
        assert_int_equal(next_type(&l), TOK_OPERATOR);
        assert_string_equal(l.tok.text, "++");
        assert_int_equal(next_type(&l), TOK_OPERATOR);
        assert_string_equal(l.tok.text, "//");
        assert_int_equal(next_type(&l), TOK_OPERATOR);
        assert_int_equal(next_type(&l), TOK_MINUS);
        assert_int_equal(next_type(&l), TOK_INTERP);
        lex_end(&l);
}

static void string_escapes(void **state)
{
        (void)state;
        char *s = string_of("\"a\\nb\\t\\\"c\\\\ \\$ $${x} \\q\"");
        assert_string_equal(s, "a\nb\t\"c\\ $ $${x} q");
        free(s);
        s = string_of("\"\"");
        assert_string_equal(s, "");
        free(s);
        s = string_of("\"ip link set \\\"$id\\\" up\"");
        assert_string_equal(s, "ip link set \"$id\" up");
        free(s);
}

static void indented_string_strips_common_indent(void **state)
{
        (void)state;
        char *s = string_of("''\n    line one\n      indented\n    line three\n  ''");
        assert_string_equal(s, "line one\n  indented\nline three\n");
        free(s);
}

static void indented_string_ignores_blank_lines_for_indent(void **state)
{
        (void)state;
        char *s = string_of("''\n    a\n\n    b\n''");
        assert_string_equal(s, "a\n\nb\n");
        free(s);
        /* A whitespace-only line shorter than the indent does not lower it. */
        s = string_of("''\n    a\n  \n    b''");
        assert_string_equal(s, "a\n\nb");
        free(s);
}

static void indented_string_escapes(void **state)
{
        (void)state;
        char *s = string_of("''a ''' b ''$ c ''\\n d ''\\t''");
        assert_string_equal(s, "a '' b $ c \n d \t");
        free(s);
        /* Escapes are never indentation: the common indent here is 2. */
        s = string_of("''\n  x\n  ''\\tY\n''");
        assert_string_equal(s, "x\n\tY\n");
        free(s);
}

static void indented_string_first_line(void **state)
{
        (void)state;
        char *s = string_of("''  text on first line''");
        assert_string_equal(s, "text on first line");
        free(s);
        s = string_of("''''");
        assert_string_equal(s, "");
        free(s);
}

static void lexical_errors(void **state)
{
        (void)state;
        lex_fails_with("\"open", "unterminated string");
        lex_fails_with("''open", "unterminated indented string");
        lex_fails_with("/* open", "unterminated comment");
        lex_fails_with("\"a ${b} c\"", "interpolation");
        lex_fails_with("''a ${b}''", "interpolation");
        lex_fails_with("99999999999999999999", "out of range");
        lex_fails_with("x ^ y", "unexpected character '^'");
        lex_fails_with("\x01", "unexpected byte 0x01");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(punctuation_and_positions),
                cmocka_unit_test(identifiers_keywords_numbers),
                cmocka_unit_test(comments_are_skipped),
                cmocka_unit_test(paths),
                cmocka_unit_test(operators),
                cmocka_unit_test(string_escapes),
                cmocka_unit_test(indented_string_strips_common_indent),
                cmocka_unit_test(indented_string_ignores_blank_lines_for_indent),
                cmocka_unit_test(indented_string_escapes),
                cmocka_unit_test(indented_string_first_line),
                cmocka_unit_test(lexical_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
