#include "vm/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/merge.h"
#include "config/value-get.h"
#include "host/qmp.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "vm/plan.h"
#include "vm/status.h"

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The last lines of the console log, for a failed start's message. */
static char *log_tail(const char *path)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (read_file_full(path, &text, &len, NULL) < 0)
                return xstrdup("(no console log)");
        const char *p = text + len;
        for (int lines = 0; p > text && lines < 12; p--)
                if (p[-1] == '\n' && p != text + len)
                        lines++;
        return xstrdup(p);
}

/*
 * The monitor: a session of its own, the console in the log, then what
 * `run` does. It ends when the VM does.
 */
static _Noreturn void monitor_main(const struct value *host, const char *name,
                                   const struct run_options *opts, const char *log_path)
{
        setsid();
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (devnull < 0 || log < 0)
                _exit(1);
        dup2(devnull, STDIN_FILENO);
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        close(devnull);
        close(log);
        /* Orphaned helpers of this VM become our children, so we can reap them. */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        log_set_stream(stderr);

        int status = 0;
        struct mv_error *err = NULL;
        if (vm_run(host, name, opts, &status, &err) < 0) {
                log_error("%s", err->msg);
                _exit(mv_error_exit_status(err));
        }
        _exit(status);
}

/* Is the VM up? qemu: its QMP socket answers; others: the hypervisor process runs. */
static bool vm_is_up(const char *state, const char *name, const char *vm_dir)
{
        struct vm_status st;
        vm_status_read(state, name, &st);
        bool running = st.state == VM_RUNNING && st.booted;
        bool qemu = st.hypervisor && strcmp(st.hypervisor, "qemu") == 0;
        vm_status_done(&st);
        if (!running)
                return false;
        if (!qemu)
                return true;
        _cleanup_value_ struct value *spec = NULL;
        if (vm_read_spec(state, name, "booted", &spec, NULL) < 0)
                return false;
        const char *socket = vget_str(value_lookup(spec, "config"), "microvm.socket");
        if (!socket)
                return true;
        _cleanup_free_ char *path = xasprintf("%s/%s", vm_dir, socket);
        return qmp_execute(path, "{\"execute\":\"query-status\"}", NULL, 1000, NULL) >= 0;
}

int vm_start(const struct value *host, const char *name, const struct run_options *opts,
             int timeout_s, bool *already, struct mv_error **err)
{
        const char *state = vget_str(host, "microvm.stateDir");
        _cleanup_free_ char *vm_dir = xasprintf("%s/%s", state, name);
        _cleanup_free_ char *log_path = xasprintf("%s/console.log", vm_dir);
        struct vm_status st;

        vm_status_read(state, name, &st);
        *already = st.state == VM_RUNNING;
        bool installed = st.current != NULL;
        vm_status_done(&st);
        if (*already)
                return 0;
        if (!installed) {
                mv_error_fail(err, "vm %s is not installed in %s", name, state);
                return mv_error_hint(err, "run 'microvm apply' first");
        }

        /* A fresh log per start; the previous one is kept beside it. */
        _cleanup_free_ char *old_log = xasprintf("%s.1", log_path);
        (void)rename(log_path, old_log);

        fflush(NULL);
        pid_t first = fork();
        if (first < 0)
                return mv_error_set(err, errno, "fork");
        if (first == 0) {
                /* Fork again so the monitor is nobody's child here, and ends up under init. */
                pid_t monitor = fork();
                if (monitor == 0)
                        monitor_main(host, name, opts, log_path);
                _exit(monitor < 0 ? 1 : 0);
        }
        int status;
        while (waitpid(first, &status, 0) < 0 && errno == EINTR)
                ;

        int64_t end = now_ms() + (int64_t)timeout_s * 1000;
        bool seen_running = false;
        while (now_ms() < end) {
                if (vm_is_up(state, name, vm_dir))
                        return 0;
                vm_status_read(state, name, &st);
                bool running = st.state == VM_RUNNING;
                vm_status_done(&st);
                seen_running = seen_running || running;
                /* The monitor wrote its pid and then went away: the start failed. */
                if (seen_running && !running) {
                        _cleanup_free_ char *tail = log_tail(log_path);
                        return mv_error_fail(err, "vm %s failed to start; the end of %s:\n%s", name,
                                             log_path, tail);
                }
                if (!seen_running && now_ms() > end - (int64_t)timeout_s * 1000 + 5000) {
                        /* No pid within 5 s: the monitor failed before the hypervisor. */
                        _cleanup_free_ char *tail = log_tail(log_path);
                        return mv_error_fail(err, "vm %s failed to start; the end of %s:\n%s", name,
                                             log_path, tail);
                }
                usleep(50 * 1000);
        }
        return mv_error_fail(err, "vm %s did not come up within %d s (see %s)", name, timeout_s,
                             log_path);
}

int vm_stop(const struct value *host, const char *name, int timeout_s, bool *was_running,
            struct mv_error **err)
{
        const char *state = vget_str(host, "microvm.stateDir");
        struct vm_status st;
        vm_status_read(state, name, &st);
        pid_t pid = st.state == VM_RUNNING ? st.pid : 0;
        vm_status_done(&st);
        *was_running = pid != 0;
        if (!pid)
                return 0;

        /* The pidfd pins the process: the signal cannot reach a recycled pid. */
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return errno == ESRCH ? 0 : mv_error_set(err, errno, "pidfd_open %d", (int)pid);
        if (syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0) < 0) {
                int e = errno;
                close(fd);
                return e == ESRCH ? 0 : mv_error_set(err, e, "signal the monitor of vm %s", name);
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int n;
        while ((n = poll(&p, 1, timeout_s * 1000)) < 0 && errno == EINTR)
                ;
        close(fd);
        if (n == 0)
                return mv_error_fail(err, "vm %s did not stop within %d s", name, timeout_s);
        return 0;
}
