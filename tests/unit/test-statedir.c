#include "vm-helpers.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "vm/runner.h"
#include "vm/statedir.h"

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

static void make_runner(const char *state_dir, const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/.runners/%s/share/microvm", state_dir, name);
        assert_int_equal(mkdir_p(p, 0755, NULL), 0);
}

static void links_and_changes(void **state)
{
        _cleanup_free_ char *st = xasprintf("%s/state", (char *)*state);
        bool changed;
        assert_int_equal(statedir_prepare(st, NULL), 0);
        struct stat s;
        assert_int_equal(stat(st, &s), 0);
        assert_int_equal(s.st_mode & 0777, 0775);

        assert_int_equal(statedir_link_vm(st, "web", "aaa-web", true, &changed, NULL), 0);
        assert_true(changed);
        assert_int_equal(statedir_link_vm(st, "web", "aaa-web", true, &changed, NULL), 0);
        assert_false(changed);
        assert_int_equal(statedir_link_vm(st, "web", "bbb-web", false, &changed, NULL), 0);
        assert_true(changed);
        _cleanup_free_ char *cur = statedir_link_runner(st, "web", "current");
        _cleanup_free_ char *top = statedir_link_runner(st, "web", "toplevel");
        assert_string_equal(cur, "bbb-web");
        assert_string_equal(top, "aaa-web"); /* not declarative this time: left alone */
        assert_null(statedir_link_runner(st, "web", "booted"));
        assert_null(statedir_link_runner(st, "nope", "current"));
}

static void gc_keeps_what_links_point_at(void **state)
{
        _cleanup_free_ char *st = xasprintf("%s/state", (char *)*state);
        bool changed;
        size_t removed;
        assert_int_equal(statedir_prepare(st, NULL), 0);
        make_runner(st, "cur-a");
        make_runner(st, "boot-a");
        make_runner(st, "old-a");
        make_runner(st, ".#half-a.XXXX");
        assert_int_equal(statedir_link_vm(st, "a", "cur-a", false, &changed, NULL), 0);
        _cleanup_free_ char *booted = xasprintf("%s/a/booted", st);
        assert_int_equal(symlink("../.runners/boot-a", booted), 0);

        assert_int_equal(statedir_gc(st, &removed, NULL), 0);
        assert_int_equal(removed, 2);
        _cleanup_free_ char *old = xasprintf("%s/.runners/old-a", st);
        _cleanup_free_ char *cur = xasprintf("%s/.runners/cur-a", st);
        _cleanup_free_ char *boot = xasprintf("%s/.runners/boot-a", st);
        assert_int_equal(access(old, F_OK), -1);
        assert_int_equal(access(cur, F_OK), 0);
        assert_int_equal(access(boot, F_OK), 0);
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
                cmocka_unit_test_setup_teardown(links_and_changes, setup, teardown),
                cmocka_unit_test_setup_teardown(gc_keeps_what_links_point_at, setup, teardown),
                cmocka_unit_test_setup_teardown(lock_is_exclusive, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
