/* Root's records of each VM, and their publication in the VM's own directory. */
#include "test-helpers.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/records.h"

#define RUNNER_A "0123456789abcdef0123456789abcdef-web"
#define RUNNER_B "fedcba9876543210fedcba9876543210-web"

static int setup(void **state)
{
        char *dir = scratch_dir_new();
        chmod(dir, 0755);
        *state = dir;
        return 0;
}

static int teardown(void **state)
{
        scratch_dir_remove(*state);
        return 0;
}

static char *published(const char *st, const char *name, const char *link)
{
        _cleanup_free_ char *path = xasprintf("%s/%s/%s", st, name, link);
        char target[512];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return NULL;
        target[n] = '\0';
        return xstrdup(target);
}

static void set_read_and_publish(void **state)
{
        const char *st = *state;
        bool changed;
        assert_int_equal(records_set_runner(st, "web", "current", RUNNER_A, &changed, NULL), 0);
        assert_true(changed);
        assert_int_equal(records_set_runner(st, "web", "current", RUNNER_A, &changed, NULL), 0);
        assert_false(changed);
        _cleanup_free_ char *cur = records_runner(st, "web", "current");
        assert_string_equal(cur, RUNNER_A);
        _cleanup_free_ char *pub = published(st, "web", "current");
        assert_string_equal(pub, "../.runners/" RUNNER_A);
        assert_null(records_runner(st, "web", "booted"));

        assert_int_equal(records_set_runner(st, "web", "booted", RUNNER_B, &changed, NULL), 0);
        assert_int_equal(records_set_runner(st, "web", "booted", NULL, &changed, NULL), 0);
        assert_true(changed);
        assert_null(records_runner(st, "web", "booted"));
        _cleanup_free_ char *gone = published(st, "web", "booted");
        assert_null(gone);

        _cleanup_strv_free_ char **names = records_vm_names(st);
        assert_int_equal(strv_length(names), 1);
        assert_string_equal(names[0], "web");
}

/* What the VM's user changes in its own directory is never read back. */
static void published_links_are_not_trusted(void **state)
{
        const char *st = *state;
        assert_int_equal(records_set_runner(st, "web", "current", RUNNER_A, NULL, NULL), 0);
        _cleanup_free_ char *pub = xasprintf("%s/web/current", st);
        assert_int_equal(unlink(pub), 0);
        assert_int_equal(symlink("/etc", pub), 0);
        _cleanup_free_ char *cur = records_runner(st, "web", "current");
        assert_string_equal(cur, RUNNER_A);
        /* The next write publishes it again, replacing the planted link without following it. */
        assert_int_equal(records_set_runner(st, "web", "current", RUNNER_A, NULL, NULL), 0);
        _cleanup_free_ char *again = published(st, "web", "current");
        assert_string_equal(again, "../.runners/" RUNNER_A);
}

/* A record can only name a runner of its own VM under .runners. */
static void records_name_only_runners_of_their_vm(void **state)
{
        const char *st = *state;
        assert_int_equal(records_set_runner(st, "web", "current", RUNNER_A, NULL, NULL), 0);
        const char *bad[] = { "/etc", "../../.runners/0123-web", "../../.runners/" RUNNER_A "x",
                              "../../.runners/0123456789abcdef0123456789abcdef-db",
                              "../.runners/" RUNNER_A };
        _cleanup_free_ char *path = records_path(st, "web", "current");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(unlink(path), 0);
                assert_int_equal(symlink(bad[i], path), 0);
                assert_null(records_runner(st, "web", "current"));
        }
        assert_false(runner_name_valid("0123456789ABCDEF0123456789abcdef-web", "web"));
        assert_true(runner_name_valid(RUNNER_A, "web"));
}

/* A VM directory that is a symlink is never followed: the record stands, publishing fails. */
static void symlinked_vm_directory_is_not_followed(void **state)
{
        const char *st = *state;
        assert_int_equal(mkdir_p(st, 0755, NULL), 0);
        _cleanup_free_ char *elsewhere = xasprintf("%s/elsewhere", st);
        _cleanup_free_ char *vm = xasprintf("%s/web", st);
        assert_int_equal(mkdir(elsewhere, 0755), 0);
        assert_int_equal(symlink(elsewhere, vm), 0);
        assert_int_equal(records_set_runner(st, "web", "current", RUNNER_A, NULL, NULL), 0);
        _cleanup_free_ char *there = xasprintf("%s/current", elsewhere);
        assert_int_equal(access(there, F_OK), -1);
        _cleanup_free_ char *cur = records_runner(st, "web", "current");
        assert_string_equal(cur, RUNNER_A);
}

/* Records in a directory someone else could write are refused. */
static void records_directory_must_be_ours(void **state)
{
        const char *st = *state;
        assert_int_equal(records_set_runner(st, "web", "current", RUNNER_A, NULL, NULL), 0);
        _cleanup_free_ char *dir = records_path(st, "web", NULL);
        assert_int_equal(chmod(dir, 0775), 0);
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(records_open(st, "web", false, &err) < 0);
        assert_non_null(strstr(err->msg, "is not microvm's own directory"));
        mv_error_free(&err);
        assert_true(records_open(st, "../x", true, &err) < 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(set_read_and_publish, setup, teardown),
                cmocka_unit_test_setup_teardown(published_links_are_not_trusted, setup, teardown),
                cmocka_unit_test_setup_teardown(records_name_only_runners_of_their_vm, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(symlinked_vm_directory_is_not_followed, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(records_directory_must_be_ours, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
