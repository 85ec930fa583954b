/*
 * Graceful shutdown over the cloud-hypervisor and firecracker APIs,
 * against a stand-in HTTP server on a unix socket (a forked process): the
 * real hypervisors cannot run on the test machines. The server records the
 * request it got and answers with a given status.
 */
#include "test-helpers.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "host/http-unix.h"
#include "host/shutdown.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static pid_t serve_once(const char *path, int status, const char *log)
{
        int c;
        pid_t pid = fork_server(path, &c);
        if (pid != 0)
                return pid;
        char req[8192];
        size_t n = 0;
        ssize_t got;
        /* Headers, then as much body as Content-Length says. */
        while ((got = read(c, req + n, sizeof(req) - 1 - n)) > 0) {
                n += (size_t)got;
                req[n] = '\0';
                char *end = strstr(req, "\r\n\r\n");
                char *cl = strcasestr(req, "Content-Length:");
                if (end &&
                    (!cl || cl > end || n >= (size_t)(end + 4 - req) + strtoul(cl + 15, NULL, 10)))
                        break;
        }
        FILE *out = fopen(log, "w");
        fwrite(req, 1, n, out);
        fclose(out);
        char resp[256];
        int len = snprintf(resp, sizeof(resp),
                           "HTTP/1.1 %d Status\r\nContent-Length: 9\r\n\r\n{\"x\": 1}\n", status);
        (void)!write(c, resp, (size_t)len);
        close(c);
        _exit(0);
}

/* Accepts one connection and answers with `raw` (NULL: never answers, holds it open). */
static pid_t serve_raw(const char *path, const char *raw)
{
        int c;
        pid_t pid = fork_server(path, &c);
        if (pid != 0)
                return pid;
        if (!raw)
                for (;;)
                        pause();
        /* Byte by byte: the client must put the answer together across reads. */
        for (const char *p = raw; *p; p++) {
                (void)!write(c, p, 1);
                usleep(200);
        }
        close(c);
        _exit(0);
}

struct fixture {
        char *dir, *sock, *log;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        f->dir = scratch_dir_new();
        f->sock = xasprintf("%s/api.sock", f->dir);
        f->log = xasprintf("%s/request", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        scratch_dir_remove(f->dir);
        free(f->sock);
        free(f->log);
        free(f);
        return 0;
}

static char *request_of(struct fixture *f, pid_t pid)
{
        waitpid(pid, NULL, 0);
        char *text = xcalloc(1, 8192);
        FILE *in = fopen(f->log, "r");
        size_t n = fread(text, 1, 8191, in);
        fclose(in);
        text[n] = '\0';
        return text;
}

static void cloud_hypervisor_power_button(void **state)
{
        struct fixture *f = *state;
        pid_t pid = serve_once(f->sock, 204, f->log);
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(vm_request_shutdown(HV_SHUTDOWN_CH_API, f->sock, "/ch", &err), 0);
        _cleanup_free_ char *req = request_of(f, pid);
        assert_memory_equal(req, "PUT /api/v1/vm.power-button HTTP/1.1\r\n", 38);
        assert_non_null(strstr(req, "Host: localhost\r\n"));
        assert_non_null(strstr(req, "Content-Length: 0\r\n"));
}

static void firecracker_ctrl_alt_del(void **state)
{
        struct fixture *f = *state;
        pid_t pid = serve_once(f->sock, 204, f->log);
        assert_int_equal(vm_request_shutdown(HV_SHUTDOWN_FC_API, f->sock, "/fc", NULL), 0);
        _cleanup_free_ char *req = request_of(f, pid);
        assert_memory_equal(req, "PUT /actions HTTP/1.1\r\n", 23);
        assert_non_null(strstr(req, "\r\n\r\n{ \"action_type\": \"SendCtrlAltDel\" }"));
}

static void refused_request_is_an_error(void **state)
{
        struct fixture *f = *state;
        pid_t pid = serve_once(f->sock, 400, f->log);
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(vm_request_shutdown(HV_SHUTDOWN_FC_API, f->sock, "/fc", &err) < 0);
        assert_non_null(strstr(err->msg, "answered 400"));
        free(request_of(f, pid));
}

static void no_socket_or_no_method(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct mv_error *e1 = NULL, *e2 = NULL, *e3 = NULL;
        _cleanup_free_ char *absent = xasprintf("%s/absent.sock", f->dir);
        assert_true(vm_request_shutdown(HV_SHUTDOWN_QMP, NULL, "/q", &e1) < 0);
        assert_non_null(strstr(e1->msg, "no control socket"));
        assert_true(vm_request_shutdown(HV_SHUTDOWN_NONE, "x.sock", "/q", &e2) < 0);
        assert_true(vm_request_shutdown(HV_SHUTDOWN_CH_API, absent, "/ch", &e3) < 0);
        assert_non_null(strstr(e3->msg, "API socket: connect to"));
        assert_string_equal(e3->hint, "is the VM running?");
}

static void response_body_is_returned(void **state)
{
        struct fixture *f = *state;
        pid_t pid = serve_once(f->sock, 200, f->log);
        int status = 0;
        _cleanup_free_ char *body = NULL;
        assert_int_equal(http_unix_request(f->sock, "GET", "/api/v1/vm.info", NULL, 5000, &status,
                                           &body, NULL),
                         0);
        assert_int_equal(status, 200);
        assert_string_equal(body, "{\"x\": 1}\n");
        free(request_of(f, pid));
}

static void answer_in_pieces_is_read_whole(void **state)
{
        struct fixture *f = *state;
        pid_t pid = serve_raw(f->sock, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nokay");
        int status = 0;
        _cleanup_free_ char *body = NULL;
        assert_int_equal(
                http_unix_request(f->sock, "GET", "/vm.info", NULL, 5000, &status, &body, NULL), 0);
        assert_int_equal(status, 200);
        assert_string_equal(body, "okay");
        waitpid(pid, NULL, 0);
}

static void garbage_answer_is_an_error(void **state)
{
        struct fixture *f = *state;
        pid_t pid = serve_raw(f->sock, "SSH-2.0-OpenSSH_9.2\r\n");
        int status = 0;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(http_unix_request(f->sock, "PUT", "/actions", "{}", 5000, &status, NULL, &err) <
                    0);
        assert_non_null(strstr(err->msg, "bad answer from"));
        assert_non_null(strstr(err->msg, "status line"));
        waitpid(pid, NULL, 0);
}

static void silent_server_times_out(void **state)
{
        struct fixture *f = *state;
        pid_t pid = serve_raw(f->sock, NULL);
        int status = 0;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(http_unix_request(f->sock, "PUT", "/actions", "{}", 100, &status, NULL, &err) <
                    0);
        assert_non_null(strstr(err->msg, "no answer from"));
        assert_non_null(strstr(err->msg, "within 100 ms"));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

/* Accepts, then hangs up without reading: the request is too big to be buffered whole. */
static pid_t hang_up(const char *path)
{
        int c;
        pid_t pid = fork_server(path, &c);
        if (pid != 0)
                return pid;
        close(c);
        _exit(0);
}

static void peer_hanging_up_is_an_error_not_sigpipe(void **state)
{
        struct fixture *f = *state;
        size_t n = 4 * 1024 * 1024;
        char *body = malloc(n + 1);
        memset(body, 'x', n);
        body[n] = '\0';
        pid_t pid = hang_up(f->sock);
        int status = 0;
        _cleanup_error_ struct mv_error *err = NULL;
        /* With the default SIGPIPE action a write to the closed socket would end this test. */
        assert_true(http_unix_request(f->sock, "PUT", "/actions", body, 5000, &status, NULL, &err) <
                    0);
        assert_non_null(strstr(err->msg, "sending the request"));
        waitpid(pid, NULL, 0);
        free(body);
}

static void request_line_cannot_be_broken(void **state)
{
        struct fixture *f = *state;
        int status = 0;
        _cleanup_error_ struct mv_error *e1 = NULL, *e2 = NULL;
        assert_true(http_unix_request(f->sock, "PUT", "/a b", NULL, 100, &status, NULL, &e1) < 0);
        assert_non_null(strstr(e1->msg, "invalid HTTP request"));
        assert_true(http_unix_request(f->sock, "PUT\r\nX:", "/a", NULL, 100, &status, NULL, &e2) <
                    0);
        assert_non_null(strstr(e2->msg, "invalid HTTP request"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(cloud_hypervisor_power_button, setup, teardown),
                cmocka_unit_test_setup_teardown(firecracker_ctrl_alt_del, setup, teardown),
                cmocka_unit_test_setup_teardown(refused_request_is_an_error, setup, teardown),
                cmocka_unit_test_setup_teardown(no_socket_or_no_method, setup, teardown),
                cmocka_unit_test_setup_teardown(response_body_is_returned, setup, teardown),
                cmocka_unit_test_setup_teardown(answer_in_pieces_is_read_whole, setup, teardown),
                cmocka_unit_test_setup_teardown(garbage_answer_is_an_error, setup, teardown),
                cmocka_unit_test_setup_teardown(silent_server_times_out, setup, teardown),
                cmocka_unit_test_setup_teardown(peer_hanging_up_is_an_error_not_sigpipe, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(request_line_cannot_be_broken, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
