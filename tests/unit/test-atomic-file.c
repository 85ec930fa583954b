#include "test-helpers.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static int setup(void **state)
{
        *state = scratch_dir_new();
        return 0;
}

static int teardown(void **state)
{
        scratch_dir_remove(*state);
        return 0;
}

/* Entries in `dir` other than . and .. */
static int count_entries(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;
        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        n++;
        return n;
}

static void write_creates_with_exact_mode(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/spec.json", (char *)*state);
        _cleanup_error_ struct mv_error *err = NULL;
        _cleanup_free_ char *got = NULL;
        size_t len;
        struct stat st;

        mode_t old = umask(077);
        assert_int_equal(write_file_atomic(path, "{}\n", 3, 0644, &err), 0);
        umask(old);
        assert_null(err);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(read_file_full(path, &got, &len, &err), 0);
        assert_int_equal(len, 3);
        assert_string_equal(got, "{}\n");
        assert_int_equal(count_entries(*state), 1);
}

static void write_replaces_existing(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/f", (char *)*state);
        _cleanup_free_ char *got = NULL;

        assert_int_equal(write_file_atomic(path, "old", 3, 0600, NULL), 0);
        assert_int_equal(write_file_atomic(path, "new!", 4, 0600, NULL), 0);
        assert_int_equal(read_file_full(path, &got, NULL, NULL), 0);
        assert_string_equal(got, "new!");
        assert_int_equal(count_entries(*state), 1);
}

static void write_empty_file(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/empty", (char *)*state);
        _cleanup_free_ char *got = NULL;
        size_t len = 99;

        assert_int_equal(write_file_atomic(path, "", 0, 0600, NULL), 0);
        assert_int_equal(read_file_full(path, &got, &len, NULL), 0);
        assert_int_equal(len, 0);
        assert_string_equal(got, "");
}

/* A live record replaces as a durable write does, and refuses a planted link. */
static void live_record_replaces_and_refuses_links(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/pid", (char *)*state);
        _cleanup_free_ char *target = xasprintf("%s/target", (char *)*state);
        _cleanup_error_ struct mv_error *err = NULL;
        _cleanup_free_ char *got = NULL;
        struct stat st;

        assert_int_equal(write_live_record(path, "1 2 monitor\n", 12, 0644, &err), 0);
        assert_int_equal(write_live_record(path, "3 4 run\n", 8, 0644, &err), 0);
        assert_int_equal(read_file_full(path, &got, NULL, &err), 0);
        assert_string_equal(got, "3 4 run\n");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        /* The rename replaces a link planted at the record's name; its target is untouched. */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink(target, path), 0);
        assert_int_equal(write_live_record(path, "5 6 run\n", 8, 0644, &err), 0);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(lstat(target, &st), -1);
        assert_int_equal(count_entries(*state), 1);
}

static void write_into_missing_dir_fails_cleanly(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/no/such/f", (char *)*state);
        _cleanup_error_ struct mv_error *err = NULL;

        assert_int_equal(write_file_atomic(path, "x", 1, 0600, &err), -ENOENT);
        assert_non_null(err);
        assert_non_null(strstr(err->msg, "No such file or directory"));
        assert_int_equal(count_entries(*state), 0);
}

/* rename() onto a non-empty directory fails: the temporary must not stay behind. */
static void failed_rename_removes_temporary(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/d", (char *)*state);
        _cleanup_free_ char *inner = xasprintf("%s/d/keep", (char *)*state);
        _cleanup_error_ struct mv_error *err = NULL;

        assert_int_equal(mkdir(path, 0700), 0);
        assert_int_equal(write_file_atomic(inner, "k", 1, 0600, NULL), 0);
        assert_true(write_file_atomic(path, "x", 1, 0600, &err) < 0);
        assert_non_null(strstr(err->msg, "rename"));
        assert_int_equal(count_entries(*state), 1);
}

static void write_large_file(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/big", (char *)*state);
        size_t n = 3 * 1024 * 1024 + 17;
        _cleanup_free_ char *data = xmalloc(n);
        _cleanup_free_ char *got = NULL;
        size_t len;

        for (size_t i = 0; i < n; i++)
                data[i] = (char)('a' + i % 26);
        assert_int_equal(write_file_atomic(path, data, n, 0600, NULL), 0);
        assert_int_equal(read_file_full(path, &got, &len, NULL), 0);
        assert_int_equal(len, n);
        assert_memory_equal(got, data, n);
}

static void symlink_create_and_swap(void **state)
{
        _cleanup_free_ char *link = xasprintf("%s/current", (char *)*state);
        char target[256];
        ssize_t n;

        assert_int_equal(symlink_atomic("../.runners/aaa-web", link, NULL), 0);
        n = readlink(link, target, sizeof(target) - 1);
        assert_true(n > 0);
        target[n] = '\0';
        assert_string_equal(target, "../.runners/aaa-web");

        assert_int_equal(symlink_atomic("../.runners/bbb-web", link, NULL), 0);
        n = readlink(link, target, sizeof(target) - 1);
        target[n] = '\0';
        assert_string_equal(target, "../.runners/bbb-web");
        assert_int_equal(count_entries(*state), 1);
}

static void symlink_into_missing_dir_fails(void **state)
{
        _cleanup_free_ char *link = xasprintf("%s/missing/current", (char *)*state);
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(symlink_atomic("x", link, &err) < 0);
        assert_non_null(err);
}

static void read_missing_file_fails(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/absent", (char *)*state);
        _cleanup_error_ struct mv_error *err = NULL;
        char *got = NULL;
        assert_int_equal(read_file_full(path, &got, NULL, &err), -ENOENT);
        assert_null(got);
        assert_non_null(strstr(err->msg, "absent"));
}

static void temp_names_are_recognised(void **state)
{
        (void)state;
        assert_true(is_atomic_temp_name(".#current.0123456789abcdef"));
        assert_false(is_atomic_temp_name("current"));
        assert_false(is_atomic_temp_name(".hidden"));
}

/*
 * Kill a writer at arbitrary points: the file must always hold one of the
 * complete versions, never a mix or a truncation.
 */
static void killed_writer_leaves_old_or_new(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/state", (char *)*state);
        size_t n = 256 * 1024;
        _cleanup_free_ char *a = xmalloc(n), *b = xmalloc(n);

        memset(a, 'A', n);
        memset(b, 'B', n);
        assert_int_equal(write_file_atomic(path, a, n, 0600, NULL), 0);

        for (int round = 0; round < 20; round++) {
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        for (int i = 0;; i++)
                                write_file_atomic(path, i % 2 ? a : b, n, 0600, NULL);
                }
                usleep(1000 + (useconds_t)(round * 1500));
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);

                _cleanup_free_ char *got = NULL;
                size_t len;
                assert_int_equal(read_file_full(path, &got, &len, NULL), 0);
                assert_int_equal(len, n);
                assert_true(memcmp(got, a, n) == 0 || memcmp(got, b, n) == 0);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(write_creates_with_exact_mode, setup, teardown),
                cmocka_unit_test_setup_teardown(write_replaces_existing, setup, teardown),
                cmocka_unit_test_setup_teardown(write_empty_file, setup, teardown),
                cmocka_unit_test_setup_teardown(live_record_replaces_and_refuses_links, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(write_into_missing_dir_fails_cleanly, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(failed_rename_removes_temporary, setup, teardown),
                cmocka_unit_test_setup_teardown(write_large_file, setup, teardown),
                cmocka_unit_test_setup_teardown(symlink_create_and_swap, setup, teardown),
                cmocka_unit_test_setup_teardown(symlink_into_missing_dir_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(read_missing_file_fails, setup, teardown),
                cmocka_unit_test(temp_names_are_recognised),
                cmocka_unit_test_setup_teardown(killed_writer_leaves_old_or_new, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
