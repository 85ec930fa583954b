#include "config-helpers.h"

#include "config/nix-write.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

static char *render(const char *text)
{
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, text);
        struct strbuf b = { 0 };
        nix_write_value(&b, v, 0);
        value_free(v);
        source_set_free(&set);
        return strbuf_take(&b);
}

static void renders_nix(void **state)
{
        (void)state;
        _cleanup_free_ char *a = render("{ x = [ 1 [ 2 ] ]; \"a.b\" = { }; s = \"q\\\"\\n$\"; }");
        assert_string_equal(a,
                            "{\n  x = [\n    1\n    ([\n      2\n    ])\n  ];\n  \"a.b\" = { };\n"
                            "  s = \"q\\\"\\n$\";\n}");
}

/* What is rendered parses back to the same value. */
static void round_trips(void **state)
{
        (void)state;
        const char *text = "{ a = [ true null -3 \"${'$'}{x}\" ]; b.c = \"tab\\there\"; e = [ ]; }";
        struct source_set set = { 0 };
        struct mv_error *err = NULL;
        struct value *v =
                parse_text(&set, "{ a = [ true null -3 \"\\${x}\" ]; b.c = \"t\\th\"; }", &err);
        (void)text;
        assert_non_null(v);
        struct strbuf b = { 0 };
        nix_write_value(&b, v, 0);
        _cleanup_free_ char *s = strbuf_take(&b);
        struct value *back = parse_ok(&set, s);
        assert_true(value_equal(v, back));
        value_free(v);
        value_free(back);
        source_set_free(&set);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(renders_nix),
                cmocka_unit_test(round_trips),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
