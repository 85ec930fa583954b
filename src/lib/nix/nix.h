/*
 * Nix, through its command (`nix build`, `nix eval`, `nix store
 * diff-closures`), for flake VMs: argv vectors only, never a shell line.
 * Flakes need the experimental features of Nix 2.8 (Debian 12's), which
 * every call turns on for itself.
 */
#pragma once

#include <stdbool.h>

struct mv_error;

/* The Debian package that has the nix command, for messages. */
#define NIX_PACKAGE "nix-bin"

/* The nix command in PATH; an error naming the package when there is none. */
int nix_find(char **path, struct mv_error **err);

/*
 * Whether `ref` can be a flake reference here: not empty, no '#' (microvm
 * adds the attribute), no control characters, at most 4096 bytes, and
 * with `absolute_paths`, a local path must be absolute (microvm.nix's -f).
 */
int flake_ref_check(const char *ref, bool absolute_paths, struct mv_error **err);

/* FLAKE#nixosConfigurations."NAME".config.microvm.ATTR: malloc'd. */
char *flake_vm_attr(const char *flake, const char *vm, const char *attr);

/*
 * Build VM `vm`'s declaredRunner from `flake` (nix build --no-link
 * --json); `*store_path` gets the runner's store path. On failure the
 * error says so with the last lines of Nix's log.
 */
int nix_build_runner(const char *flake, const char *vm, char **store_path, struct mv_error **err);

/*
 * The store path VM `vm`'s declaredRunner would have if built now (`nix
 * eval --raw ...declaredRunner.outPath`: evaluated, not built).
 */
int nix_eval_runner_path(const char *flake, const char *vm, char **out, struct mv_error **err);

/* `nix store diff-closures OLD NEW` on our stdout; a failure is a warning. */
void nix_diff_closures(const char *old_path, const char *new_path);
