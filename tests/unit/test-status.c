#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/lockfile.h"
#include "util/xalloc.h"
#include "vm/records.h"
#include "vm/status.h"

#define RUNNER "0123456789abcdef0123456789abcdef-web"

/* A child that takes the VM's lock and waits; killed, it stays a zombie until reaped. */
static pid_t hold_lock(const char *records)
{
        int ready[2];
        assert_int_equal(pipe(ready), 0);
        pid_t child = fork();
        if (child == 0) {
                int dir = open(records, O_RDONLY | O_DIRECTORY);
                if (dir < 0 || lockfile_take(dir, "lock", false, NULL) < 0)
                        _exit(1);
                (void)!write(ready[1], "x", 1);
                pause();
                _exit(0);
        }
        char c;
        close(ready[1]);
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        return child;
}

static void states_from_records_and_the_lock(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        chmod(dir, 0755);
        _cleanup_free_ char *share = xasprintf("%s/.runners/" RUNNER "/share/microvm", dir);
        _cleanup_free_ char *hv = xasprintf("%s/hypervisor", share);
        assert_int_equal(mkdir_p(share, 0755, NULL), 0);
        assert_int_equal(write_file_atomic(hv, "qemu\n", 5, 0644, NULL), 0);
        assert_int_equal(records_set_runner(dir, "web", "current", RUNNER, NULL, NULL), 0);
        _cleanup_free_ char *records = records_path(dir, "web", NULL);

        struct vm_status s;
        vm_status_read(dir, "web", &s);
        assert_int_equal(s.state, VM_NOT_BOOTED);
        assert_string_equal(s.hypervisor, "qemu");
        assert_string_equal(s.current, RUNNER);
        vm_status_done(&s);

        assert_int_equal(records_set_runner(dir, "web", "booted", RUNNER, NULL, NULL), 0);
        vm_status_read(dir, "web", &s);
        assert_int_equal(s.state, VM_BOOTED);
        vm_status_done(&s);

        /* Running means the lock is held; the pid file only names the holder. */
        pid_t child = hold_lock(records);
        assert_int_equal(vm_pidfile_write(records, child, VM_OWNER_MONITOR, NULL), 0);
        vm_status_read(dir, "web", &s);
        assert_int_equal(s.state, VM_RUNNING);
        assert_int_equal(s.pid, child);
        assert_int_equal(s.owner, VM_OWNER_MONITOR);
        assert_false(s.foreground);
        assert_true(s.since > 0);
        vm_status_done(&s);

        /* A systemd unit's run is no foreground run: apply restarts it as a monitor's. */
        assert_int_equal(vm_pidfile_write(records, child, VM_OWNER_UNIT, NULL), 0);
        vm_status_read(dir, "web", &s);
        assert_int_equal(s.owner, VM_OWNER_UNIT);
        assert_false(s.foreground);
        assert_string_equal(vm_owner_to_string(s.owner), "systemd-unit");
        vm_status_done(&s);

        /* Killed, not yet reaped: a zombie holds no lock, so the VM is not running. */
        kill(child, SIGKILL);
        siginfo_t info;
        assert_int_equal(waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT), 0);
        vm_status_read(dir, "web", &s);
        assert_int_equal(s.state, VM_BOOTED);
        assert_int_equal(s.pid, 0);
        vm_status_done(&s);
        waitpid(child, NULL, 0);

        /* A pid file without the lock is only a leftover. */
        assert_int_equal(vm_pidfile_write(records, getpid(), VM_OWNER_RUN, NULL), 0);
        vm_status_read(dir, "web", &s);
        assert_int_equal(s.state, VM_BOOTED);
        vm_status_done(&s);
        assert_string_equal(vm_state_to_string(VM_RUNNING), "running");
        scratch_dir_remove(dir);
}

/* The pid file as each owner writes it, and as records written before "unit" read. */
static void owner_kinds_of_pid_files(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        assert_int_equal(records_set_runner(dir, "web", "current", RUNNER, NULL, NULL), 0);
        _cleanup_free_ char *records = records_path(dir, "web", NULL);
        _cleanup_free_ char *path = xasprintf("%s/pid", records);
        pid_t child = hold_lock(records);
        static const struct {
                const char *kind;
                enum vm_owner owner;
                const char *shown;
        } cases[] = {
                { "monitor", VM_OWNER_MONITOR, "monitor" },
                { "run", VM_OWNER_RUN, "foreground" },
                { "unit", VM_OWNER_UNIT, "systemd-unit" },
                { "", VM_OWNER_RUN, "foreground" },         /* no kind: as read before */
                { "tomorrow", VM_OWNER_RUN, "foreground" }, /* a word unknown here */
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *text = xasprintf("%d %llu %s\n", (int)child,
                                                      proc_start_time(child), cases[i].kind);
                assert_int_equal(write_file_atomic(path, text, strlen(text), 0644, NULL), 0);
                struct vm_status s;
                vm_status_read(dir, "web", &s);
                assert_int_equal(s.pid, child);
                assert_int_equal(s.owner, cases[i].owner);
                assert_string_equal(vm_owner_to_string(s.owner), cases[i].shown);
                assert_int_equal(s.foreground, cases[i].owner == VM_OWNER_RUN);
                vm_status_done(&s);
        }
        /* Not running: nobody owns it, whatever a leftover pid file says. */
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        struct vm_status s;
        vm_status_read(dir, "web", &s);
        assert_int_equal(s.owner, VM_OWNER_UNKNOWN);
        assert_null(vm_owner_to_string(s.owner));
        vm_status_done(&s);
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
        assert_int_equal(vm_pidfile_write(dir, getpid(), VM_OWNER_RUN, NULL), 0);
        vm_pidfile_remove_own(dir, getpid() + 1);
        assert_int_equal(access(path, F_OK), 0);
        vm_pidfile_remove_own(dir, getpid());
        assert_int_equal(access(path, F_OK), -1);
        scratch_dir_remove(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(states_from_records_and_the_lock),
                cmocka_unit_test(owner_kinds_of_pid_files),
                cmocka_unit_test(start_time_of_processes),
                cmocka_unit_test(restart_record_round_trip),
                cmocka_unit_test(pidfile_removed_only_by_its_owner),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
