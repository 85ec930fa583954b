#include "test-helpers.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "host/console.h"
#include "util/error.h"
#include "util/xalloc.h"

struct fixture {
        char *dir, *log, *sock;
        struct console c;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        f->dir = scratch_dir_new();
        f->log = xasprintf("%s/console.log", f->dir);
        f->sock = xasprintf("%s/console.sock", f->dir);
        assert_int_equal(console_open(&f->c, f->log, f->sock, 1000, 0, NULL), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        console_close(&f->c);
        free(f->log);
        free(f->sock);
        scratch_dir_remove(f->dir);
        free(f);
        return 0;
}

/* One round of the monitor's loop. */
static void pump(struct console *c)
{
        struct pollfd fds[2 + CONSOLE_MAX_CLIENTS];
        size_t n = console_pollfds(c, fds);
        poll(fds, n, 100);
        console_process(c, fds, n);
}

static off_t size_of(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 ? st.st_size : -1;
}

static void output_is_logged_and_rotated_at_the_cap(void **state)
{
        struct fixture *f = *state;
        char block[600];
        memset(block, 'x', sizeof(block));
        assert_int_equal(write(f->c.slave, block, sizeof(block)), sizeof(block));
        pump(&f->c);
        assert_int_equal(size_of(f->log), 600);
        /* 1200 bytes would pass the cap of 1000: the first 600 move to console.log.1. */
        assert_int_equal(write(f->c.slave, block, sizeof(block)), sizeof(block));
        pump(&f->c);
        char *old = xasprintf("%s.1", f->log);
        assert_int_equal(size_of(old), 600);
        assert_int_equal(size_of(f->log), 600);
        free(old);
}

static int attach(const char *sock)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strncpy(sa.sun_path, sock, sizeof(sa.sun_path) - 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        return fd;
}

/* The first line a client reads, before any guest output. */
static void expect_line(int fd, const char *want)
{
        char got[64] = { 0 };
        assert_int_equal(read(fd, got, strlen(want)), strlen(want));
        assert_string_equal(got, want);
}

static void clients_see_output_and_type_input(void **state)
{
        struct fixture *f = *state;
        struct stat st;
        assert_int_equal(stat(f->sock, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600); /* a console is a root shell */

        int a = attach(f->sock), b = attach(f->sock);
        pump(&f->c); /* accept */
        expect_line(a, CONSOLE_HELLO);
        expect_line(b, CONSOLE_HELLO);
        assert_int_equal(write(f->c.slave, "boot\n", 5), 5);
        pump(&f->c);
        char got[16] = { 0 };
        assert_int_equal(read(a, got, sizeof(got)), 5);
        assert_string_equal(got, "boot\n");
        memset(got, 0, sizeof(got));
        assert_int_equal(read(b, got, sizeof(got)), 5);

        /* What a client types reaches the guest's side of the pty. */
        assert_int_equal(write(b, "ls\n", 3), 3);
        pump(&f->c);
        memset(got, 0, sizeof(got));
        assert_int_equal(read(f->c.slave, got, sizeof(got)), 3);
        assert_string_equal(got, "ls\n");

        /* A client that leaves is dropped; the others stay. */
        close(a);
        pump(&f->c);
        assert_int_equal(write(f->c.slave, "more\n", 5), 5);
        pump(&f->c);
        memset(got, 0, sizeof(got));
        assert_int_equal(read(b, got, sizeof(got)), 5);
        close(b);
}

static void monitor_messages_reach_clients_not_the_log(void **state)
{
        struct fixture *f = *state;
        int a = attach(f->sock);
        pump(&f->c); /* accept */
        expect_line(a, CONSOLE_HELLO);
        const char *text = "microvm: vm g ended\nrestarting\r\n";
        console_tell_clients(&f->c, text, strlen(text));
        char got[64] = { 0 };
        assert_int_equal(read(a, got, sizeof(got)), strlen(text) + 1);
        assert_string_equal(got, "microvm: vm g ended\r\nrestarting\r\n");
        assert_int_equal(size_of(f->log), 0);
        close(a);
}

static void too_many_clients_are_told_so(void **state)
{
        struct fixture *f = *state;
        int fds[CONSOLE_MAX_CLIENTS + 1];
        for (size_t i = 0; i <= CONSOLE_MAX_CLIENTS; i++)
                fds[i] = attach(f->sock);
        pump(&f->c);
        for (size_t i = 0; i < CONSOLE_MAX_CLIENTS; i++)
                expect_line(fds[i], CONSOLE_HELLO);
        /* Refused in words a client can tell from guest output: it exits non-zero. */
        expect_line(fds[CONSOLE_MAX_CLIENTS], CONSOLE_FULL);
        char more;
        assert_int_equal(read(fds[CONSOLE_MAX_CLIENTS], &more, 1), 0);
        for (size_t i = 0; i <= CONSOLE_MAX_CLIENTS; i++)
                close(fds[i]);
}

/* logs -n: the last lines of a console log, a final unended line counting as one. */
static void tail_of_a_log(void **state)
{
        (void)state;
        static const struct {
                const char *log;
                size_t lines;
                const char *tail;
        } cases[] = {
                { "a\nb\nc\n", 2, "b\nc\n" },
                { "a\nb\nc\n", 3, "a\nb\nc\n" },
                { "a\nb\nc\n", 9, "a\nb\nc\n" },
                { "a\nb\nc", 1, "c" },
                { "a\nb\nc", 2, "b\nc" },
                { "a\nb\n", 0, "" },
                { "", 3, "" },
                { "\n\n\n", 2, "\n\n" },
                { "only\n", 1, "only\n" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                size_t len = strlen(cases[i].log);
                size_t from = console_log_tail(cases[i].log, len, cases[i].lines);
                assert_string_equal(cases[i].log + from, cases[i].tail);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(output_is_logged_and_rotated_at_the_cap, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(clients_see_output_and_type_input, setup, teardown),
                cmocka_unit_test_setup_teardown(monitor_messages_reach_clients_not_the_log, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(too_many_clients_are_told_so, setup, teardown),
                cmocka_unit_test(tail_of_a_log),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
