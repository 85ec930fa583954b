#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "host/notify.h"
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
                cmocka_unit_test(hybrid_socket_sees_ready_and_relays_it),
                cmocka_unit_test(quiet_connection_is_closed_and_read),
                cmocka_unit_test(not_ready_without_ready),
                cmocka_unit_test(long_path_is_refused_with_a_hint),
                cmocka_unit_test(vsock_listener_binds_its_port),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
