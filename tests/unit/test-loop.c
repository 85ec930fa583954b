/* The monitor's event loop: reaping, waiting with deadlines, stop requests. */
#include "test-helpers.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>

#include "monitor/loop.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/spawn.h"

static int setup(void **state)
{
        struct loop *l = calloc(1, sizeof(*l));
        assert_int_equal(loop_init(l, NULL), 0);
        *state = l;
        return 0;
}

static int teardown(void **state)
{
        loop_done(*state);
        free(*state);
        return 0;
}

static struct loop_child start(char *const *argv)
{
        struct loop_child c = { 0 };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.stdin_fd = SPAWN_FD_NULL;
        assert_int_equal(spawn_process(&o, &c.ref, NULL), 0);
        return c;
}

/* A tracked child's status is kept; an orphan the loop inherits is reaped too. */
static void reaps_tracked_children_and_orphans(void **state)
{
        struct loop *l = *state;
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        /* The shell exits at once; its background sleep is orphaned onto us and ends later. */
        char *argv[] = { "/bin/sh", "-c", "sleep 0.2 & exit 3", NULL };
        struct loop_child c = start(argv);
        loop_track(l, &c);
        assert_int_equal(loop_wait_child(l, &c, loop_deadline_in(10000), false), 0);
        assert_true(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 3);
        assert_false(pidref_is_set(&c.ref)); /* a reaped pid is never signalled */
        loop_untrack(l, &c);
        int64_t end = monotonic_ms() + 10000;
        while (l->orphans_reaped == 0 && monotonic_ms() < end)
                loop_iterate(l, 100);
        assert_int_equal(l->orphans_reaped, 1);
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* no zombie left */
        prctl(PR_SET_CHILD_SUBREAPER, 0);
}

static bool never(void *data)
{
        (void)data;
        return false;
}

static void deadlines_and_stop_requests(void **state)
{
        struct loop *l = *state;
        int64_t begin = monotonic_ms();
        assert_int_equal(loop_wait(l, never, NULL, loop_deadline_in(50), true, -1), -ETIMEDOUT);
        assert_true(monotonic_ms() - begin >= 50);
        /* A signal asks for a stop; a cancellable wait ends, the next one is urgent. */
        kill(getpid(), SIGTERM);
        assert_int_equal(loop_wait(l, never, NULL, loop_deadline_in(10000), true, -1), -ECANCELED);
        assert_true(loop_stopping(l));
        assert_int_equal(l->stop_requests, 1);
        /* Not cancellable: only the deadline ends it. */
        assert_int_equal(loop_wait(l, never, NULL, loop_deadline_in(20), false, -1), -ETIMEDOUT);
        /* SIGHUP stops a foreground run, not a monitor. */
        kill(getpid(), SIGHUP);
        loop_iterate(l, 0);
        assert_int_equal(l->stop_requests, 1);
        l->hup_stops = true;
        kill(getpid(), SIGHUP);
        loop_iterate(l, 0);
        assert_int_equal(l->stop_requests, 2);
}

/* A child that ignores SIGTERM is killed after the grace period. */
static void stop_child_escalates(void **state)
{
        struct loop *l = *state;
        char *argv[] = { "/bin/sh", "-c", "trap '' TERM; exec sleep 30", NULL };
        struct loop_child c = start(argv);
        loop_track(l, &c);
        usleep(100 * 1000); /* the trap is set */
        loop_stop_child(l, &c, 200, "the test child");
        assert_true(c.exited);
        assert_true(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGKILL);
        loop_untrack(l, &c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(reaps_tracked_children_and_orphans, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(deadlines_and_stop_requests, setup, teardown),
                cmocka_unit_test_setup_teardown(stop_child_escalates, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
