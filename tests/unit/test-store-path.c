#include "test-helpers.h"

#include "util/error.h"
#include "vm/records.h"
#include "vm/store-path.h"

static void store_paths_are_spelled_as_nix_spells_them(void **state)
{
        (void)state;
        assert_true(
                store_path_valid("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-microvm-qemu-web"));
        assert_true(store_path_valid("/nix/store/00000000000000000000000000000000-a+b_c.d?e=f"));
        /* Not the store, not a store path itself, not Nix's base32 or characters. */
        assert_false(store_path_valid("/nix/storex/00000000000000000000000000000000-web"));
        assert_false(store_path_valid("/tmp/store/00000000000000000000000000000000-web"));
        assert_false(store_path_valid("/nix/store/00000000000000000000000000000000-web/bin"));
        assert_false(store_path_valid("/nix/store/00000000000000000000000000000000-.."));
        assert_false(store_path_valid("/nix/store/00000000000000000000000000000000-"));
        assert_false(store_path_valid("/nix/store/0000000000000000000000000000000e-web"));
        assert_false(store_path_valid("/nix/store/0000000000000000000000000000000-web"));
        assert_false(store_path_valid("/nix/store/00000000000000000000000000000000_web"));
        assert_false(store_path_valid("/nix/store/00000000000000000000000000000000-w b"));
        assert_false(store_path_valid("/nix/store/00000000000000000000000000000000-w\nb"));
        assert_false(store_path_valid("/nix/store"));
}

static void records_take_store_paths_and_our_runners_only(void **state)
{
        (void)state;
        assert_true(runner_name_valid("/nix/store/00000000000000000000000000000000-microvm-qemu-x",
                                      "web"));
        assert_true(runner_name_valid("0123456789abcdef0123456789abcdef-web", "web"));
        assert_false(runner_name_valid("0123456789abcdef0123456789abcdef-web", "db"));
        assert_false(runner_name_valid("/tmp/00000000000000000000000000000000-web", "web"));
        assert_false(runner_name_valid("../0123456789abcdef0123456789abcdef-web", "web"));
}

static void a_path_that_is_no_store_path_is_not_trusted(void **state)
{
        (void)state;
        struct mv_error *err = NULL;
        assert_true(store_path_trusted("/tmp", &err) < 0);
        assert_non_null(strstr(err->msg, "not a Nix store path"));
        mv_error_free(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(store_paths_are_spelled_as_nix_spells_them),
                cmocka_unit_test(records_take_store_paths_and_our_runners_only),
                cmocka_unit_test(a_path_that_is_no_store_path_is_not_trusted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
