#include "monitor/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/io.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/unix-socket.h"
#include "util/xalloc.h"

static void say(int fd, const char *text)
{
        /* A client too slow for a few bytes is dropped by the next read; never wait for it. */
        (void)!send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void drop_client(struct control *c, size_t i)
{
        close(c->clients[i].fd);
        c->clients[i] = c->clients[--c->n_clients];
}

static void answer_status(struct control *c, int fd)
{
        static const char *const phases[] = {
                [PHASE_STARTING] = "starting",
                [PHASE_RUNNING] = "running",
                [PHASE_STOPPING] = "stopping",
                [PHASE_WAITING] = "waiting",
        };
        char line[160];
        snprintf(line, sizeof(line),
                 "{\"pid\": %d, \"phase\": \"%s\", \"ready\": %s, \"restarts\": %d}\n",
                 (int)getpid(), phases[c->phase], c->ready ? "true" : "false", c->restarts);
        say(fd, line);
}

/* One request line per connection; anything else is a client to hang up on. */
static void handle_request(struct control *c, size_t i)
{
        char buf[64];
        ssize_t n = recv(c->clients[i].fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                drop_client(c, i);
                return;
        }
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        int fd = c->clients[i].fd;
        if (strcmp(buf, "stop") == 0) {
                log_info("stop requested on the control socket");
                loop_request_stop(c->loop);
                c->phase = PHASE_STOPPING;
                c->clients[i].waits_exit = true;
                say(fd, "stopping\n");
        } else if (strcmp(buf, "wait-ready") == 0 && c->ready) {
                say(fd, "ready\n");
                drop_client(c, i);
        } else if (strcmp(buf, "wait-ready") == 0) {
                c->clients[i].waits_ready = true;
        } else if (strcmp(buf, "status") == 0) {
                answer_status(c, fd);
                drop_client(c, i);
        } else {
                say(fd, "unknown request\n");
                drop_client(c, i);
        }
}

static void accept_clients(struct control *c)
{
        int fd;
        while ((fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
                if (c->n_clients == CONTROL_MAX_CLIENTS) {
                        close(fd);
                        continue;
                }
                c->clients[c->n_clients++] = (typeof(c->clients[0])){ .fd = fd };
        }
}

static size_t control_pollfds(void *data, struct pollfd *fds, size_t max)
{
        struct control *c = data;
        size_t n = 0;
        if (n < max)
                fds[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
        for (size_t i = 0; i < c->n_clients && n < max; i++)
                fds[n++] = (struct pollfd){ .fd = c->clients[i].fd, .events = POLLIN };
        return n;
}

static void control_process(void *data, const struct pollfd *fds, size_t n)
{
        struct control *c = data;
        /* Clients by descriptor, last first: handling one may drop it. */
        for (size_t k = n; k-- > 1;) {
                if (!fds[k].revents)
                        continue;
                for (size_t i = 0; i < c->n_clients; i++)
                        if (c->clients[i].fd == fds[k].fd) {
                                handle_request(c, i);
                                break;
                        }
        }
        if (n > 0 && fds[0].revents)
                accept_clients(c);
}

int control_listen(struct control *c, struct loop *l, int dirfd, const char *shown,
                   struct mv_error **err)
{
        memset(c, 0, sizeof(*c));
        c->loop = l;
        c->listen_fd = -1;
        char proc[64];
        /* Bound through the directory's descriptor: the path cannot lead elsewhere. */
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d/" CONTROL_SOCKET, dirfd);
        (void)unlinkat(dirfd, CONTROL_SOCKET, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        memcpy(sa.sun_path, proc, strlen(proc) + 1);
        c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->listen_fd < 0)
                return mv_error_set(err, errno, "socket");
        mode_t old = umask(0177);
        int r = bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0 || listen(c->listen_fd, 16) < 0) {
                r = mv_error_set(err, errno, "listen on %s", shown);
                close(c->listen_fd);
                c->listen_fd = -1;
                return r;
        }
        c->path = xstrdup(shown);
        loop_add_source(l, &(struct loop_source){ .pollfds = control_pollfds,
                                                  .process = control_process,
                                                  .data = c });
        return 0;
}

void control_ready(struct control *c)
{
        c->ready = true;
        c->phase = PHASE_RUNNING;
        for (size_t i = c->n_clients; i-- > 0;)
                if (c->clients[i].waits_ready) {
                        say(c->clients[i].fd, "ready\n");
                        drop_client(c, i);
                }
}

void control_failed(struct control *c, const char *message)
{
        for (size_t i = c->n_clients; i-- > 0;)
                if (c->clients[i].waits_ready) {
                        say(c->clients[i].fd, "failed\n");
                        say(c->clients[i].fd, message);
                        drop_client(c, i);
                }
}

void control_close(struct control *c)
{
        if (c->loop)
                loop_remove_source(c->loop, c);
        /* Gone for new clients before a stop waiter sees EOF and starts the VM again. */
        if (c->listen_fd >= 0) {
                (void)unlink(c->path);
                close(c->listen_fd);
        }
        while (c->n_clients)
                drop_client(c, c->n_clients - 1);
        c->listen_fd = -1;
        free(c->path);
        c->path = NULL;
        c->loop = NULL;
}

int control_request(const char *records, const char *request, int timeout_ms, char **answer,
                    struct mv_error **err)
{
        *answer = NULL;
        _cleanup_free_ char *path = xasprintf("%s/" CONTROL_SOCKET, records);
        _cleanup_close_ int fd = unix_socket_connect(path, NULL);
        /* Nothing listens: not an error to report, an answer. */
        if (fd == -ENOENT || fd == -ECONNREFUSED)
                return fd;
        if (fd < 0)
                return mv_error_set(err, -fd, "connect to %s", path);
        _cleanup_free_ char *line = xasprintf("%s\n", request);
        int r = send_all(fd, line, strlen(line));
        if (r < 0)
                return mv_error_set(err, -r, "send to %s", path);
        struct strbuf b = { 0 };
        int64_t end = monotonic_ms() + timeout_ms;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int64_t left = end - monotonic_ms();
                int n = timeout_ms < 0 ? poll(&p, 1, -1) : poll(&p, 1, left > 0 ? (int)left : 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0) {
                        *answer = strbuf_take(&b);
                        return mv_error_set(err, ETIMEDOUT, "no answer from %s in time", path);
                }
                char buf[1024];
                ssize_t got = read(fd, buf, sizeof(buf));
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        break;
                strbuf_putn(&b, buf, (size_t)got);
        }
        *answer = b.data ? strbuf_take(&b) : xstrdup("");
        return 0;
}
