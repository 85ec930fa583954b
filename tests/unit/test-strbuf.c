#include "test-helpers.h"

#include "util/cleanup.h"
#include "util/strbuf.h"

static void builds_strings(void **state)
{
        (void)state;
        struct strbuf b = { 0 };
        strbuf_putc(&b, 'a');
        strbuf_puts(&b, "bc");
        strbuf_putn(&b, "dexx", 2);
        strbuf_printf(&b, "-%d-%s", 42, "z");
        assert_int_equal(b.len, 10);
        _cleanup_free_ char *s = strbuf_take(&b);
        assert_string_equal(s, "abcde-42-z");
        assert_null(b.data);
        assert_int_equal(b.len, 0);
}

static void empty_take_is_empty_string(void **state)
{
        (void)state;
        struct strbuf b = { 0 };
        _cleanup_free_ char *s = strbuf_take(&b);
        assert_string_equal(s, "");
}

static void grows_and_keeps_nul(void **state)
{
        (void)state;
        struct strbuf b = { 0 };
        for (int i = 0; i < 100000; i++)
                strbuf_printf(&b, "%d,", i % 10);
        assert_int_equal(b.len, 200000);
        assert_int_equal(b.data[b.len], '\0');
        strbuf_free(&b);
        assert_null(b.data);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(builds_strings),
                cmocka_unit_test(empty_take_is_empty_string),
                cmocka_unit_test(grows_and_keeps_nul),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
