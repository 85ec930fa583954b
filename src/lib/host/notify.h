/*
 * Readiness from the guest: systemd in the guest sends sd_notify messages
 * ("READY=1\nSTATUS=...") over a vsock stream to port 8888 of the host.
 * cloud-hypervisor and firecracker forward such a connection to the unix
 * socket `notify.vsock_8888` beside their own (hybrid vsock); with qemu
 * and crosvm it arrives on an AF_VSOCK socket. The listener reads each
 * connection, records readiness and relays what the host's service
 * manager may hear from a guest (notify_filter()) to its $NOTIFY_SOCKET
 * when there is one.
 */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mv_error;

#define NOTIFY_MAX_CONNS   8
#define NOTIFY_MAX_MESSAGE 4096 /* a message this long or longer is ignored, as systemd does */
#define NOTIFY_STATUS_MAX  256  /* bytes of STATUS= text relayed */
/* The longest message notify_filter() makes: one line of each key it keeps. */
#define NOTIFY_RELAY_MAX (sizeof("READY=1\nSTATUS=\nERRNO=2147483647") - 1 + NOTIFY_STATUS_MAX)

struct notify_conn {
        int fd;
        int64_t last_ms; /* when it last sent something */
        size_t len;
        char buf[NOTIFY_MAX_MESSAGE];
};

struct notify_listener {
        int fd;
        char *path;        /* the unix socket, removed on close; NULL for AF_VSOCK */
        bool vsock;        /* AF_VSOCK, not a unix socket */
        uint32_t peer_cid; /* AF_VSOCK: the only CID accepted */
        char *forward;     /* $NOTIFY_SOCKET to relay to, or NULL */
        bool ready;        /* READY=1 was seen */
        char *status;      /* the last STATUS=, or NULL */
        struct notify_conn conns[NOTIFY_MAX_CONNS];
        size_t n_conns;
};

/*
 * What a message says: `ready` set on READY=1, `*status` replaced by the
 * value of a STATUS= line (malloc'd). Lines are KEY=VALUE separated by
 * newlines; anything else is ignored, as systemd does.
 */
void notify_parse(const char *msg, size_t len, bool *ready, char **status);

/*
 * What of a guest's message may reach the host's service manager:
 * READY=1, STATUS= and ERRNO=, each at most once, in that order, one per
 * line. Every other line is dropped (MAINPID=, STOPPING=1, FDSTORE=1,
 * WATCHDOG=, EXTEND_TIMEOUT_USEC=, ...: the guest has no say over the
 * host's unit). STATUS= is the last one, its text printable UTF-8
 * (control characters dropped, invalid bytes replaced by U+FFFD) cut to
 * NOTIFY_STATUS_MAX bytes between characters; ERRNO= the last one that is
 * a plain non-negative decimal int. Writes a NUL-terminated message to
 * `out`, which needs more than NOTIFY_RELAY_MAX bytes, and returns its
 * length: 0 when nothing is left to relay.
 */
size_t notify_filter(const char *msg, size_t len, char *out, size_t out_size);

/* Listen on the unix socket `path` (a stale one is replaced). */
int notify_listen_unix(struct notify_listener *l, const char *path, struct mv_error **err);

/* Take over `fd`, a unix socket the caller bound and listens on (hybrid vsock). */
void notify_listen_fd(struct notify_listener *l, int fd);

/* Listen on AF_VSOCK `port` for connections from guest `cid`. */
int notify_listen_vsock(struct notify_listener *l, uint32_t port, uint32_t cid,
                        struct mv_error **err);

/* Fill `fds` (at least 1 + NOTIFY_MAX_CONNS) with what to poll; returns the count. */
size_t notify_pollfds(const struct notify_listener *l, struct pollfd *fds);

/* Milliseconds until an idle connection is due to be closed, or -1. */
int notify_timeout_ms(const struct notify_listener *l);

/* Handle what poll() reported on the descriptors notify_pollfds() gave. */
void notify_process(struct notify_listener *l, const struct pollfd *fds, size_t n);

void notify_close(struct notify_listener *l);

/* Send `msg` to the service manager that started us ($NOTIFY_SOCKET), if any. */
void notify_service_manager(const char *msg);
