/*
 * Nix store paths as runners: a VM's record may name one that microvm.nix
 * built (`/nix/store/<hash>-microvm-qemu-NAME`). Root runs what is in it
 * only when the store is one nobody but root can change.
 */
#pragma once

#include <stdbool.h>

struct mv_error;

#define NIX_STORE_DIR "/nix/store"

/*
 * Whether `path` is written as a store path itself (not a file inside one):
 * NIX_STORE_DIR, '/', 32 characters of Nix's base32, '-', a name of Nix's
 * characters. Only the spelling: nothing is looked up.
 */
bool store_path_valid(const char *path);

/*
 * Whether root may use store path `path` as a runner: the store directory
 * and the path are root's, the path a directory nobody else can write, the
 * store writable by others only with the sticky bit (a multi-user Nix). A
 * store owned by a user (a single-user Nix) is refused with the reason.
 */
int store_path_trusted(const char *path, struct mv_error **err);
