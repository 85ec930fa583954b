#include "test-helpers.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "vm/status.h"

static void states_from_links_and_pidfile(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        _cleanup_free_ char *vm = xasprintf("%s/web", dir);
        _cleanup_free_ char *share = xasprintf("%s/.runners/aaa-web/share/microvm", dir);
        _cleanup_free_ char *hv = xasprintf("%s/hypervisor", share);
        _cleanup_free_ char *cur = xasprintf("%s/current", vm);
        _cleanup_free_ char *boot = xasprintf("%s/booted", vm);
        assert_int_equal(mkdir_p(share, 0755, NULL), 0);
        assert_int_equal(mkdir_p(vm, 0755, NULL), 0);
        FILE *f = fopen(hv, "w");
        fputs("qemu\n", f);
        fclose(f);
        assert_int_equal(symlink("../.runners/aaa-web", cur), 0);

        struct vm_status s;
        vm_status_read(dir, "web", &s);
        assert_int_equal(s.state, VM_NOT_BOOTED);
        assert_string_equal(s.hypervisor, "qemu");
        assert_string_equal(s.current, "aaa-web");
        vm_status_done(&s);

        assert_int_equal(symlink("../.runners/aaa-web", boot), 0);
        vm_status_read(dir, "web", &s);
        assert_int_equal(s.state, VM_BOOTED);
        vm_status_done(&s);

        assert_int_equal(vm_pidfile_write(vm, getpid(), false, NULL), 0);
        vm_status_read(dir, "web", &s);
        assert_int_equal(s.state, VM_RUNNING);
        assert_int_equal(s.pid, getpid());
        vm_status_done(&s);

        /* A dead process's pidfile does not count. */
        pid_t child = fork();
        if (child == 0)
                _exit(0);
        waitpid(child, NULL, 0);
        assert_int_equal(vm_pidfile_write(vm, child, true, NULL), 0);
        vm_status_read(dir, "web", &s);
        assert_int_equal(s.state, VM_BOOTED);
        vm_status_done(&s);
        vm_pidfile_remove(vm);
        assert_string_equal(vm_state_to_string(VM_RUNNING), "running");
        scratch_dir_remove(dir);
}

static void start_time_of_processes(void **state)
{
        (void)state;
        assert_true(proc_start_time(getpid()) > 0);
        assert_int_equal(proc_start_time(999999999), 0);
}

static void restart_record_round_trip(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        struct vm_restarts rs;
        assert_int_equal(vm_restarts_read(dir, &rs), -ENOENT);
        struct vm_restarts w = {
                .runs_ended = 3, .restarts = 2, .last_exit = 137, .delay_s = 20, .fast_failures = 3
        };
        assert_int_equal(vm_restarts_write(dir, &w, NULL), 0);
        assert_int_equal(vm_restarts_read(dir, &rs), 0);
        assert_memory_equal(&rs, &w, sizeof(w));
        /* A torn or foreign file reads as no record, never as half of one. */
        _cleanup_free_ char *path = xasprintf("%s/restarts", dir);
        FILE *f = fopen(path, "w");
        fputs("3 2 x\n", f);
        fclose(f);
        assert_int_equal(vm_restarts_read(dir, &rs), -EINVAL);
        assert_int_equal(rs.runs_ended, 0);
        scratch_dir_remove(dir);
}

static void pidfile_removed_only_by_its_owner(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        _cleanup_free_ char *path = xasprintf("%s/pid", dir);
        assert_int_equal(vm_pidfile_write(dir, getpid(), false, NULL), 0);
        vm_pidfile_remove_own(dir, getpid() + 1);
        assert_int_equal(access(path, F_OK), 0);
        vm_pidfile_remove_own(dir, getpid());
        assert_int_equal(access(path, F_OK), -1);
        scratch_dir_remove(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(states_from_links_and_pidfile),
                cmocka_unit_test(start_time_of_processes),
                cmocka_unit_test(restart_record_round_trip),
                cmocka_unit_test(pidfile_removed_only_by_its_owner),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
