#include "host/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static int open_log(struct console *c, struct mv_error **err)
{
        c->log_fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (c->log_fd < 0)
                return mv_error_set(err, errno, "open %s", c->log_path);
        struct stat st;
        c->log_size = fstat(c->log_fd, &st) == 0 ? st.st_size : 0;
        if (c->stderr_follows_log) {
                dup2(c->log_fd, STDOUT_FILENO);
                dup2(c->log_fd, STDERR_FILENO);
        }
        return 0;
}

/* Past the cap, the log becomes console.log.1 (replacing the older one) and starts afresh. */
static void rotate_log(struct console *c)
{
        _cleanup_free_ char *old = xasprintf("%s.1", c->log_path);
        if (rename(c->log_path, old) < 0)
                return;
        int prev = c->log_fd;
        if (open_log(c, NULL) < 0) {
                c->log_fd = prev; /* keep writing where we were rather than lose output */
                return;
        }
        close(prev);
}

static int open_pty(struct console *c, struct mv_error **err)
{
        c->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (c->master < 0)
                return mv_error_set(err, errno, "open a pty");
        char name[64];
        if (grantpt(c->master) < 0 || unlockpt(c->master) < 0 ||
            ptsname_r(c->master, name, sizeof(name)) != 0)
                return mv_error_set(err, errno, "set up the pty");
        c->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (c->slave < 0)
                return mv_error_set(err, errno, "open %s", name);
        /* Bytes as the guest sent them: no newline translation, no echo. */
        struct termios t;
        if (tcgetattr(c->slave, &t) == 0) {
                cfmakeraw(&t);
                tcsetattr(c->slave, TCSANOW, &t);
        }
        /* The relay never blocks: a stalled client must not stall the guest. */
        fcntl(c->master, F_SETFL, fcntl(c->master, F_GETFL) | O_NONBLOCK);
        return 0;
}

static int listen_socket(struct console *c, struct mv_error **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(c->sock_path) >= sizeof(sa.sun_path))
                return mv_error_fail(err,
                                     "the console socket path %s is too long: use a shorter "
                                     "microvm.stateDir",
                                     c->sock_path);
        memcpy(sa.sun_path, c->sock_path, strlen(c->sock_path) + 1);
        (void)unlink(c->sock_path);
        c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->listen_fd < 0)
                return mv_error_set(err, errno, "socket");
        /* Only root (or whoever runs the monitor) attaches: the console is a root shell. */
        mode_t old = umask(0177);
        int r = bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0 || listen(c->listen_fd, 4) < 0)
                return mv_error_set(err, errno, "listen on %s", c->sock_path);
        return 0;
}

int console_open(struct console *c, const char *log_path, const char *sock_path, off_t cap,
                 int stderr_follows_log, struct mv_error **err)
{
        memset(c, 0, sizeof(*c));
        c->master = c->slave = c->listen_fd = c->log_fd = c->copy_fd = -1;
        for (size_t i = 0; i < CONSOLE_MAX_CLIENTS; i++)
                c->clients[i] = -1;
        c->log_path = xstrdup(log_path);
        c->sock_path = xstrdup(sock_path);
        c->cap = cap;
        c->stderr_follows_log = stderr_follows_log;
        int r = open_log(c, err);
        if (r >= 0)
                r = open_pty(c, err);
        if (r >= 0)
                r = listen_socket(c, err);
        if (r < 0)
                console_close(c);
        return r;
}

size_t console_pollfds(const struct console *c, struct pollfd *fds)
{
        size_t n = 0;
        fds[n++] = (struct pollfd){ .fd = c->master, .events = POLLIN };
        fds[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
        for (size_t i = 0; i < CONSOLE_MAX_CLIENTS; i++)
                fds[n++] = (struct pollfd){ .fd = c->clients[i], .events = POLLIN };
        return n;
}

static void drop_client(struct console *c, size_t i)
{
        close(c->clients[i]);
        c->clients[i] = -1;
}

/* A journal that does not keep up loses console output, never the loop's time. */
static void copy_out(struct console *c, const char *buf, size_t n)
{
        if (c->copy_fd < 0)
                return;
        if (send(c->copy_fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == ENOTSOCK)
                (void)!write(c->copy_fd, buf, n);
}

static void guest_output(struct console *c)
{
        char buf[8192];
        ssize_t n;
        while ((n = read(c->master, buf, sizeof(buf))) > 0) {
                if (c->log_size + n > c->cap)
                        rotate_log(c);
                if (write(c->log_fd, buf, (size_t)n) == n)
                        c->log_size += n;
                copy_out(c, buf, (size_t)n);
                for (size_t i = 0; i < CONSOLE_MAX_CLIENTS; i++)
                        if (c->clients[i] >= 0 &&
                            send(c->clients[i], buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
                                drop_client(c, i); /* gone, or too slow to keep up */
        }
}

void console_tell_clients(struct console *c, const char *text, size_t len)
{
        char buf[2048];
        size_t n = 0;
        for (size_t k = 0; k < len && n + 2 <= sizeof(buf); k++) {
                if (text[k] == '\n' && (k == 0 || text[k - 1] != '\r'))
                        buf[n++] = '\r';
                buf[n++] = text[k];
        }
        for (size_t i = 0; i < CONSOLE_MAX_CLIENTS; i++)
                if (c->clients[i] >= 0 &&
                    send(c->clients[i], buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)n)
                        drop_client(c, i);
}

void console_log_tee(void *ctx, const char *line, size_t len)
{
        console_tell_clients(ctx, line, len);
}

static void client_input(struct console *c, size_t i)
{
        char buf[1024];
        ssize_t n = recv(c->clients[i], buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                drop_client(c, i);
                return;
        }
        if (n > 0)
                (void)!write(c->master, buf, (size_t)n);
}

static void accept_clients(struct console *c)
{
        int fd;
        while ((fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
                size_t i = 0;
                while (i < CONSOLE_MAX_CLIENTS && c->clients[i] >= 0)
                        i++;
                if (i == CONSOLE_MAX_CLIENTS) {
                        (void)!send(fd, CONSOLE_FULL, strlen(CONSOLE_FULL),
                                    MSG_NOSIGNAL | MSG_DONTWAIT);
                        close(fd);
                        continue;
                }
                if (send(fd, CONSOLE_HELLO, strlen(CONSOLE_HELLO), MSG_NOSIGNAL | MSG_DONTWAIT) !=
                    (ssize_t)strlen(CONSOLE_HELLO)) {
                        close(fd);
                        continue;
                }
                c->clients[i] = fd;
        }
}

void console_process(struct console *c, const struct pollfd *fds, size_t n)
{
        if (n > 0 && fds[0].revents)
                guest_output(c);
        for (size_t k = 2; k < n; k++) {
                size_t i = k - 2;
                if (fds[k].fd >= 0 && fds[k].fd == c->clients[i] && fds[k].revents)
                        client_input(c, i);
        }
        if (n > 1 && fds[1].revents)
                accept_clients(c);
}

void console_close(struct console *c)
{
        if (c->master >= 0 && c->log_fd >= 0)
                guest_output(c); /* what is still in the pty */
        for (size_t i = 0; i < CONSOLE_MAX_CLIENTS; i++)
                if (c->clients[i] >= 0)
                        drop_client(c, i);
        int *fds[] = { &c->master, &c->slave, &c->listen_fd, &c->log_fd };
        for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
                if (*fds[i] >= 0) {
                        close(*fds[i]);
                        *fds[i] = -1;
                }
        if (c->sock_path)
                (void)unlink(c->sock_path);
        free(c->log_path);
        free(c->sock_path);
        c->log_path = c->sock_path = NULL;
}

size_t console_log_tail(const char *log, size_t len, size_t lines)
{
        if (lines == 0)
                return len;
        /* A final newline ends the last line; it does not begin another. */
        size_t i = len && log[len - 1] == '\n' ? len - 1 : len;
        while (i > 0) {
                if (log[i - 1] == '\n' && --lines == 0)
                        return i;
                i--;
        }
        return 0;
}
