#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "hypervisor/hypervisor.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "vm/ownership.h"
#include "vm/plan.h"

/* Ids no account has: the kernel does not care whether a name exists. */
#define TEST_UID 4242
#define TEST_GID 4243

/* A plan with a kernel and one existing volume, var.img in `dir`. */
static void check_plan(struct vm_plan *p, struct plan_volume *vol, char *dir, char *kernel,
                       char *image, bool switch_ids)
{
        static char *argv[] = { "qemu", NULL };
        *vol = (struct plan_volume){ .image = image, .exists = true };
        *p = (struct vm_plan){
                .working_directory = dir,
                .hypervisor = hypervisor_find("qemu"),
                .argv = argv,
                .volumes = vol,
                .n_volumes = 1,
                .boot_files = { kernel },
                .run_as = { .switch_ids = switch_ids,
                            .uid = TEST_UID,
                            .gid = TEST_GID,
                            .user = "microvm",
                            .group = "kvm" },
        };
}

/* What the hypervisor's user cannot open is said before anything is set up, with a fix. */
static void check_names_what_cannot_be_opened(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        char *dir = scratch_dir_new();
        chmod(dir, 0755);
        _cleanup_free_ char *kernel = xasprintf("%s/vmlinux", dir);
        _cleanup_free_ char *image = xasprintf("%s/var.img", dir);
        close(open(kernel, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        close(open(image, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        struct vm_plan plan;
        struct plan_volume vol;
        check_plan(&plan, &vol, dir, kernel, image, true);
        struct mv_error *err = NULL;

        assert_int_equal(ownership_check(&plan, &err), -EACCES);
        _cleanup_free_ char *want = xasprintf("the hypervisor runs as microvm:kvm and cannot read "
                                              "microvm.kernel %s: Permission denied",
                                              kernel);
        assert_string_equal(err->msg, want);
        mv_error_free(&err);

        chmod(kernel, 0644);
        assert_int_equal(ownership_check(&plan, &err), -EACCES);
        assert_non_null(strstr(err->msg, "cannot read and write volume"));
        assert_non_null(strstr(err->hint, "chown microvm:kvm"));
        mv_error_free(&err);

        assert_int_equal(chown(image, TEST_UID, TEST_GID), 0);
        assert_int_equal(ownership_check(&plan, &err), 0);

        /* Without a switch there is nothing to check. */
        chmod(kernel, 0600);
        plan.run_as.switch_ids = false;
        assert_int_equal(ownership_check(&plan, &err), 0);
        scratch_dir_remove(dir);
}

/* Whether a user that is neither its owner nor in its group can open /dev/net/tun. */
static bool tun_open_to_all(void)
{
        struct stat st;
        return stat("/dev/net/tun", &st) == 0 && (st.st_mode & 0006) == 0006;
}

/* Taps go as descriptors exactly when the switched-to user cannot open /dev/net/tun. */
static void taps_as_fds_when_tun_is_closed(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        struct run_as id = { .switch_ids = true, .uid = TEST_UID, .gid = TEST_GID };
        bool as_fds = true;
        assert_int_equal(ownership_taps_as_fds(&id, true, &as_fds, NULL), 0);
        assert_int_equal(as_fds, !tun_open_to_all());

        /* No taps, or no switch: nothing to ask. */
        as_fds = true;
        assert_int_equal(ownership_taps_as_fds(&id, false, &as_fds, NULL), 0);
        assert_false(as_fds);
        id.switch_ids = false;
        as_fds = true;
        assert_int_equal(ownership_taps_as_fds(&id, true, &as_fds, NULL), 0);
        assert_false(as_fds);
}

/* A tap passed as descriptors was opened by root: /dev/net/tun is not the hypervisor's need. */
static void taps_passed_as_descriptors_need_no_tun(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        char *dir = scratch_dir_new();
        chmod(dir, 0755);
        _cleanup_free_ char *kernel = xasprintf("%s/vmlinux", dir);
        _cleanup_free_ char *image = xasprintf("%s/var.img", dir);
        close(open(kernel, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        close(open(image, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        assert_int_equal(chown(image, TEST_UID, TEST_GID), 0);
        struct vm_plan plan;
        struct plan_volume vol;
        check_plan(&plan, &vol, dir, kernel, image, true);
        struct plan_interface tap = { .id = "tp0" };
        plan.interfaces = &tap;
        plan.n_interfaces = 1;
        _cleanup_error_ struct mv_error *err = NULL;

        if (tun_open_to_all()) {
                assert_int_equal(ownership_check(&plan, &err), 0);
        } else {
                assert_int_equal(ownership_check(&plan, &err), -EACCES);
                assert_string_equal(err->msg, "the hypervisor runs as microvm:kvm and cannot open "
                                              "/dev/net/tun: Permission denied");
                assert_non_null(strstr(err->hint, "chmod 0666 /dev/net/tun"));
                mv_error_free(&err);
        }

        int fds[] = { 3 };
        tap.fds = fds;
        tap.n_fds = 1;
        assert_int_equal(ownership_check(&plan, &err), 0);
        scratch_dir_remove(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(check_names_what_cannot_be_opened),
                cmocka_unit_test(taps_as_fds_when_tun_is_closed),
                cmocka_unit_test(taps_passed_as_descriptors_need_no_tun),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
