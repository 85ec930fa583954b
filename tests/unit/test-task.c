/* Blocking work in a child of the loop, with a deadline. */
#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>

#include "monitor/task.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static int answer(void *data)
{
        return *(int *)data;
}

static int hang(void *data)
{
        (void)data;
        pause();
        return 0;
}

/* Runs in the directory it was given. */
static int in_dir(void *data)
{
        return access(data, F_OK) == 0 ? 0 : 1;
}

/* Reports on descriptor 3; nothing else of the parent's is open. */
static int report(void *data)
{
        (void)data;
        int other_open = fcntl(4, F_GETFD) >= 0;
        return write(3, "seen", 4) == 4 && !other_open && fcntl(3, F_GETFD) == FD_CLOEXEC ? 0 : 1;
}

static void status_deadline_and_cancel(void **state)
{
        (void)state;
        struct loop l;
        assert_int_equal(loop_init(&l, NULL), 0);
        int value = 7, status = -1;
        struct task_options o = { .cwd_fd = -1, .deadline = loop_deadline_in(10000) };
        assert_int_equal(task_run(&l, answer, &value, &o, &status, NULL), 0);
        assert_int_equal(status, 7);

        o.deadline = loop_deadline_in(100);
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(task_run(&l, hang, NULL, &o, &status, &err), -ETIMEDOUT);
        mv_error_free(&err);

        o.deadline = loop_deadline_in(10000);
        o.cancellable = true;
        loop_request_stop(&l);
        assert_int_equal(task_run(&l, hang, NULL, &o, &status, &err), -ECANCELED);
        mv_error_free(&err);

        char *dir = scratch_dir_new();
        _cleanup_free_ char *file = xasprintf("%s/here", dir);
        close(open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        o = (struct task_options){ .cwd_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                                   .deadline = loop_deadline_in(10000) };
        assert_int_equal(task_run(&l, in_dir, "here", &o, &status, NULL), 0);
        assert_int_equal(status, 0);
        close(o.cwd_fd);
        scratch_dir_remove(dir);
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* every task reaped */
        loop_done(&l);
}

static void report_fd_is_descriptor_3(void **state)
{
        (void)state;
        struct loop l;
        assert_int_equal(loop_init(&l, NULL), 0);
        int fds[2], spare[2];
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        assert_int_equal(pipe2(spare, O_CLOEXEC),
                         0); /* descriptors above 3 the child must not keep */
        int status = -1;
        struct task_options o = { .cwd_fd = -1,
                                  .deadline = loop_deadline_in(10000),
                                  .report_fd = spare[1] };
        assert_int_equal(task_run(&l, report, NULL, &o, &status, NULL), 0);
        assert_int_equal(status, 0);
        char buf[8] = { 0 };
        assert_int_equal(read(spare[0], buf, sizeof(buf) - 1), 4);
        assert_string_equal(buf, "seen");
        for (int i = 0; i < 2; i++) {
                close(fds[i]);
                close(spare[i]);
        }
        loop_done(&l);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(status_deadline_and_cancel),
                cmocka_unit_test(report_fd_is_descriptor_3),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
