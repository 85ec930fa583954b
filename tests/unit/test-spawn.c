#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Run argv with stdout captured; returns the exit code and the output in `out`. */
static int run_capture(char *const *argv, char *const *envp, char **out)
{
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.envp = envp;
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
 * A helper with a parent-death signal dies with the process that started
 * it. An intermediate process spawns `sleep` and exits; the sleep must go.
 */
static void pdeath_signal_kills_orphan(void **state)
{
        (void)state;
        int p[2];
        assert_int_equal(pipe(p), 0);

        pid_t mid = fork();
        assert_true(mid >= 0);
        if (mid == 0) {
                char *argv[] = { "/bin/sleep", "60", NULL };
                struct spawn_options o = SPAWN_OPTIONS(argv);
                struct pidref child = PIDREF_NULL;
                o.pdeath_signal = SIGKILL;
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
                cmocka_unit_test(find_program_searches_path),
                cmocka_unit_test(find_program_reports_missing),
                cmocka_unit_test(find_program_checks_explicit_paths),
                cmocka_unit_test(wait_status_conversion),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
