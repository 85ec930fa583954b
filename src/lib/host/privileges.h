/*
 * Who the hypervisor runs as. microvm.nix's microvm@ unit runs it with
 * User=microvm, Group=kvm and LimitMEMLOCK=infinity; started as root,
 * microvm does the same when that user and group exist, and otherwise runs
 * it as the caller. virtiofsd stays root, as in microvm.nix: its sandbox
 * needs it (docs/running.md).
 */
#pragma once

#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

struct mv_error;

#define RUN_AS_USER  "microvm"
#define RUN_AS_GROUP "kvm"
/* microvm.nix's LimitNOFILE for the hypervisor and virtiofsd units. */
#define SERVICE_NOFILE 1048576

struct run_as {
        bool switch_ids; /* become uid:gid, with gid as the only supplementary group */
        uid_t uid;
        gid_t gid;
        char *user, *group; /* the names of uid and gid */
        char *reason;       /* when not switching: why not */
        bool set_memlock;
        struct rlimit memlock; /* RLIMIT_MEMLOCK for the hypervisor, when set_memlock */
        char *memlock_note;    /* when it cannot be infinity: why not, or NULL */
};

/* What the decision depends on, gathered by run_as_resolve(). */
struct run_as_facts {
        uid_t euid;
        gid_t egid;
        const char *caller_user, *caller_group; /* names of euid and egid, or NULL */
        const struct passwd *user;              /* RUN_AS_USER, or NULL when absent */
        const struct group *group;              /* RUN_AS_GROUP, or NULL when absent */
        const char *guest_user;                 /* microvm.user, or NULL */
        bool cap_sys_resource;                  /* may raise a hard limit */
        struct rlimit memlock;                  /* the caller's */
};

/* The decision alone, from the facts. */
void run_as_decide(const struct run_as_facts *f, struct run_as *out);

/* Gather the facts of this process and decide; `guest_user` is microvm.user or NULL. */
void run_as_resolve(const char *guest_user, struct run_as *out);

void run_as_done(struct run_as *id);

/*
 * RLIMIT_NOFILE for the hypervisor and virtiofsd, from the caller's
 * `current` limit: the soft limit raised to SERVICE_NOFILE (never
 * lowered), the hard limit too where CAP_SYS_RESOURCE allows, otherwise
 * the soft limit up to the hard one. Many shares and queues need many
 * descriptors; systemd gives the units the same.
 */
struct rlimit service_nofile_decide(struct rlimit current, bool cap_sys_resource);

/* service_nofile_decide() for this process. */
struct rlimit service_nofile_limit(void);

/* Whether capability `cap` (CAP_*) is in this process's effective set. */
bool capability_effective(int cap);

/*
 * Whether `id` can access each of `paths` with the access(2) mode in
 * `modes`, checked in a child that switched to it: results[i] gets 0 or
 * the errno. A relative path is taken from `dir`, entered as root first
 * (as the hypervisor's working directory is).
 */
int run_as_access(const struct run_as *id, const char *dir, const char *const *paths,
                  const int *modes, size_t n, int *results, struct mv_error **err);
