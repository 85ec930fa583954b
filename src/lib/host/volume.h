/* Volume images: created sparse and formatted, as microvm.nix's runner does before a start. */
#pragma once

#include <stdint.h>

struct mv_error;

/*
 * Create `path` as a sparse file of `size_mib` MiB (marked no-copy-on-write
 * where the filesystem knows it), then run `mkfs` (an argv whose last word
 * is the image). On any failure the image is removed again.
 */
int volume_create(const char *path, int64_t size_mib, char *const *mkfs, struct mv_error **err);
