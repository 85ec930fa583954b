/*
 * A child process held as pid + pidfd. Signals go through the pidfd so a
 * recycled pid can never receive them.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct mv_error;

struct pidref {
        pid_t pid; /* 0: none */
        int fd;    /* pidfd, or -1 where the kernel has none */
};

#define PIDREF_NULL ((struct pidref){ .pid = 0, .fd = -1 })

/* Open a pidfd for `pid`. Only race-free for an unreaped child of ours. */
int pidref_set_pid(struct pidref *p, pid_t pid, struct mv_error **err);

bool pidref_is_set(const struct pidref *p);

int pidref_kill(const struct pidref *p, int sig, struct mv_error **err);

/* Wait for the process to exit (retrying on EINTR); `status` gets the waitpid() status. */
int pidref_wait(struct pidref *p, int *status, struct mv_error **err);

/* Close the pidfd and forget the process, without touching it. */
void pidref_done(struct pidref *p);

/*
 * SIGKILL and reap, for cleanup paths: a failed start must not leave a
 * helper (virtiofsd, say) running behind it.
 */
void pidref_kill_and_reap(struct pidref *p);

#define _cleanup_pidref_kill_ __attribute__((cleanup(pidref_kill_and_reap)))
