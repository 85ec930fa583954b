#include "test-helpers.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "host/snippet.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"

static void words_split_as_an_unquoted_expansion(void **state)
{
        (void)state;
        _cleanup_strv_free_ char **v = NULL;
        strv_push(&v, "qemu");
        snippet_split_words("  -name\tvm,x=1 \n\n'quoted word'  *\n", &v);
        assert_int_equal(strv_length(v), 6);
        assert_string_equal(v[1], "-name");
        assert_string_equal(v[2], "vm,x=1");
        assert_string_equal(v[3], "'quoted");
        assert_string_equal(v[4], "word'");
        assert_string_equal(v[5], "*");
}

static void nothing_printed_adds_nothing(void **state)
{
        (void)state;
        _cleanup_strv_free_ char **v = NULL;
        snippet_split_words(" \n\t", &v);
        snippet_split_words("", &v);
        assert_int_equal(strv_length(v), 0);
}

static void output_is_collected_and_errexit_applies(void **state)
{
        (void)state;
        _cleanup_free_ char *out = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        struct snippet s = { .option = "microvm.extraArgsScript",
                             .text = "echo -a; echo to-stderr >&2; echo -b",
                             .cwd_fd = -1 };
        assert_int_equal(snippet_run(&s, NULL, &out, &err), 0);
        assert_string_equal(out, "-a\n-b\n");

        s.text = "false | true; echo piped; false; echo after";
        free(TAKE_PTR(out));
        assert_true(snippet_run(&s, NULL, &out, &err) < 0);
        assert_null(out);
        assert_non_null(strstr(err->msg, "microvm.extraArgsScript exited with status 1"));
}

static void unset_variables_are_errors(void **state)
{
        (void)state;
        _cleanup_error_ struct mv_error *err = NULL;
        struct snippet s = { .option = "microvm.preStart", .text = "echo $nowhere", .cwd_fd = -1 };
        assert_true(snippet_run(&s, NULL, NULL, &err) < 0);
}

static void a_nul_byte_in_the_output_is_refused(void **state)
{
        (void)state;
        _cleanup_free_ char *out = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        struct snippet s = { .option = "microvm.extraArgsScript",
                             .text = "printf 'a\\0b'",
                             .cwd_fd = -1 };
        assert_true(snippet_run(&s, NULL, &out, &err) < 0);
        assert_non_null(strstr(err->msg, "NUL byte"));
}

static void runs_in_the_given_directory(void **state)
{
        (void)state;
        _cleanup_free_ char *out = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        _cleanup_close_ int dir = open("/usr", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct snippet s = { .option = "microvm.preStart", .text = "pwd", .cwd_fd = dir };
        assert_int_equal(snippet_run(&s, NULL, &out, &err), 0);
        assert_string_equal(out, "/usr\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(words_split_as_an_unquoted_expansion),
                cmocka_unit_test(nothing_printed_adds_nothing),
                cmocka_unit_test(output_is_collected_and_errexit_applies),
                cmocka_unit_test(unset_variables_are_errors),
                cmocka_unit_test(a_nul_byte_in_the_output_is_refused),
                cmocka_unit_test(runs_in_the_given_directory),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
