/*
 * The state directory (microvm.stateDir, /var/lib/microvms): one
 * directory per VM holding `current` (the installed runner), `booted`
 * (the runner that is running) and, for declarative VMs, `toplevel`;
 * the runners themselves in .runners/. Every change is a rename, so a
 * crash leaves the old state or the new one.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct mv_error;

/* Create the state directory if needed, group-writable, owned by microvm:kvm when those exist. */
int statedir_prepare(const char *state_dir, struct mv_error **err);

/* Take the state directory's lock (STATE/.lock) for an apply or gc; returns the fd. */
int statedir_lock(const char *state_dir, struct mv_error **err);

/*
 * Point STATE/NAME/current (and toplevel, for a declarative VM) at
 * .runners/RUNNER. Writes nothing when they already point there;
 * `*changed` says whether `current` moved.
 */
int statedir_link_vm(const char *state_dir, const char *name, const char *runner, bool declarative,
                     bool *changed, struct mv_error **err);

/* The runner directory name STATE/NAME/LINK points at, or NULL. malloc'd. */
char *statedir_link_runner(const char *state_dir, const char *name, const char *link);

/*
 * Remove runner directories no VM's current, booted or toplevel points
 * at, and debris of interrupted writes. `*removed` counts them.
 */
/* The names of the VMs the state directory holds, imperative ones included; sorted. */
char **statedir_vm_names(const char *state_dir);

int statedir_gc(const char *state_dir, size_t *removed, struct mv_error **err);
