#include "util/io.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

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
