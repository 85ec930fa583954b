#include "monitor/task.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"

#ifndef CLOSE_RANGE_UNSHARE
#include <linux/close_range.h>
#endif

static _Noreturn void task_child(int (*fn)(void *), void *data, const struct task_options *o,
                                 pid_t parent)
{
        /* Die with the monitor: a task must never outlive what it works for. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(125);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (o->cwd_fd >= 0 && fchdir(o->cwd_fd) < 0)
                _exit(125);
        /* What it reports through, and nothing of the monitor's (listening sockets, the console). */
        unsigned first = 3;
        if (o->report_fd > 2) {
                if (dup2(o->report_fd, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
                        _exit(125);
                first = 4;
        }
        if (syscall(SYS_close_range, first, ~0U, 0U) < 0)
                for (int fd = (int)first; fd < 1024; fd++)
                        close(fd);
        const struct spawn_credentials *c = o->creds;
        if (c) {
                gid_t g = c->gid;
                if ((c->drop_groups && setgroups(g == (gid_t)-1 ? 0 : 1, &g) < 0) ||
                    (g != (gid_t)-1 && setresgid(g, g, g) < 0) ||
                    (c->uid != (uid_t)-1 && setresuid(c->uid, c->uid, c->uid) < 0))
                        _exit(125);
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* cleared by the change of credentials */
        }
        int r = fn(data);
        _exit(r < 0 ? 1 : r > 255 ? 255 : r);
}

int task_run(struct loop *l, int (*fn)(void *data), void *data, const struct task_options *o,
             int *status, struct mv_error **err)
{
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
                return mv_error_set(err, errno, "fork");
        if (pid == 0)
                task_child(fn, data, o, parent);
        struct loop_child c = { 0 };
        int r = pidref_set_pid(&c.ref, pid, err);
        if (r < 0) {
                kill(pid, SIGKILL);
                return r;
        }
        loop_track(l, &c);
        r = loop_wait_child(l, &c, o->deadline, o->cancellable);
        if (r < 0) {
                (void)pidref_kill(&c.ref, SIGKILL, NULL);
                (void)loop_wait_child(l, &c, -1, false);
        }
        loop_untrack(l, &c);
        pidref_done(&c.ref);
        if (r == -ETIMEDOUT)
                return mv_error_set(err, ETIMEDOUT, "no answer in time");
        if (r == -ECANCELED)
                return mv_error_set(err, ECANCELED, "cancelled by a stop request");
        *status = wait_status_to_exit_code(c.status);
        return 0;
}

static int loop_waiter_wait(struct child_waiter *base, struct pidref *child, int timeout_ms,
                            int *exit_status, struct mv_error **err)
{
        struct loop_waiter *w = (struct loop_waiter *)base;
        int64_t deadline = timeout_ms >= 0 ? monotonic_ms() + timeout_ms : -1;
        if (w->deadline >= 0 && (deadline < 0 || w->deadline < deadline))
                deadline = w->deadline;
        struct loop_child c = { .ref = *child };
        *child = PIDREF_NULL;
        loop_track(w->loop, &c);
        int r = loop_wait_child(w->loop, &c, deadline, w->cancellable);
        if (r < 0) {
                (void)pidref_kill(&c.ref, SIGKILL, NULL);
                (void)loop_wait_child(w->loop, &c, -1, false);
        }
        loop_untrack(w->loop, &c);
        pidref_done(&c.ref);
        if (r == -ETIMEDOUT)
                return mv_error_set(err, ETIMEDOUT, "did not finish in time: killed");
        if (r == -ECANCELED)
                return mv_error_set(err, ECANCELED, "stopped: the VM is being stopped");
        if (exit_status)
                *exit_status = wait_status_to_exit_code(c.status);
        return 0;
}

void loop_waiter_init(struct loop_waiter *w, struct loop *l, bool cancellable, int64_t deadline)
{
        *w = (struct loop_waiter){ .base = { .wait = loop_waiter_wait },
                                   .loop = l,
                                   .cancellable = cancellable,
                                   .deadline = deadline };
}
