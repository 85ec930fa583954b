/*
 * Runner directories: a VM's installed definition, in microvm.nix's
 * layout (share/microvm/...), plus the resolved spec the command line is
 * built from. They are content addressed: the name is a hash of the
 * spec, so "has this VM changed?" is a comparison of two link targets.
 */
#pragma once

#include <stdbool.h>

#include "config/value.h"

struct mv_error;

#define RUNNERS_DIR ".runners"
#define RUNNER_SPEC "share/microvm/spec.json"
/* Written last, after everything else is on disk: only a runner with it is complete. */
#define RUNNER_COMPLETE ".complete"

/*
 * The resolved spec of VM `name`: its evaluated guest configuration and
 * the host settings that shape how it runs, as canonical JSON (compact,
 * keys sorted). `host` is the evaluated host configuration.
 */
char *runner_spec_json(const struct value *host, const char *name);

/* "<32 hex digits of the spec's sha256>-<name>" */
char *runner_dir_name(const char *spec_json, const char *name);

/*
 * Make sure STATE/.runners/<runner_dir_name> exists and is complete:
 * written under a temporary name, synced, marked complete, and renamed
 * into place. A directory of that name without the mark (what a crash in
 * an older version could leave) is moved aside and written again.
 * `*created` says whether it had to be written. `*runner` gets the
 * directory name.
 */
int runner_install(const char *state_dir, const struct value *host, const char *name, char **runner,
                   bool *created, struct mv_error **err);

/*
 * Make the runner written in `tmp` (a temporary directory in `runners`)
 * complete and give it its name: an incomplete one of that name is moved
 * aside, everything is synced, the mark written, the directory renamed.
 */
int runner_commit(const char *runners, const char *tmp, const char *dirname, bool *created,
                  struct mv_error **err);

/* Whether runner directory RUNNERS/NAME is complete: root's, and marked so. */
bool runner_complete(const char *runners_dir, const char *runner);

/*
 * Rename RUNNERS/NAME to a temporary name (debris for gc) and return the
 * new path, so that it never is half-removed under its own name.
 */
char *runner_move_aside(const char *runners_dir, const char *runner, struct mv_error **err);
