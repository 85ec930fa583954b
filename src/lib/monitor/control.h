/*
 * The control socket of whatever runs a VM (a monitor or `microvm run`):
 * STATE/.host/NAME/control.sock, mode 0600 in root's records. The process
 * that answers on it is the authority on the VM: `stop` asks it instead of
 * signalling a pid read from a file, and a start that finds the VM taken
 * asks it to say when the VM is ready. Requests are one line:
 *
 *   stop        answered "stopping", then the connection stays open until
 *               the process has torn everything down and exits (EOF)
 *   wait-ready  answered "ready" once the VM is ready, or "failed" and the
 *               reason when its start fails, or EOF when it ends
 *   status      answered with one line of JSON: pid, phase, ready, restarts
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "monitor/loop.h"

struct mv_error;

#define CONTROL_SOCKET      "control.sock"
#define CONTROL_MAX_CLIENTS 16

enum control_phase {
        PHASE_STARTING,
        PHASE_RUNNING,
        PHASE_STOPPING,
        PHASE_WAITING, /* between runs: the restart delay */
};

struct control {
        int listen_fd;
        char *path;
        struct loop *loop;
        struct {
                int fd;
                bool waits_ready; /* answered when the VM is ready or fails */
                bool waits_exit;  /* a stop: keeps the connection until we exit */
        } clients[CONTROL_MAX_CLIENTS];
        size_t n_clients;
        /* What status answers. */
        enum control_phase phase;
        bool ready;
        int restarts;
};

/* Listen on `dirfd`/CONTROL_SOCKET (`shown` for messages), registered with the loop. */
int control_listen(struct control *c, struct loop *l, int dirfd, const char *shown,
                   struct mv_error **err);

/* The VM is ready: tell those waiting for it. */
void control_ready(struct control *c);
/* The start failed with `message`: tell those waiting for readiness. */
void control_failed(struct control *c, const char *message);

/* Stop listening and hang up on everyone: stop waiters see EOF. */
void control_close(struct control *c);

/*
 * Client: send `request` to the control socket in `records` and read the
 * answer until EOF or `timeout_ms`. -ENOENT or -ECONNREFUSED when nothing
 * listens there (no err); -ETIMEDOUT when the answer did not end in time
 * (what came so far is in `*answer`).
 */
int control_request(const char *records, const char *request, int timeout_ms, char **answer,
                    struct mv_error **err);
