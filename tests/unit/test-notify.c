#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "host/notify.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static void parses_ready_and_status(void **state)
{
        (void)state;
        bool ready = false;
        char *status = NULL;
        const char msg[] = "STATUS=booting\nREADY=1\nSTATUS=up and running\n";
        notify_parse(msg, sizeof(msg) - 1, &ready, &status);
        assert_true(ready);
        assert_string_equal(status, "up and running");
        free(status);
}

static void ignores_what_is_not_ready(void **state)
{
        (void)state;
        bool ready = false;
        char *status = NULL;
        static const char *const msgs[] = { "READY=0",    "READY=10", "XREADY=1", "ready=1",
                                            "READY=1x\n", "",         "\n\n",     "STATUS" };
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
                notify_parse(msgs[i], strlen(msgs[i]), &ready, &status);
        assert_false(ready);
        assert_null(status);
        /* The last line needs no newline; a NUL inside does not end the message early. */
        const char tail[] = "STATUS=a\0b\nREADY=1";
        notify_parse(tail, sizeof(tail) - 1, &ready, &status);
        assert_true(ready);
        assert_int_equal(status[0], 'a');
        free(status);
}

/* notify_filter() of `msg` (up to its NUL) must be exactly `want`. */
static void filters_to(const char *msg, const char *want)
{
        char out[NOTIFY_RELAY_MAX + 1];
        memset(out, 'X', sizeof(out));
        size_t n = notify_filter(msg, strlen(msg), out, sizeof(out));
        if (strcmp(out, want) != 0)
                fail_msg("filter of <%s> is <%s>, expected <%s>", msg, out, want);
        assert_int_equal(n, strlen(want));
}

static void filter_keeps_three_keys(void **state)
{
        (void)state;
        filters_to("READY=1", "READY=1");
        filters_to("STATUS=Starting up\nREADY=1\n", "READY=1\nSTATUS=Starting up");
        filters_to("ERRNO=2\nSTATUS=failed", "STATUS=failed\nERRNO=2");
        /* What would steer the host's unit is dropped, whatever its value. */
        static const char *const dropped[] = {
                "MAINPID=1",
                "STOPPING=1",
                "RELOADING=1",
                "FDSTORE=1",
                "FDNAME=x",
                "WATCHDOG=1",
                "WATCHDOG_USEC=1",
                "EXTEND_TIMEOUT_USEC=1",
                "NOTIFYACCESS=all",
                "BARRIER=1",
                "BUSERROR=x",
                "READY=0",
                "READY=10",
                "ready=1",
                " READY=1",
                "READY=1\r",
                "STATUS",
                "ERRNO",
                "",
                "\n\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(dropped); i++)
                filters_to(dropped[i], "");
        filters_to("MAINPID=1\nREADY=1\nSTOPPING=1\nSTATUS=x\nFDSTORE=1", "READY=1\nSTATUS=x");
        /* One of each: the last STATUS=, the last valid ERRNO=. */
        filters_to("READY=1\nREADY=1\nSTATUS=a\nSTATUS=b\nERRNO=1\nERRNO=x",
                   "READY=1\nSTATUS=b\nERRNO=1");
        filters_to("STATUS=", "STATUS=");
}

static void filter_errno_is_a_plain_int(void **state)
{
        (void)state;
        filters_to("ERRNO=0", "ERRNO=0");
        filters_to("ERRNO=2147483647", "ERRNO=2147483647");
        filters_to("ERRNO=007", "ERRNO=7");
        static const char *const bad[] = { "ERRNO=-1",         "ERRNO=+1",  "ERRNO=1x",
                                           "ERRNO=2147483648", "ERRNO=",    "ERRNO=99999999999",
                                           "ERRNO= 1",         "ERRNO=0x10" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                filters_to(bad[i], "");
}

static void filter_status_is_printable_utf8(void **state)
{
        (void)state;
        /* Control characters go: no escape sequences, no line breaks for the host's log. */
        filters_to("STATUS=a\x1b[31mred\tb\x7f\rc", "STATUS=a[31mredbc");
        filters_to("STATUS=\xc2\x9b"
                   "1m",
                   "STATUS=1m"); /* C1 CSI */
        filters_to("STATUS=gr\xc3\xbc\xc3\x9f \xe2\x9c\x93 \xf0\x9f\x9a\x80",
                   "STATUS=gr\xc3\xbc\xc3\x9f \xe2\x9c\x93 \xf0\x9f\x9a\x80");
        /* Invalid bytes become U+FFFD: overlong, surrogate, cut, stray. */
        filters_to("STATUS=a\xff"
                   "b",
                   "STATUS=a\xef\xbf\xbd"
                   "b");
        filters_to("STATUS=\xc0\xaf", "STATUS=\xef\xbf\xbd\xef\xbf\xbd");
        filters_to("STATUS=\xed\xa0\x80", "STATUS=\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        filters_to("STATUS=x\xe2\x9c", "STATUS=x\xef\xbf\xbd\xef\xbf\xbd");
        filters_to("STATUS=\xf4\x90\x80\x80", /* past U+10FFFF */
                   "STATUS=\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        /* A NUL is a control character, not the end of the message. */
        char out[NOTIFY_RELAY_MAX + 1];
        const char nul[] = "STATUS=a\0b\nREADY=1";
        assert_int_equal(notify_filter(nul, sizeof(nul) - 1, out, sizeof(out)), 17);
        assert_string_equal(out, "READY=1\nSTATUS=ab");
}

/* STATUS= text is capped, and cut between characters, never inside one. */
static void filter_caps_status(void **state)
{
        (void)state;
        char msg[1024], want[1024];
        memcpy(msg, "STATUS=", 7);
        memset(msg + 7, 'a', 600);
        msg[607] = '\0';
        memcpy(want, msg, 7 + NOTIFY_STATUS_MAX);
        want[7 + NOTIFY_STATUS_MAX] = '\0';
        filters_to(msg, want);
        /* 255 bytes, then a 2-byte character that would end past the cap. */
        memcpy(msg + 7 + NOTIFY_STATUS_MAX - 1, "\xc3\xa9tail", 7);
        msg[7 + NOTIFY_STATUS_MAX - 1 + 7] = '\0';
        want[7 + NOTIFY_STATUS_MAX - 1] = '\0';
        filters_to(msg, want);
        /* The longest output there is fits NOTIFY_RELAY_MAX; a smaller buffer gets nothing. */
        char big[1024];
        int n = snprintf(big, sizeof(big), "ERRNO=2147483647\nREADY=1\n%s", msg);
        assert_true(n > 0);
        memset(big + 24 + 7, 0x80, 300); /* each stray byte would be a 3-byte U+FFFD */
        char out[NOTIFY_RELAY_MAX + 1];
        size_t len = notify_filter(big, (size_t)n, out, sizeof(out));
        assert_true(len <= NOTIFY_RELAY_MAX);
        assert_int_equal(strlen(out), len);
        assert_int_equal(notify_filter("READY=1", 7, out, NOTIFY_RELAY_MAX), 0);
        assert_string_equal(out, "");
}

/* Poll and process until `done` or about two seconds passed. */
static void pump(struct notify_listener *l, const bool *done)
{
        for (int i = 0; i < 200 && !*done; i++) {
                struct pollfd fds[1 + NOTIFY_MAX_CONNS];
                size_t n = notify_pollfds(l, fds);
                int t = notify_timeout_ms(l);
                poll(fds, n, t < 0 || t > 10 ? 10 : t);
                notify_process(l, fds, n);
        }
}

static int connect_unix(const char *path, int type)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        return fd;
}

static void hybrid_socket_sees_ready_and_relays_it(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        char *path = xasprintf("%s/notify.vsock_8888", dir);
        char *manager = xasprintf("%s/manager", dir);

        /* The service manager's socket: a datagram socket, as systemd's. */
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strncpy(sa.sun_path, manager, sizeof(sa.sun_path) - 1);
        int mfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_int_equal(bind(mfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        setenv("NOTIFY_SOCKET", manager, 1);

        /* A stale socket from an unclean stop is replaced. */
        assert_int_equal(close(open(path, O_CREAT | O_WRONLY, 0600)), 0);
        struct notify_listener l;
        struct mv_error *err = NULL;
        assert_int_equal(notify_listen_unix(&l, path, &err), 0);
        unsetenv("NOTIFY_SOCKET");

        /* What the hypervisor forwards: one write, then EOF. */
        int c = connect_unix(path, SOCK_STREAM);
        const char msg[] = "READY=1\nSTATUS=up";
        assert_int_equal(write(c, msg, sizeof(msg) - 1), (ssize_t)(sizeof(msg) - 1));
        shutdown(c, SHUT_WR);
        pump(&l, &l.ready);
        assert_true(l.ready);
        assert_string_equal(l.status, "up");
        /* We closed our end: the guest's sd_notify() may return. */
        char b;
        assert_int_equal(read(c, &b, 1), 0);
        close(c);

        char got[64] = { 0 };
        assert_int_equal(recv(mfd, got, sizeof(got), MSG_DONTWAIT), (ssize_t)(sizeof(msg) - 1));
        assert_string_equal(got, msg);

        notify_close(&l);
        assert_int_equal(access(path, F_OK), -1); /* removed with the listener */
        close(mfd);
        free(manager);
        free(path);
        scratch_dir_remove(dir);
}

/* A service manager's datagram socket at DIR/manager, named in $NOTIFY_SOCKET for a listener. */
static int manager_socket(const char *dir)
{
        char *manager = xasprintf("%s/manager", dir);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strncpy(sa.sun_path, manager, sizeof(sa.sun_path) - 1);
        int mfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_int_equal(bind(mfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        setenv("NOTIFY_SOCKET", manager, 1);
        free(manager);
        return mfd;
}

/* Send `msg` (`len` bytes) as the guest, then EOF; process until the listener closed it. */
static void guest_sends(struct notify_listener *l, const char *path, const char *msg, size_t len)
{
        int c = connect_unix(path, SOCK_STREAM);
        assert_int_equal(write(c, msg, len), (ssize_t)len);
        shutdown(c, SHUT_WR);
        for (int i = 0; i < 200 && (l->n_conns > 0 || i == 0); i++) {
                struct pollfd fds[1 + NOTIFY_MAX_CONNS];
                size_t n = notify_pollfds(l, fds);
                poll(fds, n, 10);
                notify_process(l, fds, n);
        }
        assert_int_equal(l->n_conns, 0);
        close(c);
}

/* The host's service manager hears READY=1, STATUS= and ERRNO= from a guest, nothing else. */
static void relay_passes_only_readiness_status_and_errno(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        char *path = xasprintf("%s/n", dir);
        int mfd = manager_socket(dir);
        struct notify_listener l;
        assert_int_equal(notify_listen_unix(&l, path, NULL), 0);
        unsetenv("NOTIFY_SOCKET");

        const char msg[] = "MAINPID=1\nSTATUS=up\x1b[2J \xff\nSTOPPING=1\nFDSTORE=1\nREADY=1\n"
                           "WATCHDOG=trigger\nEXTEND_TIMEOUT_USEC=999999999\nERRNO=5\n";
        guest_sends(&l, path, msg, sizeof(msg) - 1);
        assert_true(l.ready);
        assert_string_equal(l.status, "up[2J \xef\xbf\xbd");
        char got[512] = { 0 };
        ssize_t n = recv(mfd, got, sizeof(got) - 1, MSG_DONTWAIT);
        assert_true(n > 0);
        assert_string_equal(got, "READY=1\nSTATUS=up[2J \xef\xbf\xbd\nERRNO=5");

        /* Nothing left: nothing sent. */
        const char only_pid[] = "MAINPID=1\nSTOPPING=1";
        guest_sends(&l, path, only_pid, sizeof(only_pid) - 1);
        assert_int_equal(recv(mfd, got, sizeof(got), MSG_DONTWAIT), -1);
        notify_close(&l);
        close(mfd);
        free(path);
        scratch_dir_remove(dir);
}

/*
 * A message that does not fit the buffer is not read in part: cut at the
 * buffer's end, "READY=10" would have read as READY=1.
 */
static void too_long_message_is_ignored(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        char *path = xasprintf("%s/n", dir);
        int mfd = manager_socket(dir);
        struct notify_listener l;
        assert_int_equal(notify_listen_unix(&l, path, NULL), 0);
        unsetenv("NOTIFY_SOCKET");

        char msg[NOTIFY_MAX_MESSAGE + 64];
        size_t first = NOTIFY_MAX_MESSAGE - 7; /* "STATUS=aaa...\n", then READY=1 at the end */
        memcpy(msg, "STATUS=", 7);
        memset(msg + 7, 'a', first - 8);
        msg[first - 1] = '\n';
        memcpy(msg + first, "READY=10\n", 9);
        guest_sends(&l, path, msg, first + 9);
        assert_false(l.ready);
        assert_null(l.status);
        char got[64];
        assert_int_equal(recv(mfd, got, sizeof(got), MSG_DONTWAIT), -1);
        notify_close(&l);
        close(mfd);
        free(path);
        scratch_dir_remove(dir);
}

/* Some hypervisors never pass the guest's half-close on: silence ends the message. */
static void quiet_connection_is_closed_and_read(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        char *path = xasprintf("%s/n", dir);
        struct notify_listener l;
        assert_int_equal(notify_listen_unix(&l, path, NULL), 0);
        int c = connect_unix(path, SOCK_STREAM);
        assert_int_equal(write(c, "READY=1\n", 8), 8);
        pump(&l, &l.ready);
        assert_true(l.ready);
        assert_int_equal(l.n_conns, 0);
        char b;
        assert_int_equal(read(c, &b, 1), 0); /* closed by the listener, without our EOF */
        close(c);
        notify_close(&l);
        free(path);
        scratch_dir_remove(dir);
}

static void not_ready_without_ready(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        char *path = xasprintf("%s/n", dir);
        struct notify_listener l;
        assert_int_equal(notify_listen_unix(&l, path, NULL), 0);
        int c = connect_unix(path, SOCK_STREAM);
        assert_int_equal(write(c, "STATUS=still booting\n", 21), 21);
        close(c);
        bool never = false;
        pump(&l, &never);
        assert_false(l.ready);
        assert_string_equal(l.status, "still booting");
        notify_close(&l);
        free(path);
        scratch_dir_remove(dir);
}

static void long_path_is_refused_with_a_hint(void **state)
{
        (void)state;
        char long_path[200];
        memset(long_path, 'a', sizeof(long_path) - 1);
        long_path[0] = '/';
        long_path[sizeof(long_path) - 1] = '\0';
        struct notify_listener l;
        struct mv_error *err = NULL;
        assert_true(notify_listen_unix(&l, long_path, &err) < 0);
        assert_non_null(strstr(err->msg, "shorter microvm.stateDir"));
        mv_error_free(&err);
        notify_close(&l);
}

/* No guest can connect here (no vhost-vsock): only the listening side is exercised. */
static void vsock_listener_binds_its_port(void **state)
{
        (void)state;
        struct notify_listener l;
        struct mv_error *err = NULL;
        if (notify_listen_vsock(&l, 8888 + 41, 41, &err) < 0) {
                mv_error_free(&err);
                notify_close(&l);
                skip();
        }
        struct sockaddr_vm sa;
        socklen_t len = sizeof(sa);
        assert_int_equal(getsockname(l.fd, (struct sockaddr *)&sa, &len), 0);
        assert_int_equal(sa.svm_port, 8888 + 41);
        /* The port is one per host: a second listener for it fails. */
        struct notify_listener second;
        assert_true(notify_listen_vsock(&second, 8888 + 41, 41, &err) < 0);
        assert_int_equal(err->code, EADDRINUSE);
        mv_error_free(&err);
        notify_close(&second);
        notify_close(&l);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_ready_and_status),
                cmocka_unit_test(ignores_what_is_not_ready),
                cmocka_unit_test(filter_keeps_three_keys),
                cmocka_unit_test(filter_errno_is_a_plain_int),
                cmocka_unit_test(filter_status_is_printable_utf8),
                cmocka_unit_test(filter_caps_status),
                cmocka_unit_test(hybrid_socket_sees_ready_and_relays_it),
                cmocka_unit_test(relay_passes_only_readiness_status_and_errno),
                cmocka_unit_test(too_long_message_is_ignored),
                cmocka_unit_test(quiet_connection_is_closed_and_read),
                cmocka_unit_test(not_ready_without_ready),
                cmocka_unit_test(long_path_is_refused_with_a_hint),
                cmocka_unit_test(vsock_listener_binds_its_port),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
