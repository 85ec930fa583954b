/*
 * Setting the balloon, for the hypervisors that cannot run on the test
 * machines: cloud-hypervisor's API against a stand-in HTTP server on a unix
 * socket (a forked process) that records the request, crosvm and lkvm as
 * stand-in scripts that record their arguments. qemu's QMP is tested with
 * the real qemu (tests/e2e/test_balloon.py).
 */
#include "test-helpers.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "host/balloon.h"
#include "host/qmp.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

/* Accepts one request, writes it to `log`, answers `status` with an empty body. */
static pid_t serve_once(const char *path, int status, const char *log)
{
        int c;
        pid_t pid = fork_server(path, &c);
        if (pid != 0)
                return pid;
        char req[8192];
        size_t n = 0;
        ssize_t got;
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
        char resp[128];
        int len = snprintf(resp, sizeof(resp),
                           "HTTP/1.1 %d Status\r\nContent-Length: 6\r\n\r\nno way", status);
        (void)!write(c, resp, (size_t)len);
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

static char *read_log(const char *path)
{
        char *text = xcalloc(1, 8192);
        FILE *in = fopen(path, "r");
        assert_non_null(in);
        size_t n = fread(text, 1, 8191, in);
        fclose(in);
        text[n] = '\0';
        return text;
}

/* A stand-in program: records "ARGS... HOME=$HOME" per call, says `stats` to balloon_stats. */
static char *stand_in_program(struct fixture *f, const char *name, const char *stats)
{
        char *path = xasprintf("%s/%s", f->dir, name);
        FILE *out = fopen(path, "w");
        fprintf(out,
                "#!/bin/sh\n"
                "echo \"$* HOME=$HOME\" >>'%s'\n"
                "[ \"$1\" = balloon_stats ] && echo '%s'\n"
                "exit 0\n",
                f->log, stats);
        fclose(out);
        chmod(path, 0755);
        return path;
}

static void cloud_hypervisor_stand_in_resizes_the_balloon(void **state)
{
        struct fixture *f = *state;
        pid_t pid = serve_once(f->sock, 204, f->log);
        struct balloon_request q = { .method = HV_BALLOON_CH_API,
                                     .socket = f->sock,
                                     .size_mib = 512 };
        _cleanup_free_ char *report = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(balloon_request(&q, &report, &err), 0);
        waitpid(pid, NULL, 0);
        assert_null(report); /* ch-remote resize prints nothing */
        _cleanup_free_ char *req = read_log(f->log);
        /* The balloon's size in bytes, as ch-remote resize --balloon 512M sends it. */
        assert_string_equal(req, "PUT /api/v1/vm.resize HTTP/1.1\r\n"
                                 "Host: localhost\r\n"
                                 "Accept: */*\r\n"
                                 "Connection: close\r\n"
                                 "Content-Type: application/json\r\n"
                                 "Content-Length: 29\r\n"
                                 "\r\n"
                                 "{\"desired_balloon\":536870912}");
}

static void cloud_hypervisor_stand_in_refusal_is_an_error(void **state)
{
        struct fixture *f = *state;
        pid_t pid = serve_once(f->sock, 500, f->log);
        struct balloon_request q = { .method = HV_BALLOON_CH_API,
                                     .socket = f->sock,
                                     .size_mib = 0 };
        _cleanup_free_ char *report = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(balloon_request(&q, &report, &err) < 0);
        waitpid(pid, NULL, 0);
        assert_non_null(strstr(err->msg, "PUT /api/v1/vm.resize"));
        assert_non_null(strstr(err->msg, "answered 500: no way"));
        _cleanup_free_ char *req = read_log(f->log);
        assert_non_null(strstr(req, "{\"desired_balloon\":0}")); /* 0: deflate it all */
}

static void crosvm_stand_in_sets_then_reads_back(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *crosvm = stand_in_program(
                f, "crosvm", "{\"BalloonStats\":{\"stats\":{},\"balloon_actual\":134217728}}");
        struct balloon_request q = { .method = HV_BALLOON_CROSVM_CMD,
                                     .socket = "g.sock",
                                     .hypervisor = crosvm,
                                     .size_mib = 128 };
        _cleanup_free_ char *report = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(balloon_request(&q, &report, &err), 0);
        assert_string_equal(report, "128");
        _cleanup_free_ char *calls = read_log(f->log);
        assert_non_null(strstr(calls, "balloon 134217728 g.sock HOME="));
        assert_non_null(strstr(calls, "\nballoon_stats g.sock HOME="));
}

static void crosvm_stand_in_without_stats_is_an_error(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *crosvm = stand_in_program(f, "crosvm", "{\"nothing\":1}");
        struct balloon_request q = { .method = HV_BALLOON_CROSVM_CMD,
                                     .socket = "g.sock",
                                     .hypervisor = crosvm,
                                     .size_mib = 128 };
        _cleanup_free_ char *report = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(balloon_request(&q, &report, &err) < 0);
        assert_non_null(strstr(err->msg, "without balloon_actual"));
}

static void lkvm_stand_in_inflates_by_size_with_home_in_the_vm_dir(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *lkvm = stand_in_program(f, "lkvm", "");
        struct balloon_request q = { .method = HV_BALLOON_LKVM_CMD,
                                     .hypervisor = lkvm,
                                     .host_name = "web",
                                     .home = "/var/lib/microvms/web",
                                     .size_mib = 64 };
        _cleanup_free_ char *report = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(balloon_request(&q, &report, &err), 0);
        assert_null(report);
        _cleanup_free_ char *calls = read_log(f->log);
        assert_string_equal(calls, "balloon -i 64 -n web HOME=/var/lib/microvms/web\n");
}

static void no_balloon_control_is_an_error(void **state)
{
        (void)state;
        struct balloon_request q = { .method = HV_BALLOON_NONE, .size_mib = 1 };
        _cleanup_free_ char *report = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(balloon_request(&q, &report, &err) < 0);
        assert_null(report);
}

static void answers_are_parsed_strictly(void **state)
{
        (void)state;
        int64_t v = -1;
        assert_int_equal(qmp_parse_balloon_actual("{\"return\": {\"actual\": 268435456}}", &v), 0);
        assert_int_equal(v, 268435456);
        assert_int_equal(qmp_parse_balloon_actual("{\"return\": {\"actual\": -1}}", &v), -EBADMSG);
        assert_int_equal(qmp_parse_balloon_actual("{\"return\": {\"actual\": \"1\"}}", &v),
                         -EBADMSG);
        assert_int_equal(qmp_parse_balloon_actual("{\"return\": {}}", &v), -EBADMSG);
        assert_int_equal(qmp_parse_balloon_actual("{\"return\": [1]}", &v), -EBADMSG);
        assert_int_equal(qmp_parse_balloon_actual("not json", &v), -EBADMSG);
        assert_int_equal(qmp_parse_balloon_actual("", &v), -EBADMSG);
        assert_int_equal(
                crosvm_parse_balloon_actual("{\"BalloonStats\":{\"balloon_actual\":4096}}\n", &v),
                0);
        assert_int_equal(v, 4096);
        assert_int_equal(crosvm_parse_balloon_actual("{\"BalloonStats\":null}", &v), -EBADMSG);
        assert_int_equal(crosvm_parse_balloon_actual("[]", &v), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(cloud_hypervisor_stand_in_resizes_the_balloon,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(cloud_hypervisor_stand_in_refusal_is_an_error,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(crosvm_stand_in_sets_then_reads_back, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(crosvm_stand_in_without_stats_is_an_error, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        lkvm_stand_in_inflates_by_size_with_home_in_the_vm_dir, setup, teardown),
                cmocka_unit_test(no_balloon_control_is_an_error),
                cmocka_unit_test(answers_are_parsed_strictly),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
