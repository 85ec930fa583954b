#include "test-helpers.h"

#include <sys/stat.h>

#include <fcntl.h>

#include "host/volume.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

/* volume_create() on a name in `dir`. */
static int create(const char *dir, const char *name, char **mkfs, struct mv_error **err)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return volume_create(fd, name, name, 8, mkfs, (uid_t)-1, (gid_t)-1, NULL, NULL, err);
}

static void creates_and_formats(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        _cleanup_free_ char *img = xasprintf("%s/v.img", dir);
        char *mkfs[] = { "mkfs.ext4", "-q", "-L", "data", img, NULL };
        _cleanup_error_ struct mv_error *err = NULL;
        if (create(dir, "v.img", mkfs, &err) < 0)
                fail_msg("%s", err->msg);
        struct stat st;
        assert_int_equal(stat(img, &st), 0);
        assert_int_equal(st.st_size, 8 * 1024 * 1024);
        /* An existing image is never overwritten. */
        assert_true(create(dir, "v.img", mkfs, &err) < 0);
        assert_non_null(strstr(err->msg, "File exists"));
        mv_error_free(&err);
        /* Nor created through a symlink the VM's user may have planted. */
        _cleanup_free_ char *target = xasprintf("%s/elsewhere", dir);
        _cleanup_free_ char *link = xasprintf("%s/planted.img", dir);
        assert_int_equal(symlink(target, link), 0);
        assert_true(create(dir, "planted.img", mkfs, &err) < 0);
        assert_int_equal(access(target, F_OK), -1);
        scratch_dir_remove(dir);
}

static void failed_mkfs_removes_the_image(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        _cleanup_free_ char *img = xasprintf("%s/v.img", dir);
        char *bad[] = { "mkfs.ext4", "-O", "no-such-feature", img, NULL };
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(create(dir, "v.img", bad, &err) < 0);
        assert_non_null(strstr(err->msg, "exited with status"));
        assert_int_equal(access(img, F_OK), -1);
        mv_error_free(&err);
        char *missing[] = { "mkfs.nosuchfs", img, NULL };
        assert_true(create(dir, "v.img", missing, &err) < 0);
        assert_non_null(strstr(err->msg, "mkfs.nosuchfs not found"));
        assert_int_equal(access(img, F_OK), -1);
        scratch_dir_remove(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(creates_and_formats),
                cmocka_unit_test(failed_mkfs_removes_the_image),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
