#include "host/vsock-connect.h"

#include <errno.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/unix-socket.h"

#define HANDSHAKE_TIMEOUT_MS 10000

int vsock_connect(uint32_t cid, uint32_t port, struct mv_error **err)
{
        _cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return mv_error_set(err, errno, "vsock socket (modprobe vhost_vsock?)");
        struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                return mv_error_set(err, errno, "connect to vsock %u port %u", cid, port);
        return TAKE_FD(fd);
}

int hybrid_vsock_connect(const char *name, uint32_t port, struct mv_error **err)
{
        _cleanup_close_ int fd = unix_socket_connect(name, err);
        if (fd < 0)
                return fd;
        char req[32];
        int n = snprintf(req, sizeof(req), "CONNECT %u\n", port);
        if (write_all(fd, req, (size_t)n) < 0)
                return mv_error_set(err, errno, "write to %s", name);
        /* The answer, one byte at a time: what follows it is the guest's. */
        char line[64];
        size_t len = 0;
        while (len < sizeof(line) - 1) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, HANDSHAKE_TIMEOUT_MS);
                if (r == 0)
                        return mv_error_fail(err, "%s did not answer CONNECT %u", name, port);
                ssize_t got = r < 0 ? -1 : read(fd, line + len, 1);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        return mv_error_fail(err,
                                             "%s closed on CONNECT %u: nothing listens on "
                                             "that port in the guest",
                                             name, port);
                if (line[len++] == '\n')
                        break;
        }
        line[len] = '\0';
        if (strncmp(line, "OK ", 3) != 0) {
                line[strcspn(line, "\n")] = '\0';
                return mv_error_fail(err, "%s answered CONNECT %u with '%s'", name, port, line);
        }
        return TAKE_FD(fd);
}

int vsock_relay(int fd, struct mv_error **err)
{
        bool in_open = true, out_open = true;
        char buf[16384];
        while (out_open) {
                struct pollfd p[2] = { { .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
                                       { .fd = fd, .events = POLLIN } };
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return mv_error_set(err, errno, "poll");
                }
                if (p[0].revents) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n > 0 && write_all(fd, buf, (size_t)n) < 0)
                                return mv_error_set(err, errno, "write to the guest");
                        if (n == 0 || (n < 0 && errno != EINTR)) {
                                in_open = false;
                                shutdown(fd, SHUT_WR);
                        }
                }
                if (p[1].revents) {
                        ssize_t n = read(fd, buf, sizeof(buf));
                        if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
                                return mv_error_set(err, errno, "write to standard output");
                        if (n == 0 || (n < 0 && errno != EINTR))
                                out_open = false;
                }
        }
        return 0;
}
