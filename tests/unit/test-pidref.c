#include "test-helpers.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "util/error.h"
#include "util/pidref.h"
#include "util/spawn.h"

static void start_sleeper(struct pidref *p)
{
        char *argv[] = { "/bin/sleep", "60", NULL };
        assert_int_equal(spawn_process(&SPAWN_OPTIONS(argv), p, NULL), 0);
        assert_true(pidref_is_set(p));
        assert_true(p->fd >= 0);
}

static void kill_through_pidfd(void **state)
{
        (void)state;
        struct pidref p = PIDREF_NULL;
        int status;

        start_sleeper(&p);
        assert_int_equal(pidref_kill(&p, SIGTERM, NULL), 0);
        assert_int_equal(pidref_wait(&p, &status, NULL), 0);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGTERM);
        assert_false(pidref_is_set(&p));
        assert_int_equal(p.fd, -1);
}

static void cleanup_kills_and_reaps(void **state)
{
        (void)state;
        pid_t pid;
        {
                _cleanup_pidref_kill_ struct pidref p = PIDREF_NULL;
                start_sleeper(&p);
                pid = p.pid;
        }
        /* Reaped by the cleanup: no such child remains. */
        assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

static void unset_pidref_errors(void **state)
{
        (void)state;
        struct pidref p = PIDREF_NULL;
        _cleanup_error_ struct mv_error *e1 = NULL, *e2 = NULL;

        assert_false(pidref_is_set(&p));
        assert_int_equal(pidref_kill(&p, SIGTERM, &e1), -ESRCH);
        assert_int_equal(pidref_wait(&p, NULL, &e2), -ECHILD);
        pidref_kill_and_reap(&p); /* harmless */
}

static void exited_process_can_still_be_waited(void **state)
{
        (void)state;
        char *argv[] = { "/bin/sh", "-c", "exit 5", NULL };
        struct pidref p = PIDREF_NULL;
        int status;

        assert_int_equal(spawn_process(&SPAWN_OPTIONS(argv), &p, NULL), 0);
        assert_int_equal(pidref_wait(&p, &status, NULL), 0);
        assert_int_equal(wait_status_to_exit_code(status), 5);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(kill_through_pidfd),
                cmocka_unit_test(cleanup_kills_and_reaps),
                cmocka_unit_test(unset_pidref_errors),
                cmocka_unit_test(exited_process_can_still_be_waited),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
