/*
 * Runners that microvm.nix built: `bin/microvm-run` is the hypervisor
 * (with the volumes it creates itself), the files in share/microvm say what the
 * host sets up around it (taps, macvtaps, one virtiofsd per share), as
 * microvm.nix's units read them. Both layouts are understood: the seed's
 * (77f0b82, the hypervisor only in the runner's name) and today's (71beea0,
 * share/microvm/hypervisor).
 */
#pragma once

#include <stdbool.h>

struct mv_error;
struct host_settings;
struct vm_plan;

#define RUNNER_RUN      "bin/microvm-run"
#define RUNNER_SHUTDOWN "bin/microvm-shutdown"
#define RUNNER_BALLOON  "bin/microvm-balloon"

/* Whether the runner in `dir` is microvm.nix's: no spec of ours. */
bool runner_is_foreign(const char *dir);

/*
 * The hypervisor a runner is for: share/microvm/hypervisor, else the name
 * microvm.nix gives its runners ("<hash>-microvm-HYPERVISOR-HOSTNAME").
 * NULL when neither says; the name is not checked against the backends.
 */
char *runner_hypervisor(const char *dir);

/*
 * What a start needs of a runner, checked before it replaces the one
 * installed: ours (a spec), or microvm.nix's with bin/microvm-run, for a
 * hypervisor microvm knows.
 */
int runner_check_usable(const char *dir, struct mv_error **err);

/*
 * The interfaces of the metadata texts (tap-flags, tap-interfaces,
 * macvtap-interfaces; NULL for a missing file) into `plan`, every name
 * checked; `dir` for messages. `taps` and `macvtaps` are cut up.
 */
int foreign_parse_interfaces(struct vm_plan *plan, const struct host_settings *hs, const char *dir,
                             const char *flags, char *taps, char *macvtaps, struct mv_error **err);

/* Fill `plan` (vm, working directory and runner set) from the foreign runner in `dir`. */
int foreign_plan(struct vm_plan *plan, const struct host_settings *hs, const char *dir,
                 struct mv_error **err);
