#include "host/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"

/*
 * Since systemd 256 the guest's sd_notify() waits for the host to close
 * the connection, and not every hypervisor passes the guest's half-close
 * on: a connection quiet this long has said what it had to say.
 */
#define IDLE_CLOSE_MS 200

void notify_parse(const char *msg, size_t len, bool *ready, char **status)
{
        const char *end = msg + len;
        while (msg < end) {
                const char *nl = memchr(msg, '\n', (size_t)(end - msg));
                const char *line_end = nl ? nl : end;
                size_t n = (size_t)(line_end - msg);
                if (n == 7 && memcmp(msg, "READY=1", 7) == 0)
                        *ready = true;
                else if (n >= 7 && memcmp(msg, "STATUS=", 7) == 0) {
                        free(*status);
                        *status = xstrndup(msg + 7, n - 7);
                }
                msg = nl ? nl + 1 : end;
        }
}

/*
 * The length of the well-formed UTF-8 sequence at `s` (`n` bytes left)
 * and its code point, or 0: no overlong forms, surrogates or values past
 * U+10FFFF.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
        static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        size_t len = s[0] < 0x80             ? 1
                     : (s[0] & 0xe0) == 0xc0 ? 2
                     : (s[0] & 0xf0) == 0xe0 ? 3
                     : (s[0] & 0xf8) == 0xf0 ? 4
                                             : 0;
        if (len == 0 || len > n)
                return 0;
        *cp = len == 1 ? s[0] : s[0] & (0x7f >> len);
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                *cp = (*cp << 6) | (s[i] & 0x3f);
        }
        if (*cp < min[len] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
                return 0;
        return len;
}

/* C0 and C1 controls and DEL: what could move a terminal's cursor or end a line. */
static bool is_control(uint32_t cp)
{
        return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

/* STATUS= text as printable UTF-8 of at most NOTIFY_STATUS_MAX bytes; returns the bytes written. */
static size_t sanitize_status(const char *text, size_t n, char *out)
{
        static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
        const unsigned char *s = (const unsigned char *)text;
        size_t o = 0;
        for (size_t i = 0; i < n;) {
                uint32_t cp = 0;
                size_t len = utf8_decode(s + i, n - i, &cp);
                const char *put = len ? text + i : replacement;
                size_t put_len = len ? len : sizeof(replacement) - 1;
                i += len ? len : 1;
                if (len && is_control(cp))
                        continue;
                /* Whole characters only: the cut never splits one. */
                if (o + put_len > NOTIFY_STATUS_MAX)
                        break;
                memcpy(out + o, put, put_len);
                o += put_len;
        }
        return o;
}

/* ERRNO=: only a plain non-negative decimal that fits an int is passed on. */
static bool parse_errno(const char *s, size_t n, int *out)
{
        long long v = 0;
        if (n == 0 || n > 10)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        if (v > INT_MAX)
                return false;
        *out = (int)v;
        return true;
}

/* Append a line to the filtered message; the caller made room for it. */
static void put_line(char *out, size_t *o, const char *key, const char *value, size_t n)
{
        if (*o)
                out[(*o)++] = '\n';
        memcpy(out + *o, key, strlen(key));
        *o += strlen(key);
        memcpy(out + *o, value, n);
        *o += n;
}

size_t notify_filter(const char *msg, size_t len, char *out, size_t out_size)
{
        const char *end = msg + len, *status = NULL;
        size_t status_len = 0;
        bool ready = false;
        int err_no = -1;

        if (out_size <= NOTIFY_RELAY_MAX) {
                if (out_size)
                        out[0] = '\0';
                return 0;
        }
        while (msg < end) {
                const char *nl = memchr(msg, '\n', (size_t)(end - msg));
                size_t n = (size_t)((nl ? nl : end) - msg);
                int e;
                if (n == 7 && memcmp(msg, "READY=1", 7) == 0) {
                        ready = true;
                } else if (n >= 7 && memcmp(msg, "STATUS=", 7) == 0) {
                        status = msg + 7;
                        status_len = n - 7;
                } else if (n >= 6 && memcmp(msg, "ERRNO=", 6) == 0 &&
                           parse_errno(msg + 6, n - 6, &e)) {
                        err_no = e;
                }
                msg = nl ? nl + 1 : end;
        }

        size_t o = 0;
        if (ready)
                put_line(out, &o, "READY=1", "", 0);
        if (status) {
                char text[NOTIFY_STATUS_MAX];
                put_line(out, &o, "STATUS=", text, sanitize_status(status, status_len, text));
        }
        if (err_no >= 0) {
                char num[16];
                int k = snprintf(num, sizeof(num), "%d", err_no);
                put_line(out, &o, "ERRNO=", num, (size_t)k);
        }
        out[o] = '\0';
        return o;
}

static void listener_init(struct notify_listener *l)
{
        memset(l, 0, sizeof(*l));
        l->fd = -1;
        const char *forward = getenv("NOTIFY_SOCKET");
        l->forward = forward && *forward ? xstrdup(forward) : NULL;
}

int notify_listen_unix(struct notify_listener *l, const char *path, struct mv_error **err)
{
        listener_init(l);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return mv_error_fail(err,
                                     "the notify socket path %s is longer than %zu bytes: use a "
                                     "shorter microvm.stateDir",
                                     path, sizeof(sa.sun_path) - 1);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        /* Left by a hypervisor that did not exit cleanly. */
        (void)unlink(path);
        l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (l->fd < 0)
                return mv_error_set(err, errno, "socket");
        if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l->fd, 16) < 0) {
                int e = errno;
                notify_close(l);
                return mv_error_set(err, e, "listen on %s", path);
        }
        l->path = xstrdup(path);
        /* The hypervisor may run as another user; it has the kvm group. */
        (void)chmod(path, 0660);
        return 0;
}

void notify_listen_fd(struct notify_listener *l, int fd)
{
        listener_init(l);
        l->fd = fd;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int notify_listen_vsock(struct notify_listener *l, uint32_t port, uint32_t cid,
                        struct mv_error **err)
{
        listener_init(l);
        struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
                                  .svm_cid = VMADDR_CID_ANY,
                                  .svm_port = port };
        l->peer_cid = cid;
        l->vsock = true;
        l->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (l->fd < 0) {
                mv_error_set(err, errno, "create a vsock socket");
                return mv_error_hint(err, "load the vsock modules (modprobe vhost_vsock)");
        }
        if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l->fd, 16) < 0) {
                int e = errno;
                notify_close(l);
                return mv_error_set(err, e, "listen on vsock port %u", port);
        }
        return 0;
}

size_t notify_pollfds(const struct notify_listener *l, struct pollfd *fds)
{
        size_t n = 0;
        fds[n++] = (struct pollfd){ .fd = l->fd, .events = POLLIN };
        for (size_t i = 0; i < l->n_conns; i++)
                fds[n++] = (struct pollfd){ .fd = l->conns[i].fd, .events = POLLIN };
        return n;
}

int notify_timeout_ms(const struct notify_listener *l)
{
        int64_t now = monotonic_ms();
        int timeout = -1;
        for (size_t i = 0; i < l->n_conns; i++) {
                int64_t left = l->conns[i].last_ms + IDLE_CLOSE_MS - now;
                int t = left > 0 ? (int)left : 0;
                if (timeout < 0 || t < timeout)
                        timeout = t;
        }
        return timeout;
}

/* Relay a message as one datagram, as sd_notify() itself sends it. */
static void forward(const char *to, const char *msg, size_t len)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(to);
        if (n >= sizeof(sa.sun_path))
                return;
        memcpy(sa.sun_path, to, n);
        if (to[0] == '@')
                sa.sun_path[0] = '\0'; /* an abstract socket */
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (to[0] != '@'));
        if (fd < 0 || sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sl) < 0)
                log_warning("relay the guest's notification to %s: %m", to);
}

/* How a connection ended, which says how much of what it sent is a whole message. */
enum conn_end {
        CONN_COMPLETE, /* the guest closed its side, or went quiet: all of it */
        CONN_CUT,      /* a read failed, or we stop: its complete lines only */
        CONN_TOO_LONG, /* it filled the buffer: none of it, as systemd ignores it */
};

/* What to read of a connection's buffer: never a line it was cut in. */
static size_t message_length(const struct notify_conn *c, enum conn_end end)
{
        if (end == CONN_TOO_LONG) {
                log_warning("ignored a notification from the guest of %d bytes or more",
                            NOTIFY_MAX_MESSAGE);
                return 0;
        }
        if (end == CONN_COMPLETE)
                return c->len;
        const char *nl = memrchr(c->buf, '\n', c->len);
        return nl ? (size_t)(nl - c->buf) + 1 : 0;
}

static void finish_conn(struct notify_listener *l, size_t i, enum conn_end end)
{
        struct notify_conn *c = &l->conns[i];
        char relay[NOTIFY_RELAY_MAX + 1];
        size_t n = notify_filter(c->buf, message_length(c, end), relay, sizeof(relay));
        if (n) {
                /* The local state comes from the filtered message too: STATUS is sanitised. */
                bool was_ready = l->ready;
                notify_parse(relay, n, &l->ready, &l->status);
                if (l->ready && !was_ready)
                        log_notice("the guest is ready (READY=1)");
                if (l->forward)
                        forward(l->forward, relay, n);
        }
        close(c->fd);
        l->conns[i] = l->conns[--l->n_conns];
}

static void accept_conns(struct notify_listener *l)
{
        for (;;) {
                struct sockaddr_vm peer;
                socklen_t pl = sizeof(peer);
                int fd =
                        accept4(l->fd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                        return;
                /* Over AF_VSOCK every guest reaches the port: only ours may say it is ready. */
                if (l->vsock && (peer.svm_family != AF_VSOCK || peer.svm_cid != l->peer_cid)) {
                        log_warning("ignored a notification from vsock CID %u", peer.svm_cid);
                        close(fd);
                        continue;
                }
                if (l->n_conns == NOTIFY_MAX_CONNS) {
                        close(fd);
                        continue;
                }
                l->conns[l->n_conns++] =
                        (struct notify_conn){ .fd = fd, .last_ms = monotonic_ms() };
        }
}

void notify_process(struct notify_listener *l, const struct pollfd *fds, size_t n)
{
        int64_t now = monotonic_ms();
        /* Connections first, by descriptor: finishing one reorders the array. */
        for (size_t k = 1; k < n; k++) {
                size_t i = 0;
                while (i < l->n_conns && l->conns[i].fd != fds[k].fd)
                        i++;
                if (i == l->n_conns || !fds[k].revents)
                        continue;
                struct notify_conn *c = &l->conns[i];
                ssize_t got = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
                if (got > 0) {
                        c->len += (size_t)got;
                        c->last_ms = now;
                }
                if (c->len == sizeof(c->buf))
                        finish_conn(l, i, CONN_TOO_LONG);
                else if (got == 0)
                        finish_conn(l, i, CONN_COMPLETE);
                else if (got < 0 && errno != EAGAIN && errno != EINTR)
                        finish_conn(l, i, CONN_CUT);
        }
        for (size_t i = l->n_conns; i-- > 0;)
                if (now - l->conns[i].last_ms >= IDLE_CLOSE_MS)
                        finish_conn(l, i, CONN_COMPLETE);
        if (n > 0 && fds[0].revents)
                accept_conns(l);
}

void notify_service_manager(const char *msg)
{
        const char *to = getenv("NOTIFY_SOCKET");
        if (to && *to)
                forward(to, msg, strlen(msg));
}

void notify_close(struct notify_listener *l)
{
        while (l->n_conns)
                finish_conn(l, l->n_conns - 1, CONN_CUT);
        if (l->fd >= 0)
                close(l->fd);
        l->fd = -1;
        if (l->path)
                (void)unlink(l->path);
        free(l->path);
        free(l->forward);
        free(l->status);
        l->path = l->forward = l->status = NULL;
}
