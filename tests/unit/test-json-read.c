#include "test-helpers.h"

#include "config/json-read.h"
#include "config/json-write.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"

static struct value *json_ok(struct source_set *set, const char *text)
{
        struct mv_error *err = NULL;
        struct value *v = NULL;
        if (json_parse(source_add_text(set, "/t/host.json", text), &v, &err) < 0) {
                fail_msg("JSON parse failed: %s", err->msg);
                abort();
        }
        return v;
}

static void json_fails_with(const char *text, const char *needle)
{
        struct source_set set = { 0 };
        struct mv_error *err = NULL;
        struct value *v = NULL;
        if (json_parse(source_add_text(&set, "/t/host.json", text), &v, &err) >= 0)
                fail_msg("<%s> parsed", text);
        if (!strstr(err->msg, needle))
                fail_msg("error '%s' lacks '%s'", err->msg, needle);
        mv_error_free(&err);
        source_set_free(&set);
}

static void round_trip(void **state)
{
        (void)state;
        const char *text = "{\"a\":[1,-2,true,false,null,\"s\",{\"b\":[]}],\"c\":{},\"d\":1.5}";
        struct source_set set = { 0 };
        struct value *v = json_ok(&set, text);
        struct strbuf b = { 0 };
        json_write_value(&b, v, false);
        _cleanup_free_ char *out = strbuf_take(&b);
        assert_string_equal(out, text);
        value_free(v);
        source_set_free(&set);
}

static void escapes_and_unicode(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = json_ok(&set, "\"a\\n\\t\\\"\\\\\\/\\u00e9\\ud83d\\ude00\"");
        assert_string_equal(v->str, "a\n\t\"\\/\xc3\xa9\xf0\x9f\x98\x80");
        value_free(v);
        source_set_free(&set);
}

static void positions(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = json_ok(&set, "{\n  \"microvm\": {\n    \"stateDir\": 5\n  }\n}");
        struct attr *mv = value_attrs_get(v, "microvm");
        struct attr *sd = value_attrs_get(mv->value, "stateDir");
        assert_int_equal(sd->key_pos.line, 3);
        assert_int_equal(sd->key_pos.col, 5);
        assert_int_equal(sd->value->pos.col, 17);
        value_free(v);
        source_set_free(&set);
}

static void errors(void **state)
{
        (void)state;
        json_fails_with("{\"a\": 1, \"a\": 2}", "key \"a\" already defined at /t/host.json:1:2");
        json_fails_with("{\"a\" 1}", "expected ':'");
        json_fails_with("[1 2]", "expected ',' or ']'");
        json_fails_with("{\"a\": 1,}", "expected a string key");
        json_fails_with("01", "leading zero");
        json_fails_with("1.", "invalid JSON number");
        json_fails_with("\"a", "unterminated JSON string");
        json_fails_with("\"\\x\"", "invalid escape");
        json_fails_with("\"\\ud800\"", "unpaired surrogate");
        json_fails_with("\"\\u0000\"", "NUL character");
        json_fails_with("\"a\nb\"", "control character");
        json_fails_with("{} x", "unexpected text after the JSON value");
        json_fails_with("", "unexpected end of JSON");
        json_fails_with("tru", "expected a value");
        json_fails_with("99999999999999999999", "out of range");
}

static void depth_is_bounded(void **state)
{
        (void)state;
        char text[2001];
        memset(text, '[', 2000);
        text[2000] = '\0';
        json_fails_with(text, "nested deeper than");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(round_trip),       cmocka_unit_test(escapes_and_unicode),
                cmocka_unit_test(positions),        cmocka_unit_test(errors),
                cmocka_unit_test(depth_is_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
