/* The commands' side of a monitor: starting one, stopping whatever runs a VM. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/control.h"
#include "monitor/monitor.h"
#include "monitor/vm-run.h"
#include "systemd/manager.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/io.h"
#include "util/lockfile.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/helper-units.h"
#include "vm/records.h"
#include "vm/statedir.h"

/* The last lines of the console log, for a failed start's message. */
static char *log_tail(const char *records)
{
        _cleanup_free_ char *path = xasprintf("%s/console.log", records);
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (read_file_full(path, &text, &len, NULL) < 0)
                return xstrdup("(no console log)\n");
        const char *p = text + len;
        for (int lines = 0; p > text && lines < 12; p--)
                if (p[-1] == '\n' && p != text + len)
                        lines++;
        return xstrdup(p);
}

/* The records of an installed VM, opened; an error that says what to do otherwise. */
static int open_installed(const struct host_settings *hs, const char *name, struct mv_error **err)
{
        int r = statedir_check(hs->state_dir, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *current = records_runner(hs->state_dir, name, "current");
        if (!current) {
                mv_error_fail(err, "vm %s is not installed in %s", name, hs->state_dir);
                return mv_error_hint(err, "run 'microvm apply' first");
        }
        return records_open(hs->state_dir, name, false, err);
}

/* The host settings on a memory file, for the monitor to read. */
static int settings_fd(const struct host_settings *hs, struct mv_error **err)
{
        _cleanup_close_ int fd = memfd_create("microvm-settings", MFD_CLOEXEC);
        if (fd < 0)
                return mv_error_set(err, errno, "memfd_create");
        _cleanup_free_ char *json = host_settings_to_json(hs);
        if (write_all(fd, json, strlen(json)) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return mv_error_set(err, errno, "write the host settings");
        return TAKE_FD(fd);
}

/* exec `microvm monitor` detached, with the lock, the report pipe and the settings. */
static int spawn_monitor(const char *name, int lock, int sync_w, int settings,
                         struct mv_error **err)
{
        /* This very binary: root runs only what it was started as. */
        char self[4096] = "/proc/self/exe";
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0 && !strstr(self, " (deleted)"))
                self[n] = '\0';
        else
                memcpy(self, "/proc/self/exe", sizeof("/proc/self/exe"));
        char *argv[] = { self,
                         (char *)"monitor",
                         (char *)name,
                         (char *)"--lock-fd=3",
                         (char *)"--sync-fd=4",
                         (char *)"--settings-fd=5",
                         NULL };
        int pass[] = { lock, sync_w, settings };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.stdin_fd = o.stdout_fd = o.stderr_fd = SPAWN_FD_NULL;
        o.new_session = true;
        o.pass_fds = pass;
        o.n_pass_fds = ELEMENTSOF(pass);
        /* Readiness goes to whoever ran start, by start itself. */
        _cleanup_strv_free_ char **env = NULL;
        for (char **e = environ; *e; e++)
                if (strncmp(*e, "NOTIFY_SOCKET=", 14) != 0)
                        strv_push(&env, *e);
        o.envp = env;
        struct pidref monitor = PIDREF_NULL;
        int r = spawn_process(&o, &monitor, err);
        /* Not waited for: it outlives this command, and init reaps it. */
        pidref_done(&monitor);
        return r;
}

/* What the monitor reported: "ready 0", or "failed STATUS" and the reason. */
static int read_report(int fd, int timeout_s, const char *name, const char *records,
                       struct mv_error **err)
{
        struct strbuf b = { 0 };
        int64_t end = monotonic_ms() + (int64_t)timeout_s * 1000;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int64_t left = end - monotonic_ms();
                int n = poll(&p, 1, left > 0 ? (int)left : 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0) {
                        strbuf_free(&b);
                        return mv_error_fail(err, "vm %s: no word from its monitor within %d s",
                                             name, timeout_s);
                }
                char chunk[4096];
                ssize_t got = read(fd, chunk, sizeof(chunk));
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        break;
                strbuf_putn(&b, chunk, (size_t)got);
        }
        _cleanup_free_ char *text = b.data ? strbuf_take(&b) : xstrdup("");
        if (strncmp(text, "ready ", 6) == 0)
                return 0;
        int status = 1;
        const char *why = "its monitor ended without a word";
        char *hint = NULL;
        if (strncmp(text, "failed ", 7) == 0) {
                status = atoi(text + 7);
                char *nl = strchr(text, '\n');
                why = nl && nl[1] ? nl + 1 : why;
                /* The hint follows a record separator. */
                if (nl && (hint = strchr(nl, '\x1e')))
                        *hint++ = '\0';
        }
        _cleanup_free_ char *tail = log_tail(records);
        if (status == 2)
                mv_error_config(err, "%s", why);
        else
                mv_error_fail(err, "vm %s failed to start: %s\nthe end of %s/console.log:\n%s",
                              name, why, records, tail);
        return hint ? mv_error_hint(err, "%s", hint) : mv_error_return(*err);
}

/* The VM is taken: ask whoever runs it to say when it is ready. */
static int wait_for_owner(const char *records, const char *name, int timeout_s,
                          struct mv_error **err)
{
        int64_t end = monotonic_ms() + (int64_t)timeout_s * 1000;
        for (int nap_ms = 1;; nap_ms = nap_ms < 100 ? nap_ms * 2 : 100) {
                _cleanup_free_ char *answer = NULL;
                int r = control_request(records, "wait-ready", timeout_s * 1000, &answer, err);
                if (r >= 0 && strncmp(answer, "ready", 5) == 0)
                        return 0;
                if (r >= 0 && strncmp(answer, "failed\n", 7) == 0)
                        return mv_error_fail(err, "vm %s failed to start: %s", name, answer + 7);
                if (r >= 0)
                        return mv_error_fail(err, "vm %s stopped while starting", name);
                if (r != -ENOENT && r != -ECONNREFUSED)
                        return r;
                /* Its owner took the lock and is about to listen; or it just died. */
                _cleanup_close_ int dir = open(records, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dir < 0 || !lockfile_held(dir, "lock"))
                        return mv_error_fail(err, "vm %s: whatever was starting it ended", name);
                if (monotonic_ms() > end)
                        return mv_error_fail(
                                err,
                                "vm %s: whatever runs it does not answer on %s/" CONTROL_SOCKET,
                                name, records);
                usleep((useconds_t)nap_ms * 1000);
        }
}

/* On a systemd host the VM is its unit: systemctl returns once it is ready (Type=notify). */
static int start_unit(int dir, const char *records, const char *name, int timeout_s, bool *already,
                      struct mv_error **err)
{
        if (lockfile_held(dir, "lock") > 0) {
                *already = true;
                return wait_for_owner(records, name, timeout_s, err);
        }
        _cleanup_free_ char *unit = systemd_vm_unit(name);
        const char *args[] = { "start", unit, NULL };
        int r = systemd_ctl(args, unit, err);
        return r < 0 ? mv_error_wrap(err, "vm %s", name) : 0;
}

int vm_start(const struct host_settings *hs, const char *name, bool *already, struct mv_error **err)
{
        /* The run gives up at the startup timeout; this is a backstop. */
        int timeout_s = SOCKET_TIMEOUT_S + hs->startup_timeout_s + 10;
        *already = false;
        _cleanup_close_ int dir = open_installed(hs, name, err);
        if (dir < 0)
                return dir;
        _cleanup_free_ char *records = records_path(hs->state_dir, name, NULL);
        if (hs->systemd_units)
                return start_unit(dir, records, name, timeout_s, already, err);
        /* Taken here and handed over: a second start at the same moment finds it held. */
        _cleanup_close_ int lock = lockfile_take(dir, "lock", false, err);
        if (lock == -EWOULDBLOCK) {
                *already = true;
                return wait_for_owner(records, name, timeout_s, err);
        }
        if (lock < 0)
                return lock;
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return mv_error_set(err, errno, "pipe");
        _cleanup_close_ int sync_r = pipefd[0];
        _cleanup_close_ int sync_w = pipefd[1];
        _cleanup_close_ int settings = settings_fd(hs, err);
        if (settings < 0)
                return settings;
        int r = spawn_monitor(name, lock, sync_w, settings, err);
        if (r < 0)
                return mv_error_wrap(err, "vm %s: start its monitor", name);
        /* Only the monitor holds the lock and the pipe's write end now. */
        closep(&lock);
        lock = -1;
        closep(&sync_w);
        sync_w = -1;
        return read_report(sync_r, timeout_s, name, records, err);
}

int vm_stop(const struct host_settings *hs, const char *name, int timeout_s, bool *was_running,
            struct mv_error **err)
{
        *was_running = false;
        _cleanup_free_ char *records = records_path(hs->state_dir, name, NULL);
        _cleanup_close_ int dir = records_open(hs->state_dir, name, false, NULL);
        if (dir < 0)
                return 0; /* never installed: nothing runs it */
        if (hs->systemd_units) {
                /* Its unit first, so that systemd does not restart it; then anything else. */
                _cleanup_free_ char *unit = systemd_vm_unit(name);
                const char *args[] = { "stop", unit, NULL };
                *was_running = lockfile_held(dir, "lock") > 0;
                int r = systemd_ctl(args, unit, err);
                if (r < 0)
                        return mv_error_wrap(err, "vm %s", name);
        }
        int64_t end = monotonic_ms() + (int64_t)timeout_s * 1000;
        for (int nap_ms = 1;; nap_ms = nap_ms < 100 ? nap_ms * 2 : 100) {
                _cleanup_free_ char *answer = NULL;
                int r = control_request(records, "stop", timeout_s * 1000, &answer, err);
                if (r >= 0) {
                        *was_running |= strncmp(answer, "stopping", 8) == 0;
                        /* EOF came with its teardown; gone is when its lock is free. */
                        while (lockfile_held(dir, "lock") > 0 && monotonic_ms() < end)
                                usleep(1000);
                        return 0;
                }
                if (r == -ETIMEDOUT)
                        return mv_error_fail(err, "vm %s did not stop within %d s", name,
                                             timeout_s);
                if (r != -ENOENT && r != -ECONNREFUSED)
                        return r;
                if (lockfile_held(dir, "lock")) {
                        /* Starting: its control socket is about to listen. */
                        if (monotonic_ms() > end)
                                return mv_error_fail(err,
                                                     "vm %s: whatever runs it does not "
                                                     "answer on its control socket",
                                                     name);
                        usleep((useconds_t)nap_ms * 1000);
                        continue;
                }
                break;
        }
        /* Nothing runs it; if something ran it and was killed, what it left goes now. */
        _cleanup_close_ int lock = lockfile_take(dir, "lock", false, NULL);
        /* A unit's helpers undo their own parts when their units stop. */
        if (lock >= 0)
                vm_clean_up_after_crash(hs, name, hs->systemd_units ? HELPERS_ALL : 0);
        return 0;
}
