/* The option tables: the host's (the seed's microvm.* host options) and a guest's. */
#pragma once

#include "config/types.h"

/*
 * The microvm.nix commits the schema follows: options declared by
 * "<microvm.nix/...>" are microvm.nix's at SCHEMA_UPSTREAM_COMMIT (see
 * tests/cases/generate/options-71beea0.json); "<microvm.nix 77f0b82/...>"
 * marks the seed's options upstream has since moved or removed, and
 * "<microvm>" options that are this tool's own.
 */
#define SCHEMA_UPSTREAM_COMMIT "71beea0"
#define SCHEMA_SEED_COMMIT     "77f0b82"

/* The whole host configuration: a NixOS-style module with microvm.* and the tap unit switch. */
extern const struct type schema_host;

/* microvm.vms.<name>: one VM's declaration on the host. */
extern const struct type schema_vm;

/* microvm.vms.<name>.config: a guest's NixOS module (microvm.* guest options). */
extern const struct type schema_guest;

/* The option whose full name is `name` (e.g. "microvm.stateDir"), searching host and guest. */
const struct mv_option *schema_find_option(const char *name, const char **prefix);
