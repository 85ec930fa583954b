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
