#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>

#include "util/io.h"

/* More than a pipe holds at once: the write is split, and a reader drains it. */
static void writes_everything_through_short_writes(void **state)
{
        (void)state;
        int p[2];
        assert_int_equal(pipe(p), 0);
        size_t len = 1 << 20;
        char *data = malloc(len);
        for (size_t i = 0; i < len; i++)
                data[i] = (char)(i * 7);
        pid_t reader = fork();
        if (reader == 0) {
                close(p[1]);
                size_t got = 0;
                char buf[4096];
                ssize_t n;
                while ((n = read(p[0], buf, sizeof(buf))) > 0) {
                        for (ssize_t i = 0; i < n; i++)
                                if (buf[i] != data[got + (size_t)i])
                                        _exit(2);
                        got += (size_t)n;
                }
                _exit(got == len ? 0 : 1);
        }
        close(p[0]);
        assert_int_equal(write_all(p[1], data, len), 0);
        close(p[1]);
        int status;
        waitpid(reader, &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        free(data);
}

static void reports_errno(void **state)
{
        (void)state;
        int p[2];
        assert_int_equal(pipe(p), 0);
        close(p[0]);
        signal(SIGPIPE, SIG_IGN);
        assert_int_equal(write_all(p[1], "x", 1), -EPIPE);
        close(p[1]);
        assert_int_equal(write_all(-1, "x", 1), -EBADF);
}

/* Runs first, while SIGPIPE still has its default action: a signal would end the test. */
static void send_to_a_gone_peer_is_epipe_not_a_signal(void **state)
{
        (void)state;
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        close(sv[1]);
        assert_int_equal(send_all(sv[0], "x", 1), -EPIPE);
        close(sv[0]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(send_to_a_gone_peer_is_epipe_not_a_signal),
                cmocka_unit_test(writes_everything_through_short_writes),
                cmocka_unit_test(reports_errno),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
