/*
 * VMs that left the configuration. apply marks each VM it installs from
 * host.nix as declared (STATE/.host/NAME/declared, root's); one so marked
 * that host.nix no longer has is stopped by the caller and then forgotten
 * here: its records (and with them its runners, for gc) and the links
 * published for it go, its gcroots too, while STATE/NAME with its volumes
 * and state stays unless pruned. Imperative VMs (`microvm -c`, `install`)
 * carry no mark and are never touched.
 *
 * Each removal first renames what it removes out of the way
 * (".#removed.NAME.RANDOM"), so a crash leaves a VM either known or gone;
 * statedir_gc() deletes such debris.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct mv_error;
struct value;

#define REMOVED_PREFIX ".#removed."

/* Mark VM `name` as installed from host.nix. */
int removal_mark_declared(const char *state_dir, const char *name, struct mv_error **err);

/* The declared VMs that `vms` (the configuration's microvm.vms) no longer has; sorted. */
char **removal_candidates(const char *state_dir, const struct value *vms);

/*
 * Forget VM `name`, which must not run: gcroots, published links, then
 * its records. With `prune`, STATE/NAME goes first, volumes and all.
 */
int removal_forget(const char *state_dir, const char *name, bool prune, struct mv_error **err);

/* Remove the debris of interrupted removals in STATE and STATE/.host; counts them. */
int removal_clean_debris(const char *state_dir, size_t *removed, struct mv_error **err);
