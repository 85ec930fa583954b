#include "monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/console.h"
#include "host/notify.h"
#include "monitor/control.h"
#include "monitor/loop.h"
#include "monitor/vm-run.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/io.h"
#include "util/lockfile.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "vm/helper-units.h"
#include "vm/records.h"
#include "vm/statedir.h"
#include "vm/status.h"

/* Runs shorter than this count as fast failures, and each one doubles the delay. */
#define FAST_FAILURE_MS (30 * 1000)

/* What both kinds of owner of a VM (monitor, run) keep. */
struct owner {
        struct loop loop;
        struct control control;
        struct vm_runtime rt;
        char *records;
        int records_fd;
        int lock_fd;
        int sync_fd;     /* the monitor's report to start; -1 once made */
        bool ever_ready; /* in this run */
        bool systemd;    /* `run --under-systemd`: the unit is told when the VM is ready */
};

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

static void record_restarts(const struct owner *o, const struct vm_restarts *rs)
{
        struct mv_error *err = NULL;
        if (vm_restarts_write(o->records, rs, &err) < 0) {
                log_warning("%s", err->msg);
                mv_error_free(&err);
        }
}

/* Tell the start that waits: "ready", or "failed STATUS" and why. Once. */
static void report(struct owner *o, const char *word, int status, const char *why)
{
        if (o->sync_fd < 0)
                return;
        _cleanup_free_ char *text = why ? xasprintf("%s %d\n%s", word, status, why)
                                        : xasprintf("%s %d\n", word, status);
        (void)write_all(o->sync_fd, text, strlen(text));
        close(o->sync_fd);
        o->sync_fd = -1;
}

static void on_ready(struct vm_runtime *rt)
{
        struct owner *o = rt->data;
        o->ever_ready = true;
        report(o, "ready", 0, NULL);
        if (o->systemd)
                notify_service_manager("READY=1");
}

static int owner_begin(struct owner *o, const struct host_settings *hs, const char *name,
                       bool monitor, struct mv_error **err)
{
        int r = loop_init(&o->loop, err);
        if (r < 0)
                return r;
        /* A terminal that goes away stops a foreground run; a monitor has none. */
        o->loop.hup_stops = !monitor;
        o->rt = (struct vm_runtime){ .loop = &o->loop,
                                     .hs = hs,
                                     .name = name,
                                     .records = o->records,
                                     .records_fd = o->records_fd,
                                     .control = &o->control,
                                     .on_ready = on_ready,
                                     .data = o };
        /* Who runs the VM, for people: the lock is what says so. */
        r = vm_pidfile_write(o->records, getpid(),
                             o->systemd ? VM_OWNER_UNIT
                             : monitor  ? VM_OWNER_MONITOR
                                        : VM_OWNER_RUN,
                             err);
        _cleanup_free_ char *shown = xasprintf("%s/" CONTROL_SOCKET, o->records);
        if (r >= 0)
                r = control_listen(&o->control, &o->loop, o->records_fd, shown, err);
        if (r < 0)
                return r;
        fault_point("monitor", "control socket listens");
        return 0;
}

static void owner_end(struct owner *o)
{
        vm_pidfile_remove_own(o->records, getpid());
        /* Last: whoever waits for the stop sees the connection close now. */
        control_close(&o->control);
        loop_done(&o->loop);
        closep(&o->records_fd);
        o->records_fd = -1;
        closep(&o->lock_fd);
        o->lock_fd = -1;
        free(o->records);
        o->records = NULL;
}

static bool never(void *data)
{
        (void)data;
        return false;
}

/* Wait out the restart delay, serving the console; false when a stop came first. */
static bool wait_restart_delay(struct owner *o, int delay_s)
{
        o->control.phase = PHASE_WAITING;
        return loop_wait(&o->loop, never, NULL, loop_deadline_in((int64_t)delay_s * 1000), true,
                         -1) == -ETIMEDOUT;
}

/* The console as a loop source. */
static size_t console_source_pollfds(void *data, struct pollfd *fds, size_t max)
{
        return max >= 2 + CONSOLE_MAX_CLIENTS ? console_pollfds(data, fds) : 0;
}

static void console_source_process(void *data, const struct pollfd *fds, size_t n)
{
        console_process(data, fds, n);
}

/*
 * The console on a pty, in the log and on console.sock. A monitor detaches
 * from whoever started it, the log taking stdout and stderr; under systemd
 * they stay the journal's, which gets the guest's output too.
 */
static int monitor_console(struct owner *o, struct console *console, bool journal,
                           struct mv_error **err)
{
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0)
                return mv_error_set(err, errno, "open /dev/null");
        dup2(devnull, STDIN_FILENO);
        if (!journal) {
                dup2(devnull, STDOUT_FILENO);
                dup2(devnull, STDERR_FILENO);
        }
        close(devnull);
        /* A fresh log per start; the previous one is kept beside it. */
        (void)renameat(o->records_fd, "console.log", o->records_fd, "console.log.1");
        _cleanup_free_ char *log_path = xasprintf("%s/console.log", o->records);
        _cleanup_free_ char *sock_path = xasprintf("%s/console.sock", o->records);
        int r = console_open(console, log_path, sock_path, CONSOLE_LOG_CAP, !journal, err);
        if (r < 0)
                return r;
        if (journal)
                console->copy_fd = STDOUT_FILENO;
        log_set_stream(stderr);
        /* What the monitor says (restarts, failures) shows on attached consoles too. */
        log_set_tee(console_log_tee, console);
        loop_add_source(&o->loop, &(struct loop_source){ .pollfds = console_source_pollfds,
                                                         .process = console_source_process,
                                                         .data = console });
        return 0;
}

/*
 * The monitor's life: the console in the log, then the VM again and again:
 * microvm.nix's units restart always, even a guest that powered itself
 * off. It ends when a stop is asked for, or when the first start fails
 * (that is start's failure to report, not to retry).
 */
static int monitor_cycle(struct owner *o, const struct host_settings *hs, const char *name)
{
        struct vm_restarts rs = { 0 };
        int status = 0;
        record_restarts(o, &rs);
        for (;;) {
                struct mv_error *err = NULL;
                int64_t began = monotonic_ms();
                o->ever_ready = false;
                status = 0;
                int r = vm_run_once(&o->rt, &status, &err);
                if (r < 0) {
                        log_error("%s", err->msg);
                        status = mv_error_exit_status(err);
                }
                rs.runs_ended++;
                rs.last_exit = status;
                rs.fast_failures =
                        monotonic_ms() - began < FAST_FAILURE_MS ? rs.fast_failures + 1 : 0;
                rs.delay_s = restart_delay_s(hs->restart_delay_s, rs.fast_failures);
                record_restarts(o, &rs);
                bool stopping = loop_stopping(&o->loop);
                if (rs.restarts == 0 && !o->ever_ready) {
                        /* The hint travels after a record separator: start prints it as one. */
                        _cleanup_free_ char *why =
                                err && err->hint ? xasprintf("%s\x1e%s", err->msg, err->hint)
                                : err            ? xstrdup(err->msg)
                                : stopping
                                        ? xasprintf("vm %s was stopped before it was ready", name)
                                        : xasprintf("vm %s ended before it was ready (exit "
                                                    "status %d)",
                                                    name, status);
                        report(o, "failed", status ? status : 1, why);
                        control_failed(&o->control, why);
                        mv_error_free(&err);
                        break;
                }
                mv_error_free(&err);
                if (stopping)
                        break;
                log_notice(
                        "vm %s ended (status %d); restarting in %d s%s", name, status, rs.delay_s,
                        rs.fast_failures > 1 ? " (backing off after repeated fast failures)" : "");
                if (!wait_restart_delay(o, rs.delay_s))
                        break;
                rs.restarts++;
                o->control.restarts = rs.restarts;
                record_restarts(o, &rs);
        }
        return status;
}

int monitor_main(const char *name, int lock_fd, int sync_fd, int settings_fd)
{
        struct owner o = { .records_fd = -1,
                           .lock_fd = lock_fd,
                           .sync_fd = sync_fd,
                           .loop = { .sfd = -1 },
                           .control = { .listen_fd = -1 } };
        struct host_settings hs = { 0 };
        struct console console = { .master = -1 };
        struct mv_error *err = NULL;
        int status = 1;

        /* Say what it is in ps and top, not just "microvm". */
        prctl(PR_SET_NAME, "microvm-monitor");
        /* Orphaned helpers of this VM become our children, so we can reap them. */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        _cleanup_free_ char *json = NULL;
        int r = read_fd_full(settings_fd, &json, 1 << 20, &err);
        close(settings_fd);
        if (r >= 0)
                r = host_settings_from_json(json, &hs, &err);
        if (r >= 0) {
                o.records = records_path(hs.state_dir, name, NULL);
                o.records_fd = r = records_open(hs.state_dir, name, false, &err);
        }
        if (r >= 0)
                r = owner_begin(&o, &hs, name, true, &err);
        if (r >= 0)
                r = monitor_console(&o, &console, false, &err);
        if (r >= 0) {
                o.rt.console = &console;
                (void)unlinkat(o.records_fd, "restarts", 0);
                /* The last owner was killed: undo what it left, where the log shows it. */
                vm_clean_up_after_crash(&hs, name, 0);
                status = monitor_cycle(&o, &hs, name);
        } else {
                _cleanup_free_ char *why =
                        err->hint ? xasprintf("%s\x1e%s", err->msg, err->hint) : xstrdup(err->msg);
                report(&o, "failed", mv_error_exit_status(err), why);
                status = mv_error_exit_status(err);
        }
        mv_error_free(&err);
        log_set_tee(NULL, NULL);
        if (console.master >= 0)
                console_close(&console);
        report(&o, "failed", 1, "the monitor ended without a word");
        owner_end(&o);
        host_settings_done(&hs);
        return status;
}

int vm_run_foreground(const struct host_settings *hs, const char *name, bool under_systemd,
                      int *exit_status, struct mv_error **err)
{
        struct owner o = { .records_fd = -1,
                           .lock_fd = -1,
                           .sync_fd = -1,
                           .loop = { .sfd = -1 },
                           .control = { .listen_fd = -1 },
                           .systemd = under_systemd };
        struct console console = { .master = -1 };
        int r = statedir_check(hs->state_dir, err);
        if (r >= 0) {
                o.records = records_path(hs->state_dir, name, NULL);
                o.records_fd = r = records_open(hs->state_dir, name, false, err);
        }
        if (r == -ENOENT) {
                mv_error_free(err);
                mv_error_fail(err, "vm %s is not installed in %s", name, hs->state_dir);
                r = mv_error_hint(err, "run 'microvm apply' to install the VMs of the "
                                       "configuration");
        }
        if (r >= 0) {
                /* One process runs a VM at a time; the kernel drops the lock if it dies. */
                o.lock_fd = r = lockfile_take(o.records_fd, "lock", false, err);
                if (r == -EWOULDBLOCK) {
                        mv_error_fail(err, "vm %s is already running", name);
                        r = mv_error_hint(err, "stop it first (microvm stop %s)", name);
                }
        }
        /* A unit's run is supervised as a monitor is: apply may restart it, no terminal ends it. */
        if (r >= 0)
                r = owner_begin(&o, hs, name, under_systemd, err);
        if (r >= 0 && under_systemd) {
                o.rt.unit = true;
                /* The parts the generator gave helper units (microvm-virtiofsd@, ...). */
                o.rt.delegated = helpers_from_words(getenv(HELPER_UNITS_ENV));
                r = monitor_console(&o, &console, true, err);
                o.rt.console = r >= 0 ? &console : NULL;
        }
        if (r >= 0) {
                vm_clean_up_after_crash(hs, name, o.rt.delegated);
                r = vm_run_once(&o.rt, exit_status, err);
        }
        log_set_tee(NULL, NULL);
        if (console.master >= 0)
                console_close(&console);
        owner_end(&o);
        return r;
}
