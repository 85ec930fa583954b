#include "test-helpers.h"

#include <errno.h>

#include "config/source.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static void error_shows_line_and_caret(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct source *src = source_add_text(&set, "/etc/microvm/host.nix", "{\n\tab = 1;\n}\n");
        struct mv_error *err = NULL;
        struct srcpos pos = { .src = src, .line = 2, .col = 2 };
        assert_int_equal(srcpos_error(&err, pos, "bad %s", "thing"), -EINVAL);
        assert_string_equal(err->msg, "/etc/microvm/host.nix:2:2: bad thing\n  \tab = 1;\n  \t^");
        assert_int_equal(err->kind, MV_ERROR_CONFIG);
        mv_error_free(&err);
        source_set_free(&set);
}

static void position_less_values(void **state)
{
        (void)state;
        struct mv_error *err = NULL;
        srcpos_error(&err, (struct srcpos){ 0 }, "x");
        assert_string_equal(err->msg, "(built-in): x");
        mv_error_free(&err);
}

static void load_reads_files_and_rejects_binary(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        _cleanup_free_ char *ok = xasprintf("%s/ok.nix", dir);
        _cleanup_free_ char *bin = xasprintf("%s/bin.nix", dir);
        FILE *f = fopen(ok, "w");
        fputs("{ }", f);
        fclose(f);
        f = fopen(bin, "w");
        fwrite("{\0}", 1, 3, f);
        fclose(f);

        struct source_set set = { 0 };
        struct source *src = NULL;
        struct mv_error *err = NULL;
        assert_int_equal(source_load(&set, ok, &src, &err), 0);
        assert_string_equal(src->text, "{ }");
        assert_string_equal(src->dir, dir);
        assert_true(source_load(&set, bin, &src, &err) < 0);
        assert_non_null(strstr(err->msg, "NUL byte"));
        mv_error_free(&err);
        assert_true(source_load(&set, "/nonexistent/x.nix", &src, &err) < 0);
        mv_error_free(&err);
        source_set_free(&set);
        scratch_dir_remove(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(error_shows_line_and_caret),
                cmocka_unit_test(position_less_values),
                cmocka_unit_test(load_reads_files_and_rejects_binary),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
