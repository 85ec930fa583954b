/*
 * The state directory (microvm.stateDir, /var/lib/microvms): runners in
 * .runners/, root's records of each VM in .host/NAME (vm/records.h), and
 * each VM's working directory NAME/ (vm/vmdir.h). Root trusts only what
 * no other user can change, so the state directory itself and everything
 * above it must be writable by root alone (docs/security.md).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mv_error;

/* What statedir_inspect() found. */
struct statedir_facts {
        bool exists;
        uid_t uid;
        gid_t gid;
        mode_t mode;
        /* Why another user could change it (or a directory above it), or NULL. malloc'd. */
        char *unsafe;
        /* It is microvm.nix's (or an older microvm's) layout, given to microvm:kvm. */
        bool vm_owned;
};

/*
 * Look at the state directory and every directory above it: each must
 * belong to root (or the caller) and be writable by nobody else, unless it
 * is sticky (/tmp), where others cannot rename what is not theirs.
 */
void statedir_inspect(const char *state_dir, struct statedir_facts *f);
void statedir_facts_done(struct statedir_facts *f);

/* An error unless statedir_inspect() found it safe; for commands that run VMs. */
int statedir_check(const char *state_dir, struct mv_error **err);

/*
 * For apply: create the state directory (0755, the caller's) if needed.
 * An existing one is left as it is, except that one in microvm.nix's
 * layout (given to microvm:kvm, group-writable) is taken back by root,
 * since the VM's user must not be able to rename what root reads. Anything
 * else that another user can write is an error.
 */
int statedir_prepare(const char *state_dir, struct mv_error **err);

/* Take the state directory's lock (STATE/.lock) for an apply or gc; returns the fd. */
int statedir_lock(const char *state_dir, struct mv_error **err);

/*
 * Remove runner directories no VM's record (current, booted, toplevel)
 * names, and debris of interrupted writes. Each is renamed out of the way
 * first, so a runner is either whole under its name or gone. `*removed`
 * counts them.
 */
int statedir_gc(const char *state_dir, size_t *removed, struct mv_error **err);
