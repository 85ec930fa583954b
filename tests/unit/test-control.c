/* The control socket: stop waits until the end, wait-ready until ready or failed. */
#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>

#include "monitor/control.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xalloc.h"

struct fixture {
        char *dir;
        int dirfd;
        struct loop loop;
        struct control control;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        f->dir = scratch_dir_new();
        f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(loop_init(&f->loop, NULL), 0);
        _cleanup_free_ char *shown = xasprintf("%s/" CONTROL_SOCKET, f->dir);
        assert_int_equal(control_listen(&f->control, &f->loop, f->dirfd, shown, NULL), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        control_close(&f->control);
        loop_done(&f->loop);
        close(f->dirfd);
        scratch_dir_remove(f->dir);
        free(f);
        return 0;
}

/* A client in a child: it writes the answer it got to `out` (a pipe) and exits. */
static pid_t client(const char *dir, const char *request, int out)
{
        pid_t pid = fork();
        if (pid == 0) {
                char *answer = NULL;
                int r = control_request(dir, request, 10000, &answer, NULL);
                if (r < 0)
                        _exit(1);
                (void)!write(out, answer, strlen(answer));
                _exit(0);
        }
        return pid;
}

/* Serve until the child ends; what it wrote to the pipe. */
static char *serve_until(struct fixture *f, pid_t pid, int in)
{
        int64_t end = monotonic_ms() + 10000;
        int status;
        while (waitpid(pid, &status, WNOHANG) == 0 && monotonic_ms() < end)
                loop_iterate(&f->loop, 10);
        char *buf = xcalloc(1, 512);
        (void)!read(in, buf, 511);
        return buf;
}

static void status_and_unknown(void **state)
{
        struct fixture *f = *state;
        int p[2];
        assert_int_equal(pipe2(p, O_NONBLOCK), 0);
        _cleanup_free_ char *a = serve_until(f, client(f->dir, "status", p[1]), p[0]);
        _cleanup_free_ char *want = xasprintf("{\"pid\": %d, \"phase\": \"starting\"", getpid());
        assert_memory_equal(a, want, strlen(want));
        _cleanup_free_ char *b = serve_until(f, client(f->dir, "reboot", p[1]), p[0]);
        assert_string_equal(b, "unknown request\n");
        close(p[0]);
        close(p[1]);
}

static void wait_ready_then_stop(void **state)
{
        struct fixture *f = *state;
        int p[2];
        assert_int_equal(pipe2(p, O_NONBLOCK), 0);
        pid_t waiter = client(f->dir, "wait-ready", p[1]);
        for (int i = 0; i < 20; i++)
                loop_iterate(&f->loop, 10);
        control_ready(&f->control);
        _cleanup_free_ char *a = serve_until(f, waiter, p[0]);
        assert_string_equal(a, "ready\n");

        /* stop: answered at once, then the connection stays open until the end. */
        pid_t stopper = client(f->dir, "stop", p[1]);
        int64_t end = monotonic_ms() + 10000;
        while (!loop_stopping(&f->loop) && monotonic_ms() < end)
                loop_iterate(&f->loop, 10);
        assert_true(loop_stopping(&f->loop));
        for (int i = 0; i < 20; i++)
                loop_iterate(&f->loop, 10);
        assert_int_equal(waitpid(stopper, NULL, WNOHANG), 0); /* still waiting */
        control_close(&f->control);
        waitpid(stopper, NULL, 0);
        char buf[64] = "";
        (void)!read(p[0], buf, sizeof(buf) - 1);
        assert_string_equal(buf, "stopping\n");
        close(p[0]);
        close(p[1]);
}

static void failed_start_is_told(void **state)
{
        struct fixture *f = *state;
        int p[2];
        assert_int_equal(pipe2(p, O_NONBLOCK), 0);
        pid_t waiter = client(f->dir, "wait-ready", p[1]);
        for (int i = 0; i < 20; i++)
                loop_iterate(&f->loop, 10);
        control_failed(&f->control, "vm g: no kernel\n");
        _cleanup_free_ char *a = serve_until(f, waiter, p[0]);
        assert_string_equal(a, "failed\nvm g: no kernel\n");
        close(p[0]);
        close(p[1]);
        /* Nothing listens once closed. */
        control_close(&f->control);
        char *answer = NULL;
        int r = control_request(f->dir, "status", 1000, &answer, NULL);
        assert_true(r == -ENOENT || r == -ECONNREFUSED);
        free(answer);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(status_and_unknown, setup, teardown),
                cmocka_unit_test_setup_teardown(wait_ready_then_stop, setup, teardown),
                cmocka_unit_test_setup_teardown(failed_start_is_told, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
