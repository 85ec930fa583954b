#include "config-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "util/cleanup.h"
#include "util/spawn.h"
#include "util/xalloc.h"
#include "vm/ownership.h"

/* Ids no account has: the kernel does not care whether a name exists. */
#define TEST_UID 4242
#define TEST_GID 4243

static void run_as_comes_from_the_plan(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *plan = parse_ok(
                &set, "{ runAs = { switch = true; user = \"microvm\"; uid = 990; group = \"kvm\"; "
                      "gid = 992; reason = null; memlock = \"infinity\"; memlockNote = null; }; }");
        struct run_as id;
        ownership_from_plan(plan, &id);
        assert_true(id.switch_ids);
        assert_int_equal(id.uid, 990);
        assert_int_equal(id.gid, 992);
        assert_string_equal(id.user, "microvm");
        assert_string_equal(id.group, "kvm");
        assert_null(id.reason);
        assert_true(id.set_memlock && id.memlock.rlim_cur == RLIM_INFINITY);
        run_as_done(&id);
        value_free(plan);

        plan = parse_ok(&set, "{ runAs = { switch = false; user = \"root\"; uid = 0; group = "
                              "\"root\"; gid = 0; reason = \"there is no user microvm\"; "
                              "memlock = 8388608; memlockNote = \"no CAP_SYS_RESOURCE\"; }; }");
        ownership_from_plan(plan, &id);
        assert_false(id.switch_ids);
        assert_string_equal(id.reason, "there is no user microvm");
        assert_true(id.set_memlock && id.memlock.rlim_max == 8388608);
        assert_string_equal(id.memlock_note, "no CAP_SYS_RESOURCE");
        run_as_done(&id);
        value_free(plan);

        plan = parse_ok(&set, "{ runAs = { switch = false; user = \"alice\"; uid = 1000; group "
                              "= \"alice\"; gid = 1000; reason = \"not started as root\"; "
                              "memlock = null; memlockNote = null; }; }");
        ownership_from_plan(plan, &id);
        assert_false(id.set_memlock);
        run_as_done(&id);
        value_free(plan);
        source_set_free(&set);
}

static struct run_as test_identity(bool switch_ids)
{
        return (struct run_as){ .switch_ids = switch_ids,
                                .uid = TEST_UID,
                                .gid = TEST_GID,
                                .user = "microvm",
                                .group = "kvm" };
}

static void give_changes_owner_only_when_switching(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        char *dir = scratch_dir_new();
        _cleanup_free_ char *file = xasprintf("%s/var.img", dir);
        close(open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        struct run_as keep = test_identity(false), change = test_identity(true);
        struct stat st;

        assert_int_equal(ownership_give(&keep, file, NULL), 0);
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(ownership_give(&change, file, NULL), 0);
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_uid, TEST_UID);
        assert_int_equal(st.st_gid, TEST_GID);
        scratch_dir_remove(dir);
}

static int bind_socket(const char *path)
{
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        assert_true(strlen(path) < sizeof(a.sun_path));
        memcpy(a.sun_path, path, strlen(path) + 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(fd, 1), 0);
        return fd;
}

static void shared_socket_is_0660(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        _cleanup_free_ char *path = xasprintf("%s/s.sock", dir);
        _cleanup_close_ int fd = bind_socket(path);
        assert_true(fd >= 0);
        bool root = geteuid() == 0;
        struct stat st;

        assert_int_equal(ownership_share_socket(path, (uid_t)-1, root ? TEST_GID : (gid_t)-1, NULL),
                         0);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0660);
        if (root)
                assert_int_equal(st.st_gid, TEST_GID);
        scratch_dir_remove(dir);
}

/* The hypervisor made its socket as microvm: it becomes 0660 root:kvm. */
static void control_socket_is_secured_once_it_appears(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        char *dir = scratch_dir_new();
        _cleanup_free_ char *path = xasprintf("%s/vm.sock", dir);
        _cleanup_close_ int fd = bind_socket(path);
        assert_true(fd >= 0);
        assert_int_equal(chown(path, TEST_UID, TEST_UID), 0);
        struct run_as id = test_identity(true);
        struct pidref none = PIDREF_NULL;
        struct stat st;

        ownership_secure_control_socket(&id, path, &none, 5);
        assert_int_equal(lstat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0660);
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(st.st_gid, TEST_GID);

        /* A socket that never comes, or a hypervisor that ended: no wait beyond either. */
        _cleanup_free_ char *absent = xasprintf("%s/absent.sock", dir);
        ownership_secure_control_socket(&id, absent, &none, 0);
        char *argv[] = { "/bin/true", NULL };
        struct pidref ended = PIDREF_NULL;
        assert_int_equal(spawn_process(&SPAWN_OPTIONS(argv), &ended, NULL), 0);
        ownership_secure_control_socket(&id, absent, &ended, 3600);
        assert_int_equal(pidref_wait(&ended, NULL, NULL), 0);
        scratch_dir_remove(dir);
}

/* A plan with one existing volume, var.img in `dir`. */
static struct value *check_plan(struct source_set *set, const char *dir)
{
        _cleanup_free_ char *text = xasprintf(
                "{ workingDirectory = \"%s\"; hypervisor = \"qemu\"; command.argv = [ "
                "\"qemu\" ]; interfaces = [ ]; volumes = [ { image = \"%s/var.img\"; exists "
                "= true; readOnly = false; } ]; }",
                dir, dir);
        return parse_ok(set, text);
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
        struct source_set set = { 0 };
        struct value *plan = check_plan(&set, dir);
        _cleanup_free_ char *guest_text =
                xasprintf("{ microvm.kernel = \"%s\"; microvm.initrdPath = null; }", kernel);
        struct value *guest = parse_ok(&set, guest_text);
        struct run_as id = test_identity(true);
        struct mv_error *err = NULL;

        assert_int_equal(ownership_check(&id, plan, guest, &err), -EACCES);
        _cleanup_free_ char *want = xasprintf("the hypervisor runs as microvm:kvm and cannot read "
                                              "microvm.kernel %s: Permission denied",
                                              kernel);
        assert_string_equal(err->msg, want);
        mv_error_free(&err);

        chmod(kernel, 0644);
        assert_int_equal(ownership_check(&id, plan, guest, &err), -EACCES);
        assert_non_null(strstr(err->msg, "cannot read and write volume"));
        assert_non_null(strstr(err->hint, "chown microvm:kvm"));
        mv_error_free(&err);

        assert_int_equal(ownership_give(&id, image, NULL), 0);
        assert_int_equal(ownership_check(&id, plan, guest, &err), 0);

        /* Without a switch there is nothing to check. */
        chmod(kernel, 0600);
        struct run_as keep = test_identity(false);
        assert_int_equal(ownership_check(&keep, plan, guest, &err), 0);

        value_free(plan);
        value_free(guest);
        source_set_free(&set);
        scratch_dir_remove(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(run_as_comes_from_the_plan),
                cmocka_unit_test(give_changes_owner_only_when_switching),
                cmocka_unit_test(shared_socket_is_0660),
                cmocka_unit_test(control_socket_is_secured_once_it_appears),
                cmocka_unit_test(check_names_what_cannot_be_opened),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
