#include "vm/status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/json-write.h"
#include "systemd/manager.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/lockfile.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "vm/foreign.h"
#include "vm/records.h"
#include "vm/runner.h"

const char *vm_state_to_string(enum vm_state s)
{
        switch (s) {
        case VM_RUNNING:
                return "running";
        case VM_BOOTED:
                return "booted";
        default:
                return "not-booted";
        }
}

const char *vm_owner_to_string(enum vm_owner o)
{
        switch (o) {
        case VM_OWNER_MONITOR:
                return "monitor";
        case VM_OWNER_RUN:
                return "foreground";
        case VM_OWNER_UNIT:
                return "systemd-unit";
        default:
                return NULL;
        }
}

char *vm_owner_describe(const struct vm_status *st)
{
        switch (st->owner) {
        case VM_OWNER_MONITOR:
                return xstrdup("monitor");
        case VM_OWNER_RUN:
                return xstrdup("foreground run");
        case VM_OWNER_UNIT: {
                _cleanup_free_ char *unit = systemd_vm_unit(st->name);
                return xasprintf("systemd unit %s", unit);
        }
        default:
                return xstrdup("unknown process");
        }
}

void vm_owner_json(struct strbuf *b, const struct vm_status *st)
{
        const char *owner = vm_owner_to_string(st->owner);
        strbuf_puts(b, "\"supervisor\": ");
        if (owner)
                json_write_string(b, owner, strlen(owner));
        else
                strbuf_puts(b, "null");
        strbuf_puts(b, ", \"unit\": ");
        if (st->owner == VM_OWNER_UNIT) {
                _cleanup_free_ char *unit = systemd_vm_unit(st->name);
                json_write_string(b, unit, strlen(unit));
        } else {
                strbuf_puts(b, "null");
        }
}

/* The pid file's word for each owner. A record without one was written by a run. */
static const char *const pidfile_kinds[] = {
        [VM_OWNER_MONITOR] = "monitor",
        [VM_OWNER_RUN] = "run",
        [VM_OWNER_UNIT] = "unit",
};

unsigned long long proc_start_time(pid_t pid)
{
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof(buf), f))
                return 0;
        /* The command name may hold spaces and parentheses: fields start after the last ')'. */
        char *p = strrchr(buf, ')');
        if (!p)
                return 0;
        unsigned long long start = 0;
        /* After ')': state is field 3; starttime is field 22. */
        int field = 2;
        for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
                if (++field == 22) {
                        start = strtoull(tok, NULL, 10);
                        break;
                }
        }
        return start;
}

int vm_pidfile_write(const char *records, pid_t pid, enum vm_owner owner, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/pid", records);
        _cleanup_free_ char *text =
                xasprintf("%d %llu %s\n", (int)pid, proc_start_time(pid),
                          pidfile_kinds[owner == VM_OWNER_UNKNOWN ? VM_OWNER_RUN : owner]);
        return write_live_record(path, text, strlen(text), 0644, err);
}

/* The recorded pid and what it is; 0 when there is no usable record. */
static pid_t pidfile_read(const char *records, enum vm_owner *owner, long long *since)
{
        _cleanup_free_ char *path = xasprintf("%s/pid", records);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "re") : NULL;
        if (f)
                fd = -1; /* the FILE owns it now */
        int pid;
        unsigned long long start;
        char kind[16] = "";
        if (!f || fscanf(f, "%d %llu %15s", &pid, &start, kind) < 2 || pid <= 0)
                return 0;
        struct stat st;
        if (since && fstat(fileno(f), &st) == 0)
                *since = (long long)st.st_mtime;
        if (owner) {
                *owner = VM_OWNER_RUN;
                for (size_t i = 0; i < sizeof(pidfile_kinds) / sizeof(pidfile_kinds[0]); i++)
                        if (pidfile_kinds[i] && strcmp(kind, pidfile_kinds[i]) == 0)
                                *owner = (enum vm_owner)i;
        }
        /* Advisory, but never a recycled pid: it must still be the process that wrote it. */
        return proc_start_time(pid) == start && start != 0 ? pid : 0;
}

void vm_pidfile_remove_own(const char *records, pid_t pid)
{
        _cleanup_free_ char *path = xasprintf("%s/pid", records);
        if (pidfile_read(records, NULL, NULL) == pid)
                (void)unlink(path);
}

int vm_status_read(const char *state_dir, const char *name, struct vm_status *st)
{
        memset(st, 0, sizeof(*st));
        st->name = xstrdup(name);
        st->current = records_runner(state_dir, name, "current");
        st->booted = records_runner(state_dir, name, "booted");
        if (st->current) {
                _cleanup_free_ char *dir = runner_path(state_dir, st->current);
                st->hypervisor = runner_hypervisor(dir);
        }
        _cleanup_free_ char *records = records_path(state_dir, name, NULL);
        _cleanup_close_ int dir = open(records, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        bool running = dir >= 0 && lockfile_held(dir, "lock") > 0;
        enum vm_owner owner = VM_OWNER_UNKNOWN;
        if (running)
                st->pid = pidfile_read(records, &owner, &st->since);
        st->owner = running && st->pid ? owner : VM_OWNER_UNKNOWN;
        st->foreground = st->owner == VM_OWNER_RUN;
        st->state = running ? VM_RUNNING : st->booted ? VM_BOOTED : VM_NOT_BOOTED;
        st->ready = running && st->booted && dir >= 0 && faccessat(dir, "ready", F_OK, 0) == 0;
        return 0;
}

void vm_status_done(struct vm_status *st)
{
        free(st->name);
        free(st->current);
        free(st->booted);
        free(st->hypervisor);
        memset(st, 0, sizeof(*st));
}

int vm_restarts_read(const char *records, struct vm_restarts *rs)
{
        _cleanup_free_ char *path = xasprintf("%s/restarts", records);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        memset(rs, 0, sizeof(*rs));
        if (!f)
                return -errno;
        if (fscanf(f, "%d %d %d %d %d", &rs->runs_ended, &rs->restarts, &rs->last_exit,
                   &rs->delay_s, &rs->fast_failures) != 5) {
                memset(rs, 0, sizeof(*rs));
                return -EINVAL;
        }
        return 0;
}

int vm_restarts_write(const char *records, const struct vm_restarts *rs, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/restarts", records);
        _cleanup_free_ char *text = xasprintf("%d %d %d %d %d\n", rs->runs_ended, rs->restarts,
                                              rs->last_exit, rs->delay_s, rs->fast_failures);
        return write_live_record(path, text, strlen(text), 0644, err);
}
