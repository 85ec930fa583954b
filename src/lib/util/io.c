#include "util/io.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static int put_all(int fd, const void *data, size_t len, bool to_socket)
{
        const char *p = data;
        while (len > 0) {
                ssize_t n = to_socket ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int write_all(int fd, const void *data, size_t len)
{
        return put_all(fd, data, len, false);
}

int send_all(int fd, const void *data, size_t len)
{
        return put_all(fd, data, len, true);
}

int read_fd_full(int fd, char **contents, size_t max, struct mv_error **err)
{
        struct strbuf b = { 0 };
        char chunk[4096];
        for (;;) {
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        strbuf_free(&b);
                        return mv_error_set(err, e, "read");
                }
                if (n == 0)
                        break;
                if (b.len + (size_t)n > max) {
                        strbuf_free(&b);
                        return mv_error_set(err, E2BIG, "more than %zu bytes to read", max);
                }
                strbuf_putn(&b, chunk, (size_t)n);
        }
        *contents = b.data ? strbuf_take(&b) : xstrdup("");
        return 0;
}
