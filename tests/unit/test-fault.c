/* Kill points: the Nth of a scope kills the process, deterministically. */
#include "test-helpers.h"

#include <signal.h>

#include "util/fault.h"

/* Run `points` kill points of `scope` in a child with MICROVM_TEST_KILL_AT=`spec`. */
static int run_points(const char *spec, const char *scope, int points)
{
        pid_t pid = fork();
        if (pid == 0) {
                setenv("MICROVM_TEST_KILL_AT", spec, 1);
                fault_reset();
                for (int i = 0; i < points; i++)
                        fault_point(scope, "step");
                _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        return status;
}

static void the_nth_point_kills(void **state)
{
        (void)state;
        int st = run_points("apply:3", "apply", 5);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        st = run_points("apply:6", "apply", 5);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        /* Other scopes do not count. */
        st = run_points("monitor:1", "apply", 5);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        /* Nonsense is no kill point at all. */
        st = run_points("apply:x", "apply", 5);
        assert_true(WIFEXITED(st));
        st = run_points("apply:0", "apply", 5);
        assert_true(WIFEXITED(st));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(the_nth_point_kills),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
