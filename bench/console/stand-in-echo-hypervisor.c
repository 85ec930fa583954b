/*
 * A stand-in hypervisor for bench/console: it echoes every byte of its
 * console (stdin, the monitor's pty) back, ignores SIGTERM, and given
 * cloud-hypervisor's `--api-socket PATH` accepts connections there and
 * never answers. A stop then goes the longest way: the graceful request
 * waits out its deadline, SIGTERM is ignored, SIGKILL ends it after the
 * grace period. Meanwhile the benchmark measures how long a byte typed on
 * the attached console takes to come back.
 */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int listen_api(const char *path)
{
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        size_t len = strlen(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || len >= sizeof(addr.sun_path))
                return -1;
        memcpy(addr.sun_path, path, len + 1);
        if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 8) < 0)
                return -1;
        return fd;
}

int main(int argc, char **argv)
{
        signal(SIGTERM, SIG_IGN);
        int api = -1;
        for (int i = 1; i + 1 < argc; i++)
                if (strcmp(argv[i], "--api-socket") == 0)
                        api = listen_api(strncmp(argv[i + 1], "path=", 5) == 0 ? argv[i + 1] + 5
                                                                               : argv[i + 1]);
        int held[64], n_held = 0;
        for (;;) {
                struct pollfd fds[2] = { { .fd = 0, .events = POLLIN },
                                         { .fd = api, .events = POLLIN } };
                if (poll(fds, 2, -1) < 0)
                        continue;
                if (fds[0].revents) {
                        char buf[256];
                        ssize_t n = read(0, buf, sizeof(buf));
                        if (n <= 0)
                                return 0;
                        (void)!write(1, buf, (size_t)n);
                }
                if (fds[1].revents) {
                        int c = accept(api, NULL, NULL);
                        /* Held open, never answered: the request waits out its deadline. */
                        if (c >= 0 && n_held < 64)
                                held[n_held++] = c;
                        else if (c >= 0)
                                close(c);
                }
        }
}
