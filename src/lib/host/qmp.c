#include "host/qmp.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/strbuf.h"
#include "util/unix-socket.h"
#include "util/xalloc.h"

/* microvm.nix's shutdown: the keys Ctrl, Alt and Delete pressed (key-down only). */
static const char ctrl_alt_del[] =
        "{\"execute\":\"input-send-event\",\"arguments\":{\"events\":["
        "{\"type\":\"key\",\"data\":{\"down\":true,\"key\":{\"type\":\"qcode\",\"data\":\"ctrl\"}}}"
        ","
        "{\"type\":\"key\",\"data\":{\"down\":true,\"key\":{\"type\":\"qcode\",\"data\":\"alt\"}}},"
        "{\"type\":\"key\",\"data\":{\"down\":true,\"key\":{\"type\":\"qcode\","
        "\"data\":\"delete\"}}}]}}";

static int qmp_connect(const char *path, struct mv_error **err)
{
        int fd = unix_socket_connect(path, err);
        return fd < 0 ? mv_error_wrap(err, "QMP socket") : fd;
}

/* Read one line (QMP sends one JSON object per line). -EPIPE: the peer closed the socket. */
static int read_line(int fd, struct strbuf *line, int timeout_ms, struct mv_error **err)
{
        line->len = 0;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int n = poll(&p, 1, timeout_ms);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return mv_error_set(err, errno, "poll QMP socket");
                if (n == 0)
                        return mv_error_fail(err, "no answer on the QMP socket within %d ms",
                                             timeout_ms);
                char c;
                ssize_t got = read(fd, &c, 1);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0) {
                        mv_error_fail(err, "QMP socket closed");
                        return -EPIPE;
                }
                if (c == '\n')
                        return 0;
                strbuf_putc(line, c);
        }
}

static int write_qmp(int fd, const char *s, struct mv_error **err)
{
        int r = send_all(fd, s, strlen(s));
        return r < 0 ? mv_error_set(err, -r, "write to QMP socket") : 0;
}

/* What one line from QMP is: an answer, an error, or something to skip (events). */
enum qmp_reply {
        QMP_OTHER,
        QMP_RETURN,
        QMP_ERROR
};

static enum qmp_reply classify(const char *line, char **error_desc)
{
        json_t *msg = json_loads(line, 0, NULL);
        enum qmp_reply kind = QMP_OTHER;
        if (json_is_object(msg)) {
                json_t *error = json_object_get(msg, "error");
                if (json_object_get(msg, "return")) {
                        kind = QMP_RETURN;
                } else if (error) {
                        const char *desc = json_string_value(json_object_get(error, "desc"));
                        *error_desc = xstrdup(desc ? desc : line);
                        kind = QMP_ERROR;
                }
        }
        json_decref(msg);
        return kind;
}

/* Send a command and wait for its "return" (events in between are skipped). */
static int command(int fd, const char *cmd, struct strbuf *line, int timeout_ms,
                   struct mv_error **err)
{
        int r = write_qmp(fd, cmd, err);
        if (r >= 0)
                r = write_qmp(fd, "\n", err);
        while (r >= 0) {
                r = read_line(fd, line, timeout_ms, err);
                if (r < 0)
                        break;
                _cleanup_free_ char *desc = NULL;
                switch (classify(line->data ? line->data : "", &desc)) {
                case QMP_RETURN:
                        return 0;
                case QMP_ERROR:
                        return mv_error_fail(err, "QMP refused %s: %s", cmd, desc);
                case QMP_OTHER:
                        break;
                }
        }
        return r;
}

int qmp_execute(const char *path, const char *cmd, char **reply, int timeout_ms,
                struct mv_error **err)
{
        _cleanup_close_ int fd = qmp_connect(path, err);
        if (fd < 0)
                return fd;
        struct strbuf line = { 0 };
        int r = read_line(fd, &line, timeout_ms, err); /* the greeting */
        if (r >= 0)
                r = command(fd, "{\"execute\":\"qmp_capabilities\"}", &line, timeout_ms, err);
        if (r >= 0)
                r = command(fd, cmd, &line, timeout_ms, err);
        if (r >= 0 && reply)
                *reply = strbuf_take(&line);
        strbuf_free(&line);
        return r;
}

int qmp_send_ctrl_alt_del(const char *path, int timeout_ms, struct mv_error **err)
{
        _cleanup_close_ int fd = qmp_connect(path, err);
        if (fd < 0)
                return fd;
        struct strbuf line = { 0 };
        int r = read_line(fd, &line, timeout_ms, err);
        if (r >= 0)
                r = command(fd, "{\"execute\":\"qmp_capabilities\"}", &line, timeout_ms, err);
        if (r >= 0) {
                r = command(fd, ctrl_alt_del, &line, timeout_ms, err);
                /* qemu may be gone before it answers: the guest rebooted, -no-reboot ended it. */
                if (r == -EPIPE) {
                        mv_error_free(err);
                        r = 0;
                }
        }
        strbuf_free(&line);
        return r;
}

int qmp_parse_balloon_actual(const char *line, int64_t *actual)
{
        json_t *msg = json_loads(line, 0, NULL);
        json_t *value = json_object_get(json_object_get(msg, "return"), "actual");
        int r = json_is_integer(value) && json_integer_value(value) >= 0 ? 0 : -EBADMSG;
        if (r == 0)
                *actual = json_integer_value(value);
        json_decref(msg);
        return r;
}

int qmp_balloon(const char *path, int64_t bytes, int64_t *actual, int timeout_ms,
                struct mv_error **err)
{
        _cleanup_close_ int fd = qmp_connect(path, err);
        if (fd < 0)
                return fd;
        _cleanup_free_ char *set = xasprintf(
                "{\"execute\":\"balloon\",\"arguments\":{\"value\":%lld}}", (long long)bytes);
        struct strbuf line = { 0 };
        int r = read_line(fd, &line, timeout_ms, err);
        if (r >= 0)
                r = command(fd, "{\"execute\":\"qmp_capabilities\"}", &line, timeout_ms, err);
        if (r >= 0)
                r = command(fd, set, &line, timeout_ms, err);
        if (r >= 0)
                r = command(fd, "{\"execute\":\"query-balloon\"}", &line, timeout_ms, err);
        if (r >= 0 && qmp_parse_balloon_actual(line.data, actual) < 0)
                r = mv_error_fail(err, "query-balloon answered without the balloon's size: %s",
                                  line.data);
        strbuf_free(&line);
        return r;
}
