/*
 * Users and groups by name or id, as the system's account databases
 * (NSS) know them. Each lookup runs in a short-lived child process: NSS
 * loads its modules (libnss_systemd and what it links: libcap, libm) into
 * the process that asks, and a VM's monitor, forked from the command that
 * started it, would carry them all its life: 0.8 MiB of its 2.9 MiB RSS.
 * Answers are cached for the life of the process: a monitor keeps the
 * identities its VM started with.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct account {
        const char *name; /* owned by the cache */
        unsigned id;      /* the uid or gid */
        unsigned gid;     /* a user's primary group */
};

/*
 * Names the command will look up: the first lookup asks for them (and for
 * the caller's user and group) in the same child.
 */
void accounts_expect(const char *user, const char *group);

/* Each fills `out` and returns true when the account exists. */
bool account_user_by_name(const char *name, struct account *out);
bool account_user_by_id(uid_t uid, struct account *out);
bool account_group_by_name(const char *name, struct account *out);
bool account_group_by_id(gid_t gid, struct account *out);
