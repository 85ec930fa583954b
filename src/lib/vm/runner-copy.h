/*
 * A runner directory given by path (built in CI, copied from another
 * host), installed under STATE/.runners as a copy of root's: what root
 * runs around a VM never stays where its builder can change it.
 */
#pragma once

#include <stdbool.h>

struct mv_error;

/* Limits of what is copied: a runner is metadata and a few scripts. */
#define RUNNER_COPY_MAX_BYTES   (64 * 1024 * 1024)
#define RUNNER_COPY_MAX_ENTRIES 4096
#define RUNNER_COPY_MAX_DEPTH   16

/*
 * Copy the runner in `src` to STATE/.runners/<hash>-NAME, named by a hash
 * of its content (names, kinds, modes, bytes, link targets): directories,
 * regular files readable by everyone (the hypervisor's user reads them)
 * and symlinks as they are; anything else is refused. Crash-safe as
 * runner_install: written under a temporary name, synced, marked
 * complete, renamed. A runner of the seed's layout names its hypervisor
 * only in its directory's name, which the copy loses: `hypervisor` (not
 * NULL) is then written to share/microvm/hypervisor. `*runner` gets the name, `*created` whether it was
 * written now. The caller holds the state directory's lock.
 */
int runner_copy_in(const char *state_dir, const char *name, const char *src, const char *hypervisor,
                   char **runner, bool *created, struct mv_error **err);
