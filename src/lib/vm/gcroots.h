/*
 * Nix garbage-collector roots for runners that are store paths, where
 * microvm.nix keeps them: /nix/var/nix/gcroots/microvm/NAME and
 * booted-NAME. They lead through root's records (STATE/.host/NAME/current
 * and booted), not through STATE/NAME, which the VM's user could repoint.
 */
#pragma once

struct mv_error;

#define NIX_GCROOTS_DIR "/nix/var/nix/gcroots"

/* Add the roots of VM `name`; nothing where Nix is not installed. */
int gcroots_add(const char *state_dir, const char *name, struct mv_error **err);

/* Remove the roots of VM `name` that lead into this state directory's records. */
int gcroots_remove(const char *state_dir, const char *name, struct mv_error **err);
