/*
 * The one way microvm starts a program: fork + execve of an argv vector,
 * with a clean slate in the child (default signal handling, empty signal
 * mask, only stdio open) and exec failures reported back to the caller.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "util/pidref.h"

struct mv_error;

#define SPAWN_FD_NULL    (-1) /* connect to /dev/null */
#define SPAWN_FD_INHERIT (-2) /* keep the caller's descriptor */

/*
 * Who the child runs as. Applied after everything else that needs root
 * and before exec, in the order setgroups, setgid, setuid: once the uid is
 * gone, the groups could no longer be changed.
 */
struct spawn_credentials {
        uid_t uid;        /* (uid_t)-1: keep */
        gid_t gid;        /* (gid_t)-1: keep */
        bool drop_groups; /* supplementary groups: `gid` alone (none if gid is kept) */
};

struct spawn_options {
        char *const *argv; /* argv[0] is the program's path: resolve names with find_program() */
        const char *argv0; /* non-NULL: what the program sees as argv[0] (exec -a) */
        char *const *envp; /* NULL: the caller's environment */
        int stdin_fd, stdout_fd, stderr_fd; /* a descriptor, SPAWN_FD_NULL or SPAWN_FD_INHERIT */
        int pdeath_signal;                  /* sent to the child if we die first; 0: none */
        const char *cwd;                    /* NULL: the caller's */
        int cwd_fd;          /* >= 0: fchdir() there instead (no path to swap underneath) */
        int umask;           /* >= 0: the child's umask (files it creates); -1: the caller's */
        bool new_session;    /* setsid(): no controlling terminal */
        const int *pass_fds; /* become the child's descriptors 3, 4, ... */
        size_t n_pass_fds;
        const struct spawn_credentials *credentials; /* NULL: the caller's */
        const struct rlimit *memlock; /* RLIMIT_MEMLOCK, set before the credentials; NULL: keep */
        const struct rlimit *nofile;  /* RLIMIT_NOFILE, likewise */
};

#define SPAWN_OPTIONS(args)                                                                        \
        ((struct spawn_options){                                                                   \
                .argv = (args),                                                                    \
                .stdin_fd = SPAWN_FD_INHERIT,                                                      \
                .stdout_fd = SPAWN_FD_INHERIT,                                                     \
                .stderr_fd = SPAWN_FD_INHERIT,                                                     \
                .cwd_fd = -1,                                                                      \
                .umask = -1,                                                                       \
        })

/*
 * Start the program. Returns 0 once it has exec'd (so a missing binary, a
 * bad cwd or a credential change that failed is an error here, not an
 * exit status 127 later).
 */
int spawn_process(const struct spawn_options *opts, struct pidref *child, struct mv_error **err);

/* Run to completion; `exit_status` gets the exit code, or 128+signal if it was killed. */
int spawn_and_wait(const struct spawn_options *opts, int *exit_status, struct mv_error **err);

/*
 * Run argv to completion with stdin from /dev/null and stdout and stderr
 * collected in `*output` (malloc'd); `*exit_status` as spawn_and_wait.
 */
int spawn_collect(char *const *argv, int *exit_status, char **output, struct mv_error **err);

/* spawn_collect, but a program still running after `timeout_ms` (-1: none) is killed: ETIMEDOUT. */
int spawn_collect_timeout(char *const *argv, int timeout_ms, int *exit_status, char **output,
                          struct mv_error **err);

/*
 * How a caller waits for a child it started. The blocking one waits in
 * place; a monitor's event loop keeps serving its VM meanwhile and can
 * cancel the wait (monitor/loop.h). On a timeout or a cancel the child is
 * killed and reaped, and the error says which (ETIMEDOUT, ECANCELED).
 */
struct child_waiter {
        int (*wait)(struct child_waiter *w, struct pidref *child, int timeout_ms, int *exit_status,
                    struct mv_error **err);
};

extern struct child_waiter child_waiter_blocking;

/*
 * Run `o` to completion through waiter `w` (NULL: blocking), for at most
 * `timeout_ms` (-1: no limit). With `output`, the child's stdout and stderr
 * go to a memory file, whose last 64 KiB `*output` gets (malloc'd).
 */
int spawn_run(const struct spawn_options *o, struct child_waiter *w, int timeout_ms,
              int *exit_status, char **output, struct mv_error **err);

/* Resolve `name` through $PATH (or take it as a path if it has a '/'); result is malloc'd. */
int find_program(const char *name, char **path, struct mv_error **err);

/* Exit code (0-255) or 128+signal, from a waitpid() status. */
int wait_status_to_exit_code(int status);
