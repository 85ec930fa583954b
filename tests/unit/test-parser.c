#include "config-helpers.h"

#include "config/json-write.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* Parse and render as compact JSON (keys sorted), for whole-value comparisons. */
static char *as_json(const char *text)
{
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, text);
        struct strbuf b = { 0 };
        value_sort_attrs(v);
        json_write_value(&b, v, false);
        value_free(v);
        source_set_free(&set);
        return strbuf_take(&b);
}

static void assert_json(const char *text, const char *want)
{
        _cleanup_free_ char *got = as_json(text);
        if (strcmp(got, want) != 0)
                fail_msg("<%s>\n  got  %s\n  want %s", text, got, want);
}

static void scalars(void **state)
{
        (void)state;
        assert_json("true", "true");
        assert_json("null", "null");
        assert_json("-7", "-7");
        assert_json("\"s\"", "\"s\"");
        assert_json("( 1 )", "1");
}

static void dotted_paths_merge(void **state)
{
        (void)state;
        assert_json("{ microvm.vms.web.autostart = true; microvm.vms.web.config = { a = 1; }; }",
                    "{\"microvm\":{\"vms\":{\"web\":{\"autostart\":true,\"config\":{\"a\":1}}}}}");
        /* A set written out merges with one implied by a dotted path. */
        assert_json("{ a.b = 1; a = { c = 2; }; }", "{\"a\":{\"b\":1,\"c\":2}}");
        assert_json("{ a = { c = 2; }; a.b = 1; }", "{\"a\":{\"b\":1,\"c\":2}}");
}

static void quoted_attribute_names(void **state)
{
        (void)state;
        assert_json("{ systemd.services.\"microvm-tap-interfaces@%i.service\".enable = false; }",
                    "{\"systemd\":{\"services\":{\"microvm-tap-interfaces@%i.service\":{\"enable\":"
                    "false}}}}");
}

static void lists(void **state)
{
        (void)state;
        assert_json("[ ]", "[]");
        assert_json("[ \"a\" (\"b\") { x = 1; } [ 2 ] ]", "[\"a\",\"b\",{\"x\":1},[2]]");
}

static void let_bindings(void **state)
{
        (void)state;
        assert_json("let a = 1; b = { c = a; }; in { x = b.c; y = b; inherit a; }",
                    "{\"a\":1,\"x\":1,\"y\":{\"c\":1}}");
        assert_json("let mac = \"02:00:00:00:00:01\"; in [ mac mac ]",
                    "[\"02:00:00:00:00:01\",\"02:00:00:00:00:01\"]");
}

static void module_functions(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, "{ config, lib, pkgs, ... }: { a = 1; }");
        assert_int_equal(v->type, VALUE_FUNCTION);
        assert_int_equal(v->body->type, VALUE_ATTRS);
        value_free(v);
        v = parse_ok(&set, "args@{ ... }: { }");
        assert_int_equal(v->type, VALUE_FUNCTION);
        value_free(v);
        v = parse_ok(&set, "{ lib ? null, ... }@args: _: { }");
        assert_int_equal(v->type, VALUE_FUNCTION);
        assert_int_equal(v->body->type, VALUE_FUNCTION);
        value_free(v);
        v = parse_ok(&set, "{}: { }");
        assert_int_equal(v->type, VALUE_FUNCTION);
        value_free(v);
        source_set_free(&set);
}

static void priorities(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, "{ lib, ... }: { a = lib.mkDefault 1; b = lib.mkForce "
                                         "[ ]; c = lib.mkOverride 900 \"x\"; d = 2; }");
        struct value *body = v->body;
        assert_int_equal(value_priority(value_attrs_get(body, "a")->value), PRIORITY_DEFAULT);
        assert_int_equal(value_priority(value_attrs_get(body, "b")->value), PRIORITY_FORCE);
        assert_int_equal(value_priority(value_attrs_get(body, "c")->value), 900);
        assert_int_equal(value_priority(value_attrs_get(body, "d")->value), PRIORITY_NORMAL);
        value_free(v);
        v = parse_ok(&set, "{ lib, ... }: with lib; { a = mkForce true; }");
        assert_int_equal(value_priority(value_attrs_get(v->body, "a")->value), PRIORITY_FORCE);
        value_free(v);
        source_set_free(&set);
}

static void paths_resolve_against_the_file(void **state)
{
        (void)state;
        assert_json("[ ./vm.nix ../x /abs/./p/../q ]", "[\"/test/vm.nix\",\"/x\",\"/abs/q\"]");
}

static void path_normalisation(void **state)
{
        (void)state;
        const char *cases[][2] = {
                { "/a/b/../c", "/a/c" }, { "/a//b/./c/", "/a/b/c" },
                { "/../..", "/" },       { "/", "/" },
                { "/a/..", "/" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *n = path_normalize(cases[i][0]);
                assert_string_equal(n, cases[i][1]);
        }
}

static void positions_are_kept(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, "{\n  a =\n    [ 1\n      2 ];\n}");
        struct attr *a = value_attrs_get(v, "a");
        assert_int_equal(a->key_pos.line, 2);
        assert_int_equal(a->key_pos.col, 3);
        assert_int_equal(a->value->items[1]->pos.line, 4);
        assert_int_equal(a->value->items[1]->pos.col, 7);
        value_free(v);
        source_set_free(&set);
}

static void errors_say_what_is_wrong(void **state)
{
        (void)state;
        parse_fails_with("{ a = 1; a = 2; }",
                         "attribute 'a' already defined at /test/host.nix:1:3");
        parse_fails_with("{ a.b = 1; a = 2; }", "attribute 'a' already defined");
        parse_fails_with("{ a = 1 }", "expected ';' after the value of 'a'");
        parse_fails_with("{ a = 1; b = 2 c = 3; }", "expected ';' before 'c'");
        parse_fails_with("let f = 1; in { a = f 2; }", "a function call needs a Nix evaluator");
        parse_fails_with("[ 1 2", "unterminated list");
        parse_fails_with("{ a = [ \"a\" ] ++ [ ]; }", "operator '++' needs a Nix evaluator");
        parse_fails_with("{ a = 1 + 2; }", "operator '+'");
        parse_fails_with("{ a = pkgs.qemu; }", "package reference");
        parse_fails_with("{ a = import ./x.nix; }", "'import' needs a Nix evaluator");
        parse_fails_with("{ a = builtins.toString 1; }", "'builtins'");
        parse_fails_with("rec { a = 1; }", "rec { ... }");
        parse_fails_with("{ a = <nixpkgs>; }", "search path like <nixpkgs>");
        parse_fails_with("{ a = if true then 1 else 2; }", "an 'if' expression");
        parse_fails_with("{ ${\"a\"} = 1; }", "dynamic attribute name");
        parse_fails_with("{ a = lib.mkIf true 1; }", "lib.mkIf needs a Nix evaluator");
        parse_fails_with("{ a = lib.mkDefault; }", "lib.mkDefault needs a value");
        parse_fails_with("{ a = lib.mkOverride (-1) 1; }", "priority from 0 to 10000");
        parse_fails_with("{ a = x; }", "undefined variable 'x'");
        parse_fails_with("let a = b; b = 1; in a", "undefined variable 'b'");
        parse_fails_with("{ a = mkForce 1; }", "undefined variable 'mkForce'");
        parse_fails_with("with pkgs; { }", "only 'with lib;' is understood");
        parse_fails_with("{ inherit (x) a; }", "inherit (...)");
        parse_fails_with("1 2", "a function call");
        parse_fails_with("{ } }", "expected end of file");
        parse_fails_with("", "unexpected end of file");
        parse_fails_with("- \"x\"", "arithmetic");
}

static void deep_nesting_is_bounded(void **state)
{
        (void)state;
        struct strbuf b = { 0 };
        for (int i = 0; i < 5000; i++)
                strbuf_putc(&b, '[');
        _cleanup_free_ char *text = strbuf_take(&b);
        parse_fails_with(text, "nesting deeper than");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(scalars),
                cmocka_unit_test(dotted_paths_merge),
                cmocka_unit_test(quoted_attribute_names),
                cmocka_unit_test(lists),
                cmocka_unit_test(let_bindings),
                cmocka_unit_test(module_functions),
                cmocka_unit_test(priorities),
                cmocka_unit_test(paths_resolve_against_the_file),
                cmocka_unit_test(path_normalisation),
                cmocka_unit_test(positions_are_kept),
                cmocka_unit_test(errors_say_what_is_wrong),
                cmocka_unit_test(deep_nesting_is_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
