/* Opens confined to a directory, by openat2() and by the component walk it falls back to. */
#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "util/beneath.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

struct tree {
        char *root;
        int fd;
};

/* root/a/b/file, root/link -> /etc, root/a/up -> .., root/dirlink -> a */
static int setup(void **state)
{
        struct tree *t = xcalloc(1, sizeof(*t));
        t->root = scratch_dir_new();
        _cleanup_free_ char *b = xasprintf("%s/a/b", t->root);
        _cleanup_free_ char *file = xasprintf("%s/a/b/file", t->root);
        _cleanup_free_ char *link = xasprintf("%s/link", t->root);
        _cleanup_free_ char *up = xasprintf("%s/a/up", t->root);
        _cleanup_free_ char *dirlink = xasprintf("%s/dirlink", t->root);
        assert_int_equal(mkdir_p(b, 0755, NULL), 0);
        close(open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        assert_int_equal(symlink("/etc", link), 0);
        assert_int_equal(symlink("..", up), 0);
        assert_int_equal(symlink("a", dirlink), 0);
        t->fd = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct tree *t = *state;
        close(t->fd);
        scratch_dir_remove(t->root);
        free(t);
        beneath_force_walk(false);
        return 0;
}

static void confined(struct tree *t)
{
        int fd = open_beneath(t->fd, "a/b/file", O_RDONLY, 0);
        assert_true(fd >= 0);
        close(fd);
        fd = open_beneath(t->fd, "a//b/./file", O_RDONLY, 0);
        assert_true(fd >= 0);
        close(fd);
        /* A symlink anywhere on the way, or at the end, is refused. */
        assert_int_equal(open_beneath(t->fd, "link/passwd", O_RDONLY, 0), -ELOOP);
        assert_int_equal(open_beneath(t->fd, "link", O_RDONLY, 0), -ELOOP);
        assert_int_equal(open_beneath(t->fd, "dirlink/b/file", O_RDONLY, 0), -ELOOP);
        assert_int_equal(open_beneath(t->fd, "a/up/a/b/file", O_RDONLY, 0), -ELOOP);
        /* Leaving the directory is refused before anything is opened. */
        assert_int_equal(open_beneath(t->fd, "../x", O_RDONLY, 0), -EXDEV);
        assert_int_equal(open_beneath(t->fd, "a/../../x", O_RDONLY, 0), -EXDEV);
        assert_int_equal(open_beneath(t->fd, "/etc/passwd", O_RDONLY, 0), -EXDEV);
        assert_int_equal(open_beneath(t->fd, "", O_RDONLY, 0), -EXDEV);
        /* Creating, never through a planted link. */
        fd = open_beneath(t->fd, "a/new", O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_true(open_beneath(t->fd, "link", O_WRONLY | O_CREAT, 0600) < 0);
        /* With O_PATH the last symlink is opened itself, for the caller to look at. */
        fd = open_beneath(t->fd, "link", O_PATH, 0);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        close(fd);
        const char *base;
        fd = open_parent_beneath(t->fd, "a/b/file", &base);
        assert_true(fd >= 0);
        assert_string_equal(base, "file");
        assert_int_equal(fstatat(fd, base, &st, 0), 0);
        close(fd);
        assert_true(open_parent_beneath(t->fd, "link/passwd", &base) < 0);
        fd = open_parent_beneath(t->fd, "top", &base);
        assert_true(fd >= 0);
        assert_string_equal(base, "top");
        close(fd);
}

static void with_openat2(void **state)
{
        confined(*state);
}

/* Kernels without openat2(): the same answers from the walk. */
static void without_openat2(void **state)
{
        beneath_force_walk(true);
        confined(*state);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(with_openat2, setup, teardown),
                cmocka_unit_test_setup_teardown(without_openat2, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
