/* Shared by the unit tests: cmocka boilerplate and scratch directories. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* A fresh directory under $TMPDIR; removed (recursively) by scratch_dir_remove(). */
static inline char *scratch_dir_new(void)
{
        const char *tmp = getenv("TMPDIR");
        char *path = NULL;
        if (asprintf(&path, "%s/microvm-test.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                abort();
        if (!mkdtemp(path))
                abort();
        return path;
}

static inline void scratch_dir_remove(char *path)
{
        char *argv[] = { "rm", "-rf", "--", path, NULL };
        pid_t pid = fork();
        if (pid == 0) {
                execvp("rm", argv);
                _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        free(path);
}

/*
 * The start of a stand-in server on a unix socket: listen on `path`
 * (replacing a stale one), then fork. The parent gets the child's pid; the
 * child gets 0 and, in `*conn`, the one connection it accepted.
 */
static inline pid_t fork_server(const char *path, int *conn)
{
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        unlink(path);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
                abort();
        pid_t pid = fork();
        if (pid != 0) {
                close(fd);
                return pid;
        }
        *conn = accept(fd, NULL, NULL);
        return 0;
}
