#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "host/privileges.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Run with stdout captured; returns the exit code and the output in `out`. */
static int run_capture_opts(struct spawn_options o, char **out)
{
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        o.stdout_fd = p[1];
        o.stdin_fd = SPAWN_FD_NULL;

        struct pidref child = PIDREF_NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(spawn_process(&o, &child, &err), 0);
        close(p[1]);

        size_t cap = 4096, n = 0;
        char *buf = xmalloc(cap);
        ssize_t got;
        while ((got = read(p[0], buf + n, cap - n - 1)) > 0) {
                n += (size_t)got;
                if (n + 1 >= cap)
                        buf = xrealloc(buf, cap *= 2);
        }
        buf[n] = '\0';
        close(p[0]);
        *out = buf;

        int status;
        assert_int_equal(pidref_wait(&child, &status, &err), 0);
        return wait_status_to_exit_code(status);
}

static int run_capture(char *const *argv, char *const *envp, char **out)
{
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.envp = envp;
        return run_capture_opts(o, out);
}

/* argv0 is what the program sees as its name; the path run stays argv[0] of the options. */
static void argv0_names_the_program_as_exec_a_does(void **state)
{
        (void)state;
        char *argv[] = { "/bin/sh", "-c", "[ \"$0\" = microvm@web ]", NULL };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        int code = -1;
        assert_int_equal(spawn_and_wait(&o, &code, NULL), 0);
        assert_int_equal(code, 1);
        o.argv0 = "microvm@web";
        assert_int_equal(spawn_and_wait(&o, &code, NULL), 0);
        assert_int_equal(code, 0);
        assert_string_equal(argv[0], "/bin/sh");
}

static void exit_codes_are_reported(void **state)
{
        (void)state;
        char *t[] = { "/bin/true", NULL };
        char *f[] = { "/bin/sh", "-c", "exit 3", NULL };
        int code = -1;

        assert_int_equal(spawn_and_wait(&SPAWN_OPTIONS(t), &code, NULL), 0);
        assert_int_equal(code, 0);
        assert_int_equal(spawn_and_wait(&SPAWN_OPTIONS(f), &code, NULL), 0);
        assert_int_equal(code, 3);
}

static void missing_program_fails_at_spawn(void **state)
{
        (void)state;
        char *argv[] = { "/nonexistent/qemu", NULL };
        struct pidref child = PIDREF_NULL;
        _cleanup_error_ struct mv_error *err = NULL;

        assert_int_equal(spawn_process(&SPAWN_OPTIONS(argv), &child, &err), -ENOENT);
        assert_false(pidref_is_set(&child));
        assert_string_equal(err->msg, "execute /nonexistent/qemu: No such file or directory");
}

static void bad_cwd_fails_at_spawn(void **state)
{
        (void)state;
        char *argv[] = { "/bin/true", NULL };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        struct pidref child = PIDREF_NULL;
        _cleanup_error_ struct mv_error *err = NULL;

        o.cwd = "/nonexistent-dir";
        assert_int_equal(spawn_process(&o, &child, &err), -ENOENT);
        assert_non_null(strstr(err->msg, "change directory"));
}

static void empty_argv_is_rejected(void **state)
{
        (void)state;
        char *argv[] = { NULL };
        struct pidref child = PIDREF_NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(spawn_process(&SPAWN_OPTIONS(argv), &child, &err), -EINVAL);
}

static void stdout_is_redirected(void **state)
{
        (void)state;
        char *argv[] = { "/bin/echo", "hello", "world", NULL };
        _cleanup_free_ char *out = NULL;
        assert_int_equal(run_capture(argv, NULL, &out), 0);
        assert_string_equal(out, "hello world\n");
}

/* Arguments reach the program verbatim: no shell ever sees them. */
static void arguments_are_not_interpreted(void **state)
{
        (void)state;
        char *argv[] = { "/usr/bin/printf", "%s|", "$(id)", "a b", ";rm -rf /", "'\"", NULL };
        _cleanup_free_ char *out = NULL;
        assert_int_equal(run_capture(argv, NULL, &out), 0);
        assert_string_equal(out, "$(id)|a b|;rm -rf /|'\"|");
}

static void environment_is_exactly_envp(void **state)
{
        (void)state;
        char *argv[] = { "/usr/bin/env", NULL };
        char *envp[] = { "id=vm-tap0", "B=2", NULL };
        _cleanup_free_ char *out = NULL;
        assert_int_equal(run_capture(argv, envp, &out), 0);
        assert_string_equal(out, "id=vm-tap0\nB=2\n");
}

/* Read what a pipe holds once its writers are gone. */
static char *drain(int fd)
{
        char buf[256];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        assert_true(n >= 0);
        buf[n] = '\0';
        close(fd);
        return xstrdup(buf);
}

/*
 * The sources sit on 4 and 3 and are passed the other way round, so each
 * lands on the other's number: nothing may be overwritten before it is
 * copied. Nothing beyond the passed descriptors reaches the child.
 */
static void descriptors_are_passed_as_3_and_up(void **state)
{
        (void)state;
        if (fcntl(3, F_GETFD) >= 0 || fcntl(4, F_GETFD) >= 0)
                skip(); /* the test process uses them: the crossed case cannot be set up */
        int a[2], b[2];
        assert_int_equal(pipe2(a, O_CLOEXEC), 0);
        assert_int_equal(pipe2(b, O_CLOEXEC), 0);
        /* Read ends out of the way, write ends onto exactly 3 (a) and 4 (b). */
        int ra = fcntl(a[0], F_DUPFD_CLOEXEC, 10), rb = fcntl(b[0], F_DUPFD_CLOEXEC, 10);
        int wa = fcntl(a[1], F_DUPFD_CLOEXEC, 10), wb = fcntl(b[1], F_DUPFD_CLOEXEC, 10);
        for (int i = 0; i < 2; i++) {
                close(a[i]);
                close(b[i]);
        }
        assert_int_equal(dup3(wa, 3, O_CLOEXEC), 3);
        assert_int_equal(dup3(wb, 4, O_CLOEXEC), 4);
        close(wa);
        close(wb);

        char *argv[] = { "/bin/sh", "-c",
                         "echo to-3 >&3; echo to-4 >&4; [ -e /proc/$$/fd/5 ] && echo 5-open >&3; "
                         "exit 0",
                         NULL };
        const int pass[] = { 4, 3 };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.pass_fds = pass;
        o.n_pass_fds = 2;
        int code = -1;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(spawn_and_wait(&o, &code, &err), 0);
        assert_int_equal(code, 0);
        close(3);
        close(4);
        _cleanup_free_ char *got_a = drain(ra);
        _cleanup_free_ char *got_b = drain(rb);
        /* a's write end was on 3 and went to 4; b's went from 4 to 3. */
        assert_string_equal(got_a, "to-4\n");
        assert_string_equal(got_b, "to-3\n");
}

static void stdin_null_reads_eof(void **state)
{
        (void)state;
        char *argv[] = { "/bin/cat", NULL };
        _cleanup_free_ char *out = NULL;
        assert_int_equal(run_capture(argv, NULL, &out), 0);
        assert_string_equal(out, "");
}

/* A descriptor the caller forgot to mark O_CLOEXEC must not reach the child. */
static void descriptors_do_not_leak(void **state)
{
        (void)state;
        int leaky = dup2(STDERR_FILENO, 50); /* deliberately without O_CLOEXEC */
        assert_int_equal(leaky, 50);
        char *argv[] = { "/bin/sh", "-c",
                         "for fd in 1 50; do [ -e /proc/$$/fd/$fd ] && echo \"$fd open\" ||"
                         " echo \"$fd closed\"; done",
                         NULL };
        _cleanup_free_ char *out = NULL;
        assert_int_equal(run_capture(argv, NULL, &out), 0);
        close(leaky);
        assert_string_equal(out, "1 open\n50 closed\n");
}

/* A blocked signal in the caller must not stay blocked in the child. */
static void signal_mask_is_reset(void **state)
{
        (void)state;
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, &old);

        char *argv[] = { "/bin/sh", "-c", "kill -TERM $$; exit 0", NULL };
        int code = -1;
        assert_int_equal(spawn_and_wait(&SPAWN_OPTIONS(argv), &code, NULL), 0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        assert_int_equal(code, 128 + SIGTERM);
}

/* An ignored signal in the caller is back to its default in the child. */
static void ignored_signals_are_reset(void **state)
{
        (void)state;
        struct sigaction ign = { .sa_handler = SIG_IGN }, old;
        sigaction(SIGINT, &ign, &old);

        char *argv[] = { "/bin/sh", "-c", "kill -INT $$; exit 0", NULL };
        int code = -1;
        assert_int_equal(spawn_and_wait(&SPAWN_OPTIONS(argv), &code, NULL), 0);
        sigaction(SIGINT, &old, NULL);
        /* dash ignores SIGINT only when interactive; default action kills it. */
        assert_int_equal(code, 128 + SIGINT);
}

/*
 * An intermediate process spawns `sleep` with SIGKILL as its parent-death
 * signal (and `creds`, if any) and exits without reaping it: the orphaned
 * sleep must die.
 */
static void assert_orphan_dies(const struct spawn_credentials *creds)
{
        int p[2];
        assert_int_equal(pipe(p), 0);

        pid_t mid = fork();
        assert_true(mid >= 0);
        if (mid == 0) {
                char *argv[] = { "/bin/sleep", "60", NULL };
                struct spawn_options o = SPAWN_OPTIONS(argv);
                struct pidref child = PIDREF_NULL;
                o.pdeath_signal = SIGKILL;
                o.credentials = creds;
                if (spawn_process(&o, &child, NULL) < 0)
                        _exit(1);
                (void)!write(p[1], &child.pid, sizeof(child.pid));
                _exit(0); /* without reaping: the sleep is orphaned */
        }
        close(p[1]);
        pid_t orphan = 0;
        assert_int_equal(read(p[0], &orphan, sizeof(orphan)), sizeof(orphan));
        close(p[0]);

        int fd = (int)syscall(SYS_pidfd_open, orphan, 0);
        waitpid(mid, NULL, 0);
        if (fd < 0) {
                /* Already gone and reaped by init: it died, which is the point. */
                assert_int_equal(errno, ESRCH);
                return;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        /* Bounded wait for a hang, not a speed check: the kill is immediate. */
        assert_int_equal(poll(&pfd, 1, 20000), 1);
        close(fd);
}

/* A helper with a parent-death signal dies with the process that started it. */
static void pdeath_signal_kills_orphan(void **state)
{
        (void)state;
        assert_orphan_dies(NULL);
}

static void collect_gathers_stdout_and_stderr(void **state)
{
        (void)state;
        char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL };
        _cleanup_free_ char *out = NULL;
        int code = -1;
        assert_int_equal(spawn_collect_timeout(argv, 60000, &code, &out, NULL), 0);
        assert_string_equal(out, "out\nerr\n");
        assert_int_equal(code, 3);
}

/* A program that outlives the timeout is killed, whatever it printed before. */
static void collect_timeout_kills_the_program(void **state)
{
        (void)state;
        char *argv[] = { "/bin/sh", "-c", "echo partial; exec sleep 1000", NULL };
        char *out = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(spawn_collect_timeout(argv, 200, NULL, &out, &err), -ETIMEDOUT);
        assert_null(out);
        assert_non_null(strstr(err->msg, "/bin/sh did not finish within 200 ms"));
        mv_error_free(&err);
        char *silent[] = { "/bin/sleep", "1000", NULL };
        assert_int_equal(spawn_collect_timeout(silent, 0, NULL, &out, &err), -ETIMEDOUT);
        /* The killed programs were reaped: no child of ours is left. */
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

/* Ids no account has: the kernel does not care whether a name exists. */
#define TEST_UID 4242
#define TEST_GID 4243

/* The lines of `file` that match `pattern` (grep -E), as the child run with `base` reads it. */
static char *child_grep(const struct spawn_options *base, const char *pattern, const char *file)
{
        char *argv[] = { "/bin/grep", "-E", (char *)pattern, (char *)file, NULL };
        struct spawn_options o = *base;
        o.argv = argv;
        o.stdin_fd = SPAWN_FD_NULL;
        char *out = NULL;
        assert_int_equal(run_capture_opts(o, &out), 0);
        return out;
}

/* The lines of /proc/self/status (the child's own) that start with `key`. */
static char *child_status_line(const struct spawn_options *base, const char *key)
{
        return child_grep(base, key, "/proc/self/status");
}

static void credentials_switch_user_and_group(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        char *argv[] = { NULL };
        struct spawn_credentials c = { .uid = TEST_UID, .gid = TEST_GID, .drop_groups = true };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.credentials = &c;

        _cleanup_free_ char *uid = child_status_line(&o, "^Uid:");
        _cleanup_free_ char *gid = child_status_line(&o, "^Gid:");
        _cleanup_free_ char *groups = child_status_line(&o, "^Groups:");
        /* real, effective, saved, filesystem: all of them. */
        assert_string_equal(uid, "Uid:\t4242\t4242\t4242\t4242\n");
        assert_string_equal(gid, "Gid:\t4243\t4243\t4243\t4243\n");
        assert_string_equal(groups, "Groups:\t4243 \n");
}

/* Without drop_groups the caller's supplementary groups stay: dropping them is a choice. */
static void credentials_keep_groups_unless_asked(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        gid_t mine[] = { 4300, 4301 }, old[64];
        int n_old = getgroups(64, old);
        assert_true(n_old >= 0);
        assert_int_equal(setgroups(2, mine), 0);

        char *argv[] = { NULL };
        struct spawn_credentials c = { .uid = TEST_UID, .gid = TEST_GID };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.credentials = &c;
        _cleanup_free_ char *kept = child_status_line(&o, "^Groups:");
        c.drop_groups = true;
        _cleanup_free_ char *dropped = child_status_line(&o, "^Groups:");
        assert_int_equal(setgroups((size_t)n_old, old), 0);

        assert_string_equal(kept, "Groups:\t4300 4301 \n");
        assert_string_equal(dropped, "Groups:\t4243 \n");
}

/* The child's RLIMIT_MEMLOCK as /proc/self/limits shows it. */
static char *child_memlock(const struct spawn_options *base)
{
        return child_grep(base, "^Max locked memory", "/proc/self/limits");
}

/* Any process may lower its limits: the value reaches the child. */
static void memlock_reaches_the_child(void **state)
{
        (void)state;
        char *argv[] = { NULL };
        struct rlimit low = { 65536, 65536 };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.memlock = &low;
        _cleanup_free_ char *out = child_memlock(&o);
        assert_string_equal(out,
                            "Max locked memory         65536                65536                "
                            "bytes     \n");
}

/*
 * Raising a hard limit needs CAP_SYS_RESOURCE, which the child has only
 * before the switch: infinity after it proves the order. Machines whose
 * root lacks the capability (some containers) cannot show it.
 */
static void memlock_is_raised_before_the_switch(void **state)
{
        (void)state;
        if (geteuid() != 0 || !capability_effective(CAP_SYS_RESOURCE))
                skip();
        char *argv[] = { NULL };
        struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY };
        struct spawn_credentials c = { .uid = TEST_UID, .gid = TEST_GID, .drop_groups = true };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.credentials = &c;
        o.memlock = &inf;
        _cleanup_free_ char *out = child_memlock(&o);
        assert_non_null(strstr(out, "unlimited            unlimited            bytes"));
}

/* A lower open-file limit reaches the child, whatever its own credentials. */
static void nofile_reaches_the_child(void **state)
{
        (void)state;
        char *argv[] = { NULL };
        struct rlimit low = { 100, 200 };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.nofile = &low;
        _cleanup_free_ char *out = child_grep(&o, "^Max open files", "/proc/self/limits");
        assert_string_equal(out,
                            "Max open files            100                  200                  "
                            "files     \n");
}

/* A failed step is an error of the spawn, reported through the exec-failure pipe. */
static void failed_memlock_fails_the_spawn(void **state)
{
        (void)state;
        char *argv[] = { "/bin/true", NULL };
        struct rlimit bad = { .rlim_cur = 2048, .rlim_max = 1024 }; /* soft above hard */
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.memlock = &bad;
        struct pidref child = PIDREF_NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(spawn_process(&o, &child, &err), -EINVAL);
        assert_false(pidref_is_set(&child));
        assert_string_equal(err->msg,
                            "set the locked-memory limit for /bin/true: Invalid argument");
}

/* 0 if a spawn that switches group fails with the expected error, else 1. */
static int switch_fails_without_privileges(void)
{
        char *argv[] = { "/bin/true", NULL };
        gid_t other = getegid() + 1;
        struct spawn_credentials c = { .uid = (uid_t)-1, .gid = other };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.credentials = &c;
        struct pidref child = PIDREF_NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        if (spawn_process(&o, &child, &err) != -EPERM)
                return 1;
        _cleanup_free_ char *want = xasprintf(
                "switch group to %u for /bin/true: Operation not permitted", (unsigned)other);
        return strcmp(err->msg, want) == 0 ? 0 : 1;
}

static void failed_switch_fails_the_spawn(void **state)
{
        (void)state;
        if (geteuid() != 0) {
                assert_int_equal(switch_fails_without_privileges(), 0);
                return;
        }
        /* Root may switch to anyone: give root up first, in a process of its own. */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setresgid(TEST_GID, TEST_GID, TEST_GID) < 0 ||
                    setresuid(TEST_UID, TEST_UID, TEST_UID) < 0)
                        _exit(2);
                _exit(switch_fails_without_privileges());
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(wait_status_to_exit_code(status), 0);
}

/*
 * The kernel clears the parent-death signal when credentials change, so it
 * must be set after the switch: an orphaned child that switched still dies.
 */
static void pdeath_signal_survives_the_switch(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        struct spawn_credentials c = { .uid = TEST_UID, .gid = TEST_GID, .drop_groups = true };
        assert_orphan_dies(&c);
}

static void find_program_searches_path(void **state)
{
        (void)state;
        _cleanup_free_ char *path = NULL;
        _cleanup_error_ struct mv_error *err = NULL;

        setenv("PATH", "/nonexistent:/bin:/usr/bin", 1);
        assert_int_equal(find_program("sh", &path, &err), 0);
        assert_string_equal(path, "/bin/sh");
}

static void find_program_reports_missing(void **state)
{
        (void)state;
        char *path = NULL;
        _cleanup_error_ struct mv_error *err = NULL;

        assert_int_equal(find_program("no-such-hypervisor", &path, &err), -ENOENT);
        assert_null(path);
        assert_non_null(strstr(err->msg, "no-such-hypervisor not found"));
        assert_non_null(err->hint);
}

static void find_program_checks_explicit_paths(void **state)
{
        (void)state;
        char *path = NULL;
        _cleanup_error_ struct mv_error *e1 = NULL, *e2 = NULL, *e3 = NULL;

        assert_int_equal(find_program("/etc/hostname-does-not-exist", &path, &e1), -ENOENT);
        assert_true(find_program("/etc", &path, &e2) < 0);
        assert_non_null(strstr(e2->msg, "not a regular file"));
        if (geteuid() != 0) /* root may execute anything with an x bit; /etc/passwd has none */
                assert_int_equal(find_program("/etc/passwd", &path, &e3), -EACCES);
        else
                assert_true(find_program("/etc/passwd", &path, &e3) < 0);
}

static void wait_status_conversion(void **state)
{
        (void)state;
        assert_int_equal(wait_status_to_exit_code(0), 0);
        assert_int_equal(wait_status_to_exit_code(7 << 8), 7);
        assert_int_equal(wait_status_to_exit_code(SIGKILL), 128 + SIGKILL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(exit_codes_are_reported),
                cmocka_unit_test(argv0_names_the_program_as_exec_a_does),
                cmocka_unit_test(missing_program_fails_at_spawn),
                cmocka_unit_test(bad_cwd_fails_at_spawn),
                cmocka_unit_test(empty_argv_is_rejected),
                cmocka_unit_test(stdout_is_redirected),
                cmocka_unit_test(arguments_are_not_interpreted),
                cmocka_unit_test(environment_is_exactly_envp),
                cmocka_unit_test(stdin_null_reads_eof),
                cmocka_unit_test(descriptors_do_not_leak),
                cmocka_unit_test(descriptors_are_passed_as_3_and_up),
                cmocka_unit_test(signal_mask_is_reset),
                cmocka_unit_test(ignored_signals_are_reset),
                cmocka_unit_test(pdeath_signal_kills_orphan),
                cmocka_unit_test(collect_gathers_stdout_and_stderr),
                cmocka_unit_test(collect_timeout_kills_the_program),
                cmocka_unit_test(credentials_switch_user_and_group),
                cmocka_unit_test(credentials_keep_groups_unless_asked),
                cmocka_unit_test(memlock_reaches_the_child),
                cmocka_unit_test(nofile_reaches_the_child),
                cmocka_unit_test(memlock_is_raised_before_the_switch),
                cmocka_unit_test(failed_memlock_fails_the_spawn),
                cmocka_unit_test(failed_switch_fails_the_spawn),
                cmocka_unit_test(pdeath_signal_survives_the_switch),
                cmocka_unit_test(find_program_searches_path),
                cmocka_unit_test(find_program_reports_missing),
                cmocka_unit_test(find_program_checks_explicit_paths),
                cmocka_unit_test(wait_status_conversion),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
