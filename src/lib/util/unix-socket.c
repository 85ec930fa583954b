#include "util/unix-socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/error.h"

int unix_socket_connect(const char *path, struct mv_error **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return mv_error_fail(err, "socket path too long (at most %zu bytes): %s",
                                     sizeof(sa.sun_path) - 1, path);
        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return mv_error_set(err, errno, "socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return mv_error_set(err, e, "connect to %s", path);
        }
        return fd;
}
