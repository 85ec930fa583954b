#include "vm/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"
#include "vm/statedir.h"

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

int vm_pidfile_write(const char *vm_dir, pid_t pid, bool monitor, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/pid", vm_dir);
        _cleanup_free_ char *text = xasprintf("%d %llu %s\n", (int)pid, proc_start_time(pid),
                                              monitor ? "monitor" : "run");
        return write_file_atomic(path, text, strlen(text), 0644, err);
}

void vm_pidfile_remove(const char *vm_dir)
{
        _cleanup_free_ char *path = xasprintf("%s/pid", vm_dir);
        (void)unlink(path);
}

/* The recorded process, if it still is the one that wrote the file; and if it is a monitor. */
static pid_t pidfile_alive_kind(const char *vm_dir, bool *monitor)
{
        _cleanup_free_ char *path = xasprintf("%s/pid", vm_dir);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        int pid;
        unsigned long long start;
        char kind[16] = "";
        if (!f || fscanf(f, "%d %llu %15s", &pid, &start, kind) < 2 || pid <= 0)
                return 0;
        if (monitor)
                *monitor = strcmp(kind, "monitor") == 0;
        return proc_start_time(pid) == start && start != 0 ? pid : 0;
}

static pid_t pidfile_alive(const char *vm_dir)
{
        return pidfile_alive_kind(vm_dir, NULL);
}

void vm_pidfile_remove_own(const char *vm_dir, pid_t pid)
{
        if (pidfile_alive(vm_dir) == pid)
                vm_pidfile_remove(vm_dir);
}

int vm_status_read(const char *state_dir, const char *name, struct vm_status *st)
{
        _cleanup_free_ char *vm_dir = xasprintf("%s/%s", state_dir, name);
        memset(st, 0, sizeof(*st));
        st->name = xstrdup(name);
        st->current = statedir_link_runner(state_dir, name, "current");
        st->booted = statedir_link_runner(state_dir, name, "booted");
        if (st->current) {
                _cleanup_free_ char *p = xasprintf("%s/current/share/microvm/hypervisor", vm_dir);
                char *text = NULL;
                if (read_file_full(p, &text, NULL, NULL) >= 0) {
                        text[strcspn(text, "\n")] = '\0';
                        st->hypervisor = text;
                }
        }
        bool monitor = false;
        st->pid = pidfile_alive_kind(vm_dir, &monitor);
        st->foreground = st->pid && !monitor;
        st->state = st->pid ? VM_RUNNING : st->booted ? VM_BOOTED : VM_NOT_BOOTED;
        _cleanup_free_ char *ready = xasprintf("%s/ready", vm_dir);
        st->ready = st->state == VM_RUNNING && st->booted && access(ready, F_OK) == 0;
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

int vm_restarts_read(const char *vm_dir, struct vm_restarts *rs)
{
        _cleanup_free_ char *path = xasprintf("%s/restarts", vm_dir);
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

int vm_restarts_write(const char *vm_dir, const struct vm_restarts *rs, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/restarts", vm_dir);
        _cleanup_free_ char *text = xasprintf("%d %d %d %d %d\n", rs->runs_ended, rs->restarts,
                                              rs->last_exit, rs->delay_s, rs->fast_failures);
        return write_file_atomic(path, text, strlen(text), 0644, err);
}
