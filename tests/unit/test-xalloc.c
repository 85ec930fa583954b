#include "test-helpers.h"

#include "util/cleanup.h"
#include "util/xalloc.h"

static void asprintf_formats(void **state)
{
        (void)state;
        _cleanup_free_ char *s = xasprintf("%s-%d", "vm", 7);
        assert_string_equal(s, "vm-7");
}

static void zero_sizes_return_memory(void **state)
{
        (void)state;
        _cleanup_free_ void *a = xmalloc(0);
        _cleanup_free_ void *b = xcalloc(0, 0);
        assert_non_null(a);
        assert_non_null(b);
}

static void strndup_truncates(void **state)
{
        (void)state;
        _cleanup_free_ char *s = xstrndup("abcdef", 3);
        assert_string_equal(s, "abc");
}

static void take_ptr_moves_ownership(void **state)
{
        (void)state;
        _cleanup_free_ char *a = xstrdup("x");
        char *b = TAKE_PTR(a);
        assert_null(a);
        assert_string_equal(b, "x");
        free(b);
}

static void take_fd_moves_ownership(void **state)
{
        (void)state;
        _cleanup_close_ int fd = dup(0);
        int moved = TAKE_FD(fd);
        assert_int_equal(fd, -1);
        assert_true(moved >= 0);
        close(moved);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(asprintf_formats),
                cmocka_unit_test(zero_sizes_return_memory),
                cmocka_unit_test(strndup_truncates),
                cmocka_unit_test(take_ptr_moves_ownership),
                cmocka_unit_test(take_fd_moves_ownership),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
