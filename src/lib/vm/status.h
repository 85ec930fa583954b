/*
 * What is known about a VM from root's records alone (vm/records.h): its
 * runners, and whether a process runs it, which the lock in the records
 * says exactly (held while the runner lives, released by the kernel when
 * it dies, zombie or not). The pid file beside it is advisory: it names
 * the process for people. Reading evaluates nothing: `microvm list` stays
 * fast with thousands of VMs.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct mv_error;

/* What runs a VM, as the pid file names it ("monitor", "run" or "unit"). */
enum vm_owner {
        VM_OWNER_UNKNOWN, /* not running, or no usable pid file */
        VM_OWNER_MONITOR, /* microvm's monitor (`start`) */
        VM_OWNER_RUN,     /* `microvm run` in a terminal */
        VM_OWNER_UNIT,    /* `microvm run --under-systemd`: the VM's systemd unit */
};

enum vm_state {
        VM_NOT_BOOTED, /* no booted link */
        VM_BOOTED,     /* booted, but nothing runs it (stopped uncleanly) */
        VM_RUNNING,
};

struct vm_status {
        char *name;
        char *current; /* runner names, or NULL */
        char *booted;
        char *hypervisor; /* from the current runner's share/microvm/hypervisor */
        enum vm_state state;
        pid_t pid;           /* when running: the monitor or run, from the pid file; 0 if unknown */
        long long since;     /* when running: when the pid file was written (epoch seconds), or 0 */
        bool ready;          /* running, and its run said it is ready */
        bool foreground;     /* running under `microvm run`, not a monitor */
        enum vm_owner owner; /* when running: what runs it */
};

const char *vm_state_to_string(enum vm_state s);
/* The owner as --json says it: "monitor", "foreground", "systemd-unit"; NULL when unknown. */
const char *vm_owner_to_string(enum vm_owner o);
/* The owner for people: "monitor", "foreground run", "systemd unit microvm@NAME.service". */
char *vm_owner_describe(const struct vm_status *st);

struct strbuf;
/* `"supervisor": OWNER, "unit": UNIT` (each null when none), for the --json of status and list. */
void vm_owner_json(struct strbuf *b, const struct vm_status *st);

int vm_status_read(const char *state_dir, const char *name, struct vm_status *st);
void vm_status_done(struct vm_status *st);

/* Record the running process (pid, start time, what it is) in the records; atomically. */
int vm_pidfile_write(const char *records, pid_t pid, enum vm_owner owner, struct mv_error **err);
/* Remove the pid file only if `pid` wrote it. */
void vm_pidfile_remove_own(const char *records, pid_t pid);

/* The start time of a process in clock ticks since boot (/proc/PID/stat), 0 if gone. */
unsigned long long proc_start_time(pid_t pid);

/* What a VM's monitor records in the records' `restarts` each time a run ends. */
struct vm_restarts {
        int runs_ended;    /* since the monitor started */
        int restarts;      /* runs started after the first */
        int last_exit;     /* exit status of the last run that ended */
        int delay_s;       /* the delay before the next restart */
        int fast_failures; /* short runs in a row: each doubles the delay */
};

/* 0 and the record, or -ENOENT when there is none (never started under a monitor). */
int vm_restarts_read(const char *records, struct vm_restarts *rs);
int vm_restarts_write(const char *records, const struct vm_restarts *rs, struct mv_error **err);
