#include "vm-helpers.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "vm/records.h"
#include "vm/runner.h"
#include "vm/statedir.h"

#define RUNNER_A "0123456789abcdef0123456789abcdef-a"
#define RUNNER_B "fedcba9876543210fedcba9876543210-a"
#define RUNNER_C "00000000000000000000000000000000-a"

static int setup(void **state)
{
        *state = scratch_dir_new();
        chmod(*state, 0755);
        return 0;
}

static int teardown(void **state)
{
        scratch_dir_remove(*state);
        return 0;
}

static void make_runner(const char *state_dir, const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/.runners/%s/share/microvm", state_dir, name);
        assert_int_equal(mkdir_p(p, 0755, NULL), 0);
}

/* A new state directory is the caller's and writable by nobody else. */
static void prepare_creates_a_private_directory(void **state)
{
        _cleanup_free_ char *st = xasprintf("%s/state", (char *)*state);
        assert_int_equal(statedir_prepare(st, NULL), 0);
        struct stat s;
        assert_int_equal(stat(st, &s), 0);
        assert_int_equal(s.st_mode & 0777, 0755);
        assert_int_equal(s.st_uid, geteuid());
        assert_int_equal(statedir_check(st, NULL), 0);
}

/* An existing one keeps its mode: think stateDir = "/srv". */
static void prepare_leaves_an_existing_directory_alone(void **state)
{
        _cleanup_free_ char *st = xasprintf("%s/srv", (char *)*state);
        assert_int_equal(mkdir(st, 0711), 0);
        assert_int_equal(chmod(st, 0711), 0);
        assert_int_equal(statedir_prepare(st, NULL), 0);
        struct stat s;
        assert_int_equal(stat(st, &s), 0);
        assert_int_equal(s.st_mode & 0777, 0711);
}

/* One another user could write, or any directory above it, is refused with the reason. */
static void unsafe_directories_are_refused(void **state)
{
        _cleanup_free_ char *st = xasprintf("%s/state", (char *)*state);
        assert_int_equal(mkdir(st, 0755), 0);
        assert_int_equal(chmod(st, 0777), 0);
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(statedir_check(st, &err) < 0);
        assert_non_null(strstr(err->msg, "is writable by every user (mode 0777)"));
        assert_non_null(err->hint);
        mv_error_free(&err);
        assert_true(statedir_prepare(st, &err) < 0);
        mv_error_free(&err);

        /* Above it: a parent others can write could swap the state directory away. */
        assert_int_equal(chmod(st, 0755), 0);
        assert_int_equal(chmod(*state, 0775), 0);
        assert_int_equal(chown(*state, 0, 4244), 0);
        assert_true(statedir_check(st, &err) < 0);
        assert_non_null(strstr(err->msg, "is writable by group 4244"));
        mv_error_free(&err);
        /* Sticky, as /tmp is: others cannot rename what is not theirs. */
        assert_int_equal(chmod(*state, 01777), 0);
        assert_int_equal(statedir_check(st, NULL), 0);
        /* But never the state directory itself. */
        assert_int_equal(chmod(st, 01777), 0);
        assert_true(statedir_check(st, &err) < 0);
        assert_int_equal(chmod(*state, 0755), 0);
}

static void set(const char *st, const char *name, const char *link, const char *runner)
{
        _cleanup_error_ struct mv_error *err = NULL;
        if (records_set_runner(st, name, link, runner, NULL, &err) < 0)
                fail_msg("%s", err->msg);
}

static void gc_keeps_what_records_name(void **state)
{
        _cleanup_free_ char *st = xasprintf("%s/state", (char *)*state);
        size_t removed;
        assert_int_equal(statedir_prepare(st, NULL), 0);
        make_runner(st, RUNNER_A);
        make_runner(st, RUNNER_B);
        make_runner(st, RUNNER_C);
        make_runner(st, ".#half-a.XXXX");
        set(st, "a", "current", RUNNER_A);
        set(st, "a", "booted", RUNNER_B);
        /* A link the VM's user planted in its own directory keeps nothing. */
        _cleanup_free_ char *planted = xasprintf("%s/a/toplevel", st);
        assert_int_equal(symlink("../.runners/" RUNNER_C, planted), 0);

        assert_int_equal(statedir_gc(st, &removed, NULL), 0);
        assert_int_equal(removed, 2);
        _cleanup_free_ char *a = xasprintf("%s/.runners/" RUNNER_A, st);
        _cleanup_free_ char *b = xasprintf("%s/.runners/" RUNNER_B, st);
        _cleanup_free_ char *c = xasprintf("%s/.runners/" RUNNER_C, st);
        assert_int_equal(access(a, F_OK), 0);
        assert_int_equal(access(b, F_OK), 0);
        assert_int_equal(access(c, F_OK), -1);
        assert_int_equal(statedir_gc(st, &removed, NULL), 0);
        assert_int_equal(removed, 0);
}

static void lock_is_exclusive(void **state)
{
        _cleanup_free_ char *st = xasprintf("%s/state", (char *)*state);
        assert_int_equal(statedir_prepare(st, NULL), 0);
        _cleanup_close_ int fd = statedir_lock(st, NULL);
        assert_true(fd >= 0);
        /* A second holder in another process would wait; within one process flock is per fd. */
        _cleanup_free_ char *path = xasprintf("%s/.lock", st);
        int other = open(path, O_RDWR | O_CLOEXEC);
        assert_true(other >= 0);
        assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
        close(other);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(prepare_creates_a_private_directory, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(prepare_leaves_an_existing_directory_alone, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(unsafe_directories_are_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(gc_keeps_what_records_name, setup, teardown),
                cmocka_unit_test_setup_teardown(lock_is_exclusive, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
