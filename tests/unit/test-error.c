#include "test-helpers.h"

#include <errno.h>

#include "util/error.h"

static void set_formats_errno(void **state)
{
        (void)state;
        _cleanup_error_ struct mv_error *err = NULL;

        int r = mv_error_set(&err, ENOENT, "open %s", "/x");
        assert_int_equal(r, -ENOENT);
        assert_non_null(err);
        assert_int_equal(err->code, ENOENT);
        assert_int_equal(err->kind, MV_ERROR_RUNTIME);
        assert_string_equal(err->msg, "open /x: No such file or directory");
        assert_int_equal(mv_error_exit_status(err), 1);
}

static void fail_without_errno(void **state)
{
        (void)state;
        _cleanup_error_ struct mv_error *err = NULL;

        int r = mv_error_fail(&err, "guest did not boot");
        assert_true(r < 0);
        assert_int_equal(err->code, 0);
        assert_string_equal(err->msg, "guest did not boot");
}

static void wrap_adds_context_outermost_first(void **state)
{
        (void)state;
        _cleanup_error_ struct mv_error *err = NULL;

        mv_error_set(&err, EACCES, "open %s", "/dev/kvm");
        int r = mv_error_wrap(&err, "probe KVM");
        r = mv_error_wrap(&err, "start %s", "web");
        assert_int_equal(r, -EACCES);
        assert_string_equal(err->msg, "start web: probe KVM: open /dev/kvm: Permission denied");
}

static void config_and_usage_exit_2(void **state)
{
        (void)state;
        _cleanup_error_ struct mv_error *a = NULL, *b = NULL;

        assert_int_equal(mv_error_config(&a, "host.nix:1:2: bad"), -EINVAL);
        assert_int_equal(mv_error_exit_status(a), 2);
        assert_int_equal(a->kind, MV_ERROR_CONFIG);
        assert_int_equal(mv_error_usage(&b, "unknown command"), -EINVAL);
        assert_int_equal(mv_error_exit_status(b), 2);
        assert_int_equal(mv_error_exit_status(NULL), 0);
}

static void hint_is_replaced(void **state)
{
        (void)state;
        _cleanup_error_ struct mv_error *err = NULL;

        mv_error_fail(&err, "x");
        mv_error_hint(&err, "first %d", 1);
        mv_error_hint(&err, "second");
        assert_string_equal(err->hint, "second");
}

static void later_error_replaces_earlier(void **state)
{
        (void)state;
        _cleanup_error_ struct mv_error *err = NULL;

        mv_error_set(&err, EIO, "first");
        mv_error_config(&err, "second");
        assert_string_equal(err->msg, "second");
        assert_int_equal(err->kind, MV_ERROR_CONFIG);
}

static void null_err_is_allowed(void **state)
{
        (void)state;
        assert_int_equal(mv_error_set(NULL, EPERM, "ignored"), -EPERM);
        assert_int_equal(mv_error_wrap(NULL, "nothing to wrap"), -EIO);
}

static void free_resets_pointer(void **state)
{
        (void)state;
        struct mv_error *err = NULL;
        mv_error_fail(&err, "x");
        mv_error_free(&err);
        assert_null(err);
        mv_error_free(&err); /* a second free is harmless */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(set_formats_errno),
                cmocka_unit_test(fail_without_errno),
                cmocka_unit_test(wrap_adds_context_outermost_first),
                cmocka_unit_test(config_and_usage_exit_2),
                cmocka_unit_test(hint_is_replaced),
                cmocka_unit_test(later_error_replaces_earlier),
                cmocka_unit_test(null_err_is_allowed),
                cmocka_unit_test(free_resets_pointer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
