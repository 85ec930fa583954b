/*
 * logs: what a background VM's console printed. A VM run by its systemd
 * unit, or any VM where VMs are units (docs/systemd.md), is read from the
 * unit's journal: the guest's console and microvm's own messages, every
 * run the journal keeps. Otherwise, and where the journal cannot be read
 * or has nothing of the unit (said on stderr), STATE/.host/NAME/console.log,
 * which a monitor and a unit's run both keep. -f follows until SIGINT or
 * SIGTERM; -n N begins with the last N lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "host/console.h"
#include "systemd/journal.h"
#include "systemd/manager.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "vm/records.h"
#include "vm/settings.h"
#include "vm/status.h"

#define FOLLOW_POLL_MS 200 /* a file has no change notification that survives its rotation */

struct logs_request {
        const char *name;
        bool follow;
        long lines;  /* -n: the last this many; < 0 for all */
        int stop_fd; /* readable on SIGINT or SIGTERM, when following */
};

/* A signalfd for SIGINT and SIGTERM, blocked: following ends cleanly on either. */
static int stop_signals_fd(struct mv_error **err)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_BLOCK, &set, NULL);
        int fd = signalfd(-1, &set, SFD_CLOEXEC);
        return fd < 0 ? mv_error_set(err, errno, "signalfd") : fd;
}

static bool stop_requested(int stop_fd, int timeout_ms)
{
        struct pollfd p = { .fd = stop_fd, .events = POLLIN };
        return poll(&p, 1, timeout_ms) > 0;
}

/* Copy from `fd` to stdout until EOF. */
static void copy_out(int fd)
{
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
                        return;
}

/* Follow the log: new output as it comes, across rotations, until a stop signal. */
static void follow_file(const char *path, int *fd, int stop_fd)
{
        struct stat cur;
        for (;;) {
                copy_out(*fd);
                if (stop_requested(stop_fd, FOLLOW_POLL_MS))
                        return;
                /* Rotated (a new file at the path) or restarted (truncated): read it from the start. */
                if (stat(path, &cur) == 0) {
                        struct stat open_st;
                        fstat(*fd, &open_st);
                        if (cur.st_ino != open_st.st_ino) {
                                copy_out(*fd);
                                int nfd = open(path, O_RDONLY | O_CLOEXEC);
                                if (nfd >= 0) {
                                        close(*fd);
                                        *fd = nfd;
                                }
                        }
                }
        }
}

static int print_console_log(const struct logs_request *q, const char *path, struct mv_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                mv_error_set(err, errno, "open %s", path);
                return mv_error_hint(err, "the log is written by VMs started with 'microvm start'");
        }
        if (q->lines >= 0) {
                /* Rotation keeps the log near CONSOLE_LOG_CAP: read whole, print the tail. */
                _cleanup_free_ char *text = NULL;
                int r = read_fd_full(fd, &text, 16 * (size_t)CONSOLE_LOG_CAP, err);
                if (r < 0)
                        return mv_error_wrap(err, "read %s", path);
                size_t len = strlen(text);
                size_t from = console_log_tail(text, len, (size_t)q->lines);
                (void)write_all(STDOUT_FILENO, text + from, len - from);
        } else {
                copy_out(fd);
        }
        if (q->follow)
                follow_file(path, &fd, q->stop_fd);
        return 0;
}

/*
 * The unit's journal: 1 when printed (and followed), 0 when it has nothing
 * of the unit or cannot be read here, said on stderr before the caller
 * turns to console.log; a failure to read it is an error.
 */
static int print_journal(const struct logs_request *q, const char *console_log,
                         struct mv_error **err)
{
        _cleanup_free_ char *unit = systemd_vm_unit(q->name);
        struct unit_journal *j = NULL;
        int r = unit_journal_open(unit, q->follow, &j, err);
        if (r == -EOPNOTSUPP && err && *err) {
                log_notice("%s; showing %s instead", (*err)->msg, console_log);
                mv_error_free(err);
                return 0;
        }
        if (r < 0)
                return r;
        r = unit_journal_seek(j, q->lines, err);
        bool empty = r == 0;
        if (empty) {
                log_notice("the journal has no entries of %s%s; showing %s instead", unit,
                           unit_journal_has_files(j)
                                   ? ""
                                   : " (no journal file could be read: none is kept, or "
                                     "reading it needs root or group systemd-journal)",
                           console_log);
        }
        if (r > 0)
                r = unit_journal_print(j, STDOUT_FILENO, err);
        while (r >= 0 && !empty && q->follow && (r = unit_journal_wait(j, q->stop_fd, err)) == 0)
                r = unit_journal_print(j, STDOUT_FILENO, err);
        unit_journal_close(j);
        return r < 0 ? r : !empty;
}

/* -n's argument: a whole number of lines, 0 or more. */
static int parse_lines(const char *arg, long *lines, struct mv_error **err)
{
        char *end;
        errno = 0;
        long n = strtol(arg, &end, 10);
        if (errno || end == arg || *end || n < 0)
                return mv_error_usage(err, "logs: -n takes a number of lines (0 or more), not '%s'",
                                      arg);
        *lines = n;
        return 0;
}

int cmd_logs(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        static const struct option options[] = {
                { "follow", no_argument, NULL, 'f' },
                { "lines", required_argument, NULL, 'n' },
                {},
        };
        struct logs_request q = { .lines = -1, .stop_fd = -1 };
        int c, r;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "fn:", options, NULL)) != -1) {
                if (c == 'f') {
                        q.follow = true;
                } else if (c == 'n') {
                        if ((r = parse_lines(optarg, &q.lines, err)) < 0)
                                return r;
                } else if (optopt == 'n') {
                        return mv_error_usage(err, "logs: -n takes a number of lines");
                } else {
                        return mv_error_usage(err, "logs: unknown option '%s'", argv[optind - 1]);
                }
        }
        if (argc - optind != 1)
                return mv_error_usage(err, "logs takes one VM name");
        q.name = argv[optind];
        struct host_settings hs;
        r = cli_vm_host_settings(ctx, "logs", argv + optind, &hs, err);
        if (r < 0)
                return r;
        struct vm_status st;
        vm_status_read(hs.state_dir, q.name, &st);
        bool installed = st.current != NULL;
        /* The unit's run, or a VM that would be one: a monitor's or a terminal's is not. */
        bool journal =
                st.owner == VM_OWNER_UNIT || (st.owner == VM_OWNER_UNKNOWN && hs.systemd_units);
        vm_status_done(&st);
        _cleanup_free_ char *console_log = records_path(hs.state_dir, q.name, "console.log");
        if (!installed) {
                mv_error_fail(err, "vm %s is not installed in %s", q.name, hs.state_dir);
                r = mv_error_hint(err, "run 'microvm apply' first");
        }
        host_settings_done(&hs);
        if (r < 0)
                return r;

        _cleanup_close_ int stop_fd = -1;
        if (q.follow) {
                r = stop_signals_fd(err);
                if (r < 0)
                        return r;
                q.stop_fd = stop_fd = r;
        }
        r = journal ? print_journal(&q, console_log, err) : 0;
        if (r == 0)
                r = print_console_log(&q, console_log, err);
        return r < 0 ? r : 0;
}
