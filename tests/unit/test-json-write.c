#include "config-helpers.h"

#include "config/json-write.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

static void strings_are_escaped(void **state)
{
        (void)state;
        struct strbuf b = { 0 };
        json_write_string(&b, "a\"b\\c\nd\te\x01\x7f\xc3\xa9", 13);
        _cleanup_free_ char *s = strbuf_take(&b);
        assert_string_equal(s, "\"a\\\"b\\\\c\\nd\\te\\u0001\\u007f\xc3\xa9\"");
}

static void pretty_output(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, "{ b = [ 1 { } ]; a = ./x; c = [ ]; }");
        struct strbuf b = { 0 };
        json_write_value(&b, v, true);
        _cleanup_free_ char *s = strbuf_take(&b);
        assert_string_equal(s, "{\n  \"b\": [\n    1,\n    {}\n  ],\n  \"a\": \"/test/x\",\n"
                               "  \"c\": []\n}");
        value_free(v);
        source_set_free(&set);
}

static void functions_and_floats(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, "[ (x: 1) 0.25 ]");
        struct strbuf b = { 0 };
        json_write_value(&b, v, false);
        _cleanup_free_ char *s = strbuf_take(&b);
        assert_string_equal(s, "[null,0.25]");
        value_free(v);
        source_set_free(&set);
}

/* `in` (length n) as a JSON string, for comparison. */
static char *json_of(const char *in, size_t n)
{
        struct strbuf b = { 0 };
        json_write_string(&b, in, n);
        return strbuf_take(&b);
}

#define FFFD "\xef\xbf\xbd"

static void expect_json(const char *in, size_t n, const char *want)
{
        _cleanup_free_ char *got = json_of(in, n);
        if (strcmp(got, want) != 0)
                fail_msg("got <%s>, want <%s>", got, want);
}

#define EXPECT(in, want) expect_json(in, sizeof(in) - 1, "\"" want "\"")

static void well_formed_utf8_is_kept(void **state)
{
        (void)state;
        EXPECT("\xc2\x80", "\xc2\x80");                 /* U+0080, the first two-byte one */
        EXPECT("\xe2\x82\xac", "\xe2\x82\xac");         /* U+20AC */
        EXPECT("\xed\x9f\xbf", "\xed\x9f\xbf");         /* U+D7FF, just below the surrogates */
        EXPECT("\xee\x80\x80", "\xee\x80\x80");         /* U+E000, just above them */
        EXPECT("\xef\xbf\xbd", "\xef\xbf\xbd");         /* U+FFFD itself */
        EXPECT("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* U+1F600 */
        EXPECT("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last */
}

static void overlong_encodings_are_replaced(void **state)
{
        (void)state;
        /* Each byte that cannot start or continue a character is one U+FFFD. */
        EXPECT("\xc0\x80", FFFD FFFD); /* NUL */
        EXPECT("\xc1\xbf", FFFD FFFD); /* '\x7f' */
        EXPECT("a\xe0\x80\xaf"
               "b",
               "a" FFFD FFFD FFFD "b");                  /* '/' */
        EXPECT("\xe0\x9f\xbf", FFFD FFFD FFFD);          /* U+07FF */
        EXPECT("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD); /* '/' */
        EXPECT("\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD); /* U+FFFF */
}

static void surrogates_and_beyond_are_replaced(void **state)
{
        (void)state;
        EXPECT("\xed\xa0\x80", FFFD FFFD FFFD);                            /* U+D800 */
        EXPECT("\xed\xbf\xbf", FFFD FFFD FFFD);                            /* U+DFFF */
        EXPECT("\xed\xa0\xbd\xed\xb8\x80", FFFD FFFD FFFD FFFD FFFD FFFD); /* a CESU-8 pair */
        EXPECT("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD);                   /* U+110000 */
        EXPECT("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD);
}

static void truncated_sequences_are_one_replacement(void **state)
{
        (void)state;
        /* The bytes that began a character, up to where it broke off, are one U+FFFD. */
        EXPECT("\xc3", FFFD);
        EXPECT("\xe2\x82", FFFD);
        EXPECT("\xf0\x9f\x98", FFFD);
        EXPECT("\xe2\x82"
               "A",
               FFFD "A");
        EXPECT("\xf0\x9f\x98\"", FFFD "\\\"");
        EXPECT("\xe2\x82\xe2\x82\xac", FFFD "\xe2\x82\xac");
        EXPECT("x\xf0\x9f", "x" FFFD);
}

static void lone_high_bytes_are_replaced(void **state)
{
        (void)state;
        for (unsigned b = 0x80; b <= 0xff; b++) {
                char in[3] = { (char)b, 'z', 0 };
                expect_json(in, 2, "\"" FFFD "z\"");
                expect_json(in, 1, "\"" FFFD "\"");
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(strings_are_escaped),
                cmocka_unit_test(pretty_output),
                cmocka_unit_test(functions_and_floats),
                cmocka_unit_test(well_formed_utf8_is_kept),
                cmocka_unit_test(overlong_encodings_are_replaced),
                cmocka_unit_test(surrogates_and_beyond_are_replaced),
                cmocka_unit_test(truncated_sequences_are_one_replacement),
                cmocka_unit_test(lone_high_bytes_are_replaced),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
