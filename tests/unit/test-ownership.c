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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(check_names_what_cannot_be_opened),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
