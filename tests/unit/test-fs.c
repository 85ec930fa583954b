#include "test-helpers.h"

#include <errno.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
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

static void mkdir_p_creates_parents(void **state)
{
        _cleanup_free_ char *deep = xasprintf("%s/a/b/c", (char *)*state);
        struct stat st;
        assert_int_equal(mkdir_p(deep, 0750, NULL), 0);
        assert_int_equal(stat(deep, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(mkdir_p(deep, 0750, NULL), 0); /* existing is fine */
}

static void mkdir_p_refuses_a_file_in_the_way(void **state)
{
        _cleanup_free_ char *file = xasprintf("%s/f", (char *)*state);
        _cleanup_free_ char *below = xasprintf("%s/f/x", (char *)*state);
        _cleanup_error_ struct mv_error *e1 = NULL, *e2 = NULL;
        FILE *f = fopen(file, "w");
        fclose(f);
        assert_int_equal(mkdir_p(file, 0755, &e1), -ENOTDIR);
        assert_true(mkdir_p(below, 0755, &e2) < 0);
}

static void temp_dirs_are_marked(void **state)
{
        _cleanup_free_ char *t = make_temp_dir(*state, "runner", NULL);
        assert_non_null(t);
        assert_non_null(strstr(t, "/.#runner."));
        _cleanup_error_ struct mv_error *err = NULL;
        assert_null(make_temp_dir("/nonexistent", "x", &err));
        assert_non_null(err);
}

/* A tree with a symlink to something outside: the link goes, its target stays. */
static void remove_tree_does_not_follow_links(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *keep = xasprintf("%s/keep", dir);
        _cleanup_free_ char *tree = xasprintf("%s/tree", dir);
        _cleanup_free_ char *sub = xasprintf("%s/tree/sub/deeper", dir);
        _cleanup_free_ char *file = xasprintf("%s/tree/sub/file", dir);
        _cleanup_free_ char *link = xasprintf("%s/tree/link", dir);
        assert_int_equal(mkdir_p(keep, 0755, NULL), 0);
        assert_int_equal(mkdir_p(sub, 0755, NULL), 0);
        FILE *f = fopen(file, "w");
        fputs("x", f);
        fclose(f);
        assert_int_equal(symlink(keep, link), 0);

        assert_int_equal(remove_tree(tree), 0);
        assert_int_equal(access(tree, F_OK), -1);
        assert_int_equal(access(keep, F_OK), 0);
        assert_int_equal(remove_tree(tree), 0); /* already gone */
        assert_int_equal(fsync_dir(dir, NULL), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(mkdir_p_creates_parents, setup, teardown),
                cmocka_unit_test_setup_teardown(mkdir_p_refuses_a_file_in_the_way, setup, teardown),
                cmocka_unit_test_setup_teardown(temp_dirs_are_marked, setup, teardown),
                cmocka_unit_test_setup_teardown(remove_tree_does_not_follow_links, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
