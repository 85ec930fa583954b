/* The hypervisor's directory: what root does there never follows what its user planted. */
#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "vm/vmdir.h"

#define TEST_GID 4243

struct fixture {
        char *state, *vm_dir;
        int vmdir;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        f->state = scratch_dir_new();
        chmod(f->state, 0755);
        f->vm_dir = xasprintf("%s/web", f->state);
        f->vmdir = vmdir_open(f->state, "web", true, NULL);
        assert_true(f->vmdir >= 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        close(f->vmdir);
        scratch_dir_remove(f->state);
        free(f->vm_dir);
        free(f);
        return 0;
}

static void vm_directory_is_never_a_symlink(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *elsewhere = xasprintf("%s/elsewhere", f->state);
        _cleanup_free_ char *link = xasprintf("%s/db", f->state);
        assert_int_equal(mkdir(elsewhere, 0755), 0);
        assert_int_equal(symlink(elsewhere, link), 0);
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(vmdir_open(f->state, "db", true, &err) < 0);
        assert_non_null(strstr(err->msg, "is a symlink"));
        assert_non_null(strstr(err->hint, "does not follow a symlink"));
}

static void places_inside_and_outside(void **state)
{
        struct fixture *f = *state;
        struct vm_place p;
        assert_int_equal(vm_place_open(f->vmdir, f->vm_dir, "var.img", &p, NULL), 0);
        assert_string_equal(p.base, "var.img");
        vm_place_close(&p);
        _cleanup_free_ char *abs = xasprintf("%s/var.img", f->vm_dir);
        assert_int_equal(vm_place_open(f->vmdir, f->vm_dir, abs, &p, NULL), 0);
        assert_string_equal(p.base, "var.img");
        vm_place_close(&p);
        /* A subdirectory the VM's user made a symlink leads nowhere. */
        _cleanup_free_ char *sub = xasprintf("%s/disks", f->vm_dir);
        assert_int_equal(symlink("/etc", sub), 0);
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(vm_place_open(f->vmdir, f->vm_dir, "disks/var.img", &p, &err) < 0);
        assert_non_null(strstr(err->msg, "without following a symlink"));
        mv_error_free(&err);
        assert_true(vm_place_open(f->vmdir, f->vm_dir, "../x.img", &p, &err) < 0);
        /* The administrator's own path elsewhere is taken as configured. */
        _cleanup_free_ char *other = xasprintf("%s/other.img", f->state);
        assert_int_equal(vm_place_open(f->vmdir, f->vm_dir, other, &p, NULL), 0);
        assert_string_equal(p.base, "other.img");
        vm_place_close(&p);
}

static void create_never_an_existing_file(void **state)
{
        struct fixture *f = *state;
        struct vm_place p;
        assert_int_equal(vm_place_open(f->vmdir, f->vm_dir, "planted.img", &p, NULL), 0);
        _cleanup_free_ char *planted = xasprintf("%s/planted.img", f->vm_dir);
        _cleanup_free_ char *target = xasprintf("%s/target", f->state);
        assert_int_equal(symlink(target, planted), 0);
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(vm_place_create(&p, 0600, (uid_t)-1, (gid_t)-1, &err) < 0);
        assert_int_equal(access(target, F_OK), -1);
        assert_true(vm_place_exists(&p));
        vm_place_close(&p);
}

static void listen_share_and_remove_sockets(void **state)
{
        struct fixture *f = *state;
        if (geteuid() != 0)
                skip();
        struct vm_place p;
        assert_int_equal(vm_place_open(f->vmdir, f->vm_dir, "fs.sock", &p, NULL), 0);
        int fd = vm_place_listen(&p, (uid_t)-1, TEST_GID, 0660, NULL);
        assert_true(fd >= 0);
        close(fd);
        _cleanup_free_ char *path = xasprintf("%s/fs.sock", f->vm_dir);
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0660);
        assert_int_equal(st.st_gid, TEST_GID);
        /* A stale socket is replaced. */
        fd = vm_place_listen(&p, (uid_t)-1, TEST_GID, 0660, NULL);
        assert_true(fd >= 0);
        close(fd);
        vm_place_remove_socket(&p);
        assert_int_equal(lstat(path, &st), -1);
        /* Anything else there is left alone: a file, a symlink. */
        assert_int_equal(symlink("/etc/shadow", path), 0);
        vm_place_remove_socket(&p);
        assert_int_equal(lstat(path, &st), 0);
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(vm_place_share_socket(&p, (uid_t)-1, TEST_GID, 0666, &err) < 0);
        assert_non_null(strstr(err->msg, "is not the socket it should be"));
        struct stat shadow;
        assert_int_equal(stat("/etc/shadow", &shadow), 0);
        assert_true(shadow.st_gid != TEST_GID);
        mv_error_free(&err);
        assert_true(vm_place_listen(&p, (uid_t)-1, TEST_GID, 0660, &err) < 0);
        vm_place_close(&p);
}

static void publish_replaces_without_following(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *cur = xasprintf("%s/current", f->vm_dir);
        assert_int_equal(symlink("/etc", cur), 0);
        assert_int_equal(vmdir_publish(f->vmdir, "current", "../.runners/x"), 0);
        char target[64];
        ssize_t n = readlink(cur, target, sizeof(target) - 1);
        assert_true(n > 0);
        target[n] = '\0';
        assert_string_equal(target, "../.runners/x");
        assert_int_equal(vmdir_publish(f->vmdir, "current", NULL), 0);
        assert_int_equal(access(cur, F_OK), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(vm_directory_is_never_a_symlink, setup, teardown),
                cmocka_unit_test_setup_teardown(places_inside_and_outside, setup, teardown),
                cmocka_unit_test_setup_teardown(create_never_an_existing_file, setup, teardown),
                cmocka_unit_test_setup_teardown(listen_share_and_remove_sockets, setup, teardown),
                cmocka_unit_test_setup_teardown(publish_replaces_without_following, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
