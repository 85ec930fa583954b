/*
 * What `apply` would do to each VM, printed without doing any of it
 * (`apply --dry-run`, `plan` without a VM name). Nothing is built,
 * written or started; Nix is not run.
 */
#pragma once

#include <stdbool.h>

struct value;

/* `start`: apply would start the autostart set; `prune`: --prune-volumes. */
void apply_preview(const struct value *root, bool start, bool prune);
