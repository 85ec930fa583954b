#include "vm/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/merge.h"
#include "config/value-get.h"
#include "host/console.h"
#include "util/arena.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "vm/plan.h"
#include "vm/status.h"

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

/* Runs shorter than this count as fast failures, and each one doubles the delay. */
#define FAST_FAILURE_MS     (30 * 1000)
#define MAX_RESTART_DELAY_S 300

/*
 * The delay before the next restart: microvm.nix's 5 s, doubled per fast
 * failure in a row. A zero delay restarts at once the first time only: a
 * VM failing in a loop still backs off, from 1 s.
 */
static int restart_delay_s(int base_s, int fast_failures)
{
        if (fast_failures <= 1)
                return base_s;
        int delay = base_s > 0 ? base_s * 2 : 1;
        for (int i = 2; i < fast_failures && delay < MAX_RESTART_DELAY_S; i++)
                delay *= 2;
        return delay < MAX_RESTART_DELAY_S ? delay : MAX_RESTART_DELAY_S;
}

static void record_restarts(const char *vm_dir, const struct vm_restarts *rs)
{
        struct mv_error *err = NULL;
        if (vm_restarts_write(vm_dir, rs, &err) < 0) {
                log_warning("%s", err->msg);
                mv_error_free(&err);
        }
}

/* Wait `delay_s` unless a stop signal comes first; true if one did. The console stays served. */
static bool stop_signal_within(int sfd, struct console *console, int delay_s)
{
        int64_t end = monotonic_ms() + (int64_t)delay_s * 1000;
        for (;;) {
                int64_t left = end - monotonic_ms();
                struct pollfd fds[1 + 2 + CONSOLE_MAX_CLIENTS] = { { .fd = sfd,
                                                                     .events = POLLIN } };
                size_t n = 1 + console_pollfds(console, fds + 1);
                int r = poll(fds, n, left > 0 ? (int)left : 0);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r > 0 && fds[0].revents)
                        return true;
                if (r > 0) {
                        console_process(console, fds + 1, n - 1);
                        continue;
                }
                return false;
        }
}

/* A malloc'd copy of `v` without the attributes `drop` says to leave out. */
static struct value *copy_without(const struct value *v, bool (*drop)(const char *key, void *),
                                  void *data)
{
        struct value *c = value_new(VALUE_ATTRS, v->pos);
        for (size_t i = 0; i < v->n_attrs; i++)
                if (!drop(v->attrs[i].key, data))
                        value_attrs_append(c, v->attrs[i].key, v->attrs[i].key_pos,
                                           value_copy(v->attrs[i].value));
        return c;
}

static bool other_vm(const char *key, void *name)
{
        return strcmp(key, name) != 0;
}

static bool vms(const char *key, void *unused)
{
        (void)unused;
        return strcmp(key, "vms") == 0;
}

static bool microvm_key(const char *key, void *unused)
{
        (void)unused;
        return strcmp(key, "microvm") == 0;
}

/*
 * A monitor is a fork of the command that read the whole configuration.
 * It keeps a copy of what it needs, everything but the other VMs, and
 * gives the rest back: its memory does not grow with the number of VMs.
 */
static const struct value *keep_own_part(const struct value *host, const char *name)
{
        const struct value *mv = value_lookup(host, "microvm");
        const struct value *all = mv ? value_lookup(mv, "vms") : NULL;
        if (!host->arena || !mv || mv->type != VALUE_ATTRS || !all || all->type != VALUE_ATTRS)
                return host;
        struct arena *prev = value_use_arena(NULL);
        struct value *own = copy_without(host, microvm_key, NULL);
        struct value *mv_own = copy_without(mv, vms, NULL);
        value_attrs_append(mv_own, "vms", all->pos, copy_without(all, other_vm, (void *)name));
        value_attrs_append(own, "microvm", mv->pos, mv_own);
        value_sort_attrs(own); /* as the configuration's are */
        value_use_arena(prev);
        arena_free(host->arena);
        malloc_trim(0);
        return own;
}

/*
 * The monitor: a session of its own, the console in the log, then what
 * `run` does, again and again: microvm.nix's units restart always, even a
 * guest that powered itself off. It ends when a signal (microvm stop) asks,
 * or when the first start fails before the hypervisor ran.
 */
static _Noreturn void monitor_main(const struct value *host, const char *name,
                                   const struct run_options *opts, const char *vm_dir,
                                   const char *log_path)
{
        setsid();
        /* Detached: readiness goes to whoever ran start, by start itself. */
        unsetenv("NOTIFY_SOCKET");
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0)
                _exit(1);
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        close(devnull);
        /* The hypervisor's console: a pty we keep, logged with a cap, attachable. */
        struct console console;
        _cleanup_free_ char *sock_path = xasprintf("%s/console.sock", vm_dir);
        if (console_open(&console, log_path, sock_path, CONSOLE_LOG_CAP, 1, NULL) < 0)
                _exit(1);
        /* Orphaned helpers of this VM become our children, so we can reap them. */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        /* A fork of whichever command started it: say what it is in ps and top. */
        prctl(PR_SET_NAME, "microvm-monitor");
        log_set_stream(stderr);
        /* What the monitor says (restarts, failures) shows on attached consoles too. */
        log_set_tee(console_log_tee, &console);

        /* Stop signals wait in a signalfd between runs; during a run, vm_run reads them. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sfd < 0)
                _exit(1);

        struct run_options run_opts = *opts;
        bool stop_requested = false;
        run_opts.keep_pidfile = true;
        run_opts.stop_requested = &stop_requested;
        run_opts.console = &console;
        struct vm_restarts rs = { 0 };
        int status = 0;
        record_restarts(vm_dir, &rs);
        for (;;) {
                struct mv_error *err = NULL;
                int64_t began = monotonic_ms();
                int r = vm_run(host, name, &run_opts, &status, &err);
                if (r < 0) {
                        log_error("%s", err->msg);
                        status = mv_error_exit_status(err);
                        mv_error_free(&err);
                }
                rs.runs_ended++;
                rs.last_exit = status;
                rs.fast_failures =
                        monotonic_ms() - began < FAST_FAILURE_MS ? rs.fast_failures + 1 : 0;
                rs.delay_s = restart_delay_s(opts->restart_delay_s, rs.fast_failures);
                record_restarts(vm_dir, &rs);
                /* The first start failing is start's failure to report, not to retry. */
                if (stop_requested || (r < 0 && rs.restarts == 0))
                        break;
                log_notice(
                        "vm %s ended (status %d); restarting in %d s%s", name, status, rs.delay_s,
                        rs.fast_failures > 1 ? " (backing off after repeated fast failures)" : "");
                if (stop_signal_within(sfd, &console, rs.delay_s))
                        break;
                rs.restarts++;
                record_restarts(vm_dir, &rs);
        }
        log_set_tee(NULL, NULL);
        console_close(&console);
        vm_pidfile_remove_own(vm_dir, getpid());
        _exit(status);
}

/* Is the VM up? Its run says so in STATE/NAME/ready once it is (see vm_run). */
static bool vm_is_up(const char *state, const char *name)
{
        struct vm_status st;
        vm_status_read(state, name, &st);
        bool ready = st.ready;
        vm_status_done(&st);
        return ready;
}

int vm_start(const struct value *host, const char *name, const struct run_options *opts,
             bool *already, struct mv_error **err)
{
        /* The run itself gives up at the startup timeout; this is a backstop. */
        int timeout_s = opts->socket_timeout_s + opts->startup_timeout_s + 10;
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
        /* The last monitor's record would read as this start having ended. */
        _cleanup_free_ char *restarts_path = xasprintf("%s/restarts", vm_dir);
        (void)unlink(restarts_path);

        fflush(NULL);
        pid_t first = fork();
        if (first < 0)
                return mv_error_set(err, errno, "fork");
        if (first == 0) {
                /* Fork again so the monitor is nobody's child here, and ends up under init. */
                pid_t monitor = fork();
                if (monitor == 0)
                        monitor_main(keep_own_part(host, name), name, opts, vm_dir, log_path);
                _exit(monitor < 0 ? 1 : 0);
        }
        int status;
        while (waitpid(first, &status, 0) < 0 && errno == EINTR)
                ;

        int64_t end = monotonic_ms() + (int64_t)timeout_s * 1000;
        bool seen_running = false;
        int nap_ms = 1;
        while (monotonic_ms() < end) {
                if (vm_is_up(state, name))
                        return 0;
                vm_status_read(state, name, &st);
                bool running = st.state == VM_RUNNING;
                vm_status_done(&st);
                seen_running = seen_running || running;
                /* The first run ended before the VM was up: stop retrying, say why. */
                struct vm_restarts rs;
                if (running && vm_restarts_read(vm_dir, &rs) == 0 && rs.runs_ended > 0) {
                        bool was;
                        (void)vm_stop(host, name, opts->stop_timeout_s, &was, NULL);
                        _cleanup_free_ char *tail = log_tail(log_path);
                        return mv_error_fail(err,
                                             "vm %s failed to start (exit status %d); the end "
                                             "of %s:\n%s",
                                             name, rs.last_exit, log_path, tail);
                }
                /* The monitor wrote its pid and then went away: the start failed. */
                if (seen_running && !running) {
                        _cleanup_free_ char *tail = log_tail(log_path);
                        return mv_error_fail(err, "vm %s failed to start; the end of %s:\n%s", name,
                                             log_path, tail);
                }
                if (!seen_running && monotonic_ms() > end - (int64_t)timeout_s * 1000 + 5000) {
                        /* No pid within 5 s: the monitor failed before the hypervisor. */
                        _cleanup_free_ char *tail = log_tail(log_path);
                        return mv_error_fail(err, "vm %s failed to start; the end of %s:\n%s", name,
                                             log_path, tail);
                }
                /* Quick at first: most starts are ready within milliseconds of their pid. */
                usleep((useconds_t)nap_ms * 1000);
                nap_ms = nap_ms < 50 ? nap_ms * 2 : 50;
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
