/*
 * The QMP client against a stand-in QMP server (a forked process speaking
 * the protocol's greeting and replies); the real qemu is exercised by the
 * end-to-end tests.
 */
#include "test-helpers.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "host/qmp.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

enum mode {
        ANSWER, /* reply to everything */
        CLOSE,  /* close after the command, as qemu exiting does */
        REFUSE, /* error reply */
        SILENT, /* never answer the command */
};

/* Reads lines, answers as `mode` says; writes what it got to `log`. */
static pid_t serve(const char *path, enum mode mode, const char *log)
{
        int c;
        pid_t pid = fork_server(path, &c);
        if (pid != 0)
                return pid;
        FILE *in = fdopen(c, "r+"), *out = fopen(log, "w");
        fputs("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n", in);
        fflush(in);
        char line[4096];
        int n = 0;
        while (fgets(line, sizeof(line), in)) {
                fputs(line, out);
                fflush(out);
                n++;
                if (n == 1) { /* qmp_capabilities */
                        /* An event whose data mentions "error" is not an answer. */
                        fputs("{\"event\": \"X\", \"data\": {\"error\": 1}}\n{\"return\": {}}\n",
                              in);
                } else if (mode == CLOSE) {
                        _exit(0);
                } else if (mode == REFUSE) {
                        fputs("{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such "
                              "key\"}}\n",
                              in);
                } else if (mode == ANSWER) {
                        fputs("{\"return\": {}}\n", in);
                } else {
                        pause();
                }
                fflush(in);
        }
        _exit(0);
}

struct fixture {
        char *dir, *sock, *log;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        f->dir = scratch_dir_new();
        f->sock = xasprintf("%s/qmp.sock", f->dir);
        f->log = xasprintf("%s/log", f->dir);
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

static void finish(pid_t pid)
{
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

static void ctrl_alt_del_is_sent(void **state)
{
        struct fixture *f = *state;
        pid_t pid = serve(f->sock, ANSWER, f->log);
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(qmp_send_ctrl_alt_del(f->sock, 5000, &err), 0);
        finish(pid);
        char buf[4096] = { 0 };
        FILE *l = fopen(f->log, "r");
        size_t n = fread(buf, 1, sizeof(buf) - 1, l);
        fclose(l);
        buf[n] = '\0';
        assert_non_null(strstr(buf, "{\"execute\":\"qmp_capabilities\"}\n"));
        assert_non_null(strstr(buf, "\"execute\":\"input-send-event\""));
        assert_non_null(strstr(buf, "\"data\":\"delete\""));
}

static void qemu_exiting_counts_as_success(void **state)
{
        struct fixture *f = *state;
        pid_t pid = serve(f->sock, CLOSE, f->log);
        assert_int_equal(qmp_send_ctrl_alt_del(f->sock, 5000, NULL), 0);
        finish(pid);
}

static void errors_and_silence(void **state)
{
        struct fixture *f = *state;
        _cleanup_error_ struct mv_error *e1 = NULL, *e2 = NULL, *e3 = NULL;
        pid_t pid = serve(f->sock, REFUSE, f->log);
        assert_true(qmp_send_ctrl_alt_del(f->sock, 5000, &e1) < 0);
        assert_non_null(strstr(e1->msg, "QMP refused"));
        assert_non_null(strstr(e1->msg, ": no such key"));
        finish(pid);
        unlink(f->sock);
        pid = serve(f->sock, SILENT, f->log);
        assert_true(qmp_send_ctrl_alt_del(f->sock, 300, &e2) < 0);
        assert_non_null(strstr(e2->msg, "no answer on the QMP socket within 300 ms"));
        finish(pid);
        unlink(f->sock);
        assert_true(qmp_send_ctrl_alt_del(f->sock, 300, &e3) < 0);
        assert_non_null(strstr(e3->msg, "QMP socket: connect to"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(ctrl_alt_del_is_sent, setup, teardown),
                cmocka_unit_test_setup_teardown(qemu_exiting_counts_as_success, setup, teardown),
                cmocka_unit_test_setup_teardown(errors_and_silence, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
