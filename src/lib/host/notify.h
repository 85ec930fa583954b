/*
 * Readiness from the guest: systemd in the guest sends sd_notify messages
 * ("READY=1\nSTATUS=...") over a vsock stream to port 8888 of the host.
 * cloud-hypervisor and firecracker forward such a connection to the unix
 * socket `notify.vsock_8888` beside their own (hybrid vsock); with qemu
 * and crosvm it arrives on an AF_VSOCK socket. The listener reads each
 * connection, records readiness and relays the message, unchanged, to the
 * service manager's $NOTIFY_SOCKET when there is one.
 */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mv_error;

#define NOTIFY_MAX_CONNS   8
#define NOTIFY_MAX_MESSAGE 4096

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
