#include "util/pidref.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"

static int sys_pidfd_open(pid_t pid)
{
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_send_signal(int fd, int sig)
{
        return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

int pidref_set_pid(struct pidref *p, pid_t pid, struct mv_error **err)
{
        int fd = sys_pidfd_open(pid);
        if (fd < 0 && errno != ENOSYS)
                return mv_error_set(err, errno, "pidfd_open %d", (int)pid);
        p->pid = pid;
        p->fd = fd;
        return 0;
}

bool pidref_is_set(const struct pidref *p)
{
        return p && p->pid > 0;
}

int pidref_kill(const struct pidref *p, int sig, struct mv_error **err)
{
        if (!pidref_is_set(p))
                return mv_error_set(err, ESRCH, "signal a process that is not running");
        int r = p->fd >= 0 ? sys_pidfd_send_signal(p->fd, sig) : kill(p->pid, sig);
        if (r < 0)
                return mv_error_set(err, errno, "send signal %d to process %d", sig, (int)p->pid);
        return 0;
}

int pidref_wait(struct pidref *p, int *status, struct mv_error **err)
{
        int st;

        if (!pidref_is_set(p))
                return mv_error_set(err, ECHILD, "wait for a process that is not running");
        while (waitpid(p->pid, &st, 0) < 0)
                if (errno != EINTR)
                        return mv_error_set(err, errno, "wait for process %d", (int)p->pid);
        if (status)
                *status = st;
        pidref_done(p);
        return 0;
}

void pidref_done(struct pidref *p)
{
        if (p->fd >= 0)
                close(p->fd);
        *p = PIDREF_NULL;
}

void pidref_kill_and_reap(struct pidref *p)
{
        if (!pidref_is_set(p))
                return;
        int saved = errno;
        (void)pidref_kill(p, SIGKILL, NULL);
        (void)pidref_wait(p, NULL, NULL);
        pidref_done(p);
        errno = saved;
}
