#include "host/http-unix.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/unix-socket.h"

static int send_all(int fd, const char *data, size_t len, struct mv_error **err)
{
        while (len) {
                ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return mv_error_set(err, errno, "send request");
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

int http_unix_request(const char *socket_path, const char *method, const char *path,
                      const char *body, int timeout_ms, int *status, char **response,
                      struct mv_error **err)
{
        _cleanup_close_ int fd = unix_socket_connect(socket_path, err);
        if (fd < 0)
                return mv_error_wrap(err, "API socket");

        struct strbuf req = { 0 };
        strbuf_printf(&req,
                      "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
                      "Connection: close\r\n",
                      method, path);
        if (body)
                strbuf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                              strlen(body));
        else
                strbuf_puts(&req, "Content-Length: 0\r\n");
        strbuf_puts(&req, "\r\n");
        if (body)
                strbuf_puts(&req, body);
        int r = send_all(fd, req.data, req.len, err);
        strbuf_free(&req);
        if (r < 0)
                return r;

        /* Read until the server closes, or the headers' Content-Length is complete. */
        struct strbuf in = { 0 };
        char chunk[4096];
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int n = poll(&p, 1, timeout_ms);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        strbuf_free(&in);
                        return n == 0 ? mv_error_fail(err, "no answer from %s within %d ms",
                                                      socket_path, timeout_ms)
                                      : mv_error_set(err, errno, "poll");
                }
                ssize_t got = read(fd, chunk, sizeof(chunk));
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        break;
                strbuf_putn(&in, chunk, (size_t)got);
                const char *end = strstr(in.data, "\r\n\r\n");
                const char *cl = strcasestr(in.data, "\r\nContent-Length:");
                if (end && cl && cl < end &&
                    in.len >= (size_t)(end + 4 - in.data) + strtoul(cl + 17, NULL, 10))
                        break;
        }
        int code;
        if (!in.data || sscanf(in.data, "HTTP/1.%*d %d", &code) != 1) {
                strbuf_free(&in);
                return mv_error_fail(err, "no HTTP answer from %s", socket_path);
        }
        *status = code;
        if (response) {
                const char *end = strstr(in.data, "\r\n\r\n");
                *response = strdup(end ? end + 4 : "");
        }
        strbuf_free(&in);
        return 0;
}
