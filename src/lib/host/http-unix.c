#include "host/http-unix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/http-response.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/unix-socket.h"
#include "util/xalloc.h"

/* Wait until `fd` is ready for `events` or the deadline passes: 1, 0 on timeout, -errno. */
static int wait_for(int fd, short events, int64_t deadline)
{
        for (;;) {
                int64_t left = deadline - monotonic_ms();
                if (left <= 0)
                        return 0;
                struct pollfd p = { .fd = fd, .events = events };
                int r = poll(&p, 1, (int)left);
                if (r >= 0)
                        return r;
                if (errno != EINTR)
                        return -errno;
        }
}

static int send_request(int fd, const char *text, size_t len, int64_t deadline,
                        const char *socket_path, int timeout_ms, struct mv_error **err)
{
        size_t done = 0;
        while (done < len) {
                ssize_t n = send(fd, text + done, len - done, MSG_NOSIGNAL);
                if (n > 0) {
                        done += (size_t)n;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno != EAGAIN)
                        return mv_error_set(err, errno, "sending the request to %s", socket_path);
                int r = wait_for(fd, POLLOUT, deadline);
                if (r < 0)
                        return mv_error_set(err, -r, "waiting to write to %s", socket_path);
                if (r == 0)
                        return mv_error_fail(err, "%s took no request within %d ms", socket_path,
                                             timeout_ms);
        }
        return 0;
}

/* Read until the answer is whole; `in` holds it, `out` says where its parts are. */
static int read_response(int fd, int64_t deadline, const char *socket_path, int timeout_ms,
                         struct strbuf *in, struct http_response *out, struct mv_error **err)
{
        char chunk[4096];
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno != EAGAIN)
                        return mv_error_set(err, errno, "reading the answer from %s", socket_path);
                if (n < 0) {
                        int r = wait_for(fd, POLLIN, deadline);
                        if (r < 0)
                                return mv_error_set(err, -r, "waiting for %s", socket_path);
                        if (r == 0)
                                return mv_error_fail(err, "no answer from %s within %d ms",
                                                     socket_path, timeout_ms);
                        continue;
                }
                strbuf_putn(in, chunk, (size_t)n);
                enum http_parse_result r =
                        http_response_parse(in->data ? in->data : "", in->len, n == 0, out);
                if (r == HTTP_COMPLETE)
                        return 0;
                if (r == HTTP_MALFORMED)
                        return mv_error_fail(err, "bad answer from %s: %s", socket_path,
                                             out->error);
        }
}

/* The paths are the program's own constants; still, nothing may break the request line. */
static bool path_is_plain(const char *path)
{
        if (path[0] != '/')
                return false;
        for (const char *p = path; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

static bool method_is_plain(const char *method)
{
        if (!*method)
                return false;
        for (const char *p = method; *p; p++)
                if (*p < 'A' || *p > 'Z')
                        return false;
        return true;
}

int http_unix_request(const char *socket_path, const char *method, const char *path,
                      const char *body, int timeout_ms, int *status, char **response,
                      struct mv_error **err)
{
        if (!method_is_plain(method) || !path_is_plain(path))
                return mv_error_fail(err, "invalid HTTP request: %s %s", method, path);
        int64_t deadline = monotonic_ms() + timeout_ms;
        _cleanup_close_ int fd = unix_socket_connect(socket_path, err);
        if (fd < 0) {
                mv_error_wrap(err, "API socket");
                return mv_error_hint(err, "is the VM running?");
        }
        if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
                return mv_error_set(err, errno, "fcntl on %s", socket_path);

        struct strbuf req = { 0 };
        strbuf_printf(&req,
                      "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
                      "Connection: close\r\n",
                      method, path);
        if (body)
                strbuf_puts(&req, "Content-Type: application/json\r\n");
        /* Always a length, so that even an empty PUT carries Content-Length: 0. */
        strbuf_printf(&req, "Content-Length: %zu\r\n\r\n", body ? strlen(body) : 0);
        if (body)
                strbuf_puts(&req, body);
        int r = send_request(fd, req.data, req.len, deadline, socket_path, timeout_ms, err);
        strbuf_free(&req);
        if (r < 0)
                return r;

        struct strbuf in = { 0 };
        struct http_response answer = { 0 };
        r = read_response(fd, deadline, socket_path, timeout_ms, &in, &answer, err);
        if (r >= 0) {
                *status = answer.status;
                if (response)
                        *response = xstrndup(in.data + answer.body_offset, answer.body_length);
        }
        strbuf_free(&in);
        return r;
}
