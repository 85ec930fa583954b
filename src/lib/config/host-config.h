/*
 * The evaluated host configuration: host.nix (or host.json) read with its
 * imports, merged against the schema, defaults applied, microvm.nix's
 * assertions and the host-wide checks passed. Nothing of it is used when
 * any step fails.
 */
#pragma once

#include "config/ifname.h"
#include "config/merge.h"
#include "config/value.h"

struct mv_error;

struct host_config {
        char *path;         /* the file read */
        struct value *root; /* every option, defaults applied; attribute keys sorted */
        struct merge_ctx ctx;
        struct arena *arena; /* holds every value of the configuration */
};

/* Which file to read: `explicit` (--config), else $MICROVM_CONFIG, else the built-in default. */
const char *host_config_path(const char *explicit_path);

int host_config_load(const char *path, struct host_config *cfg, struct mv_error **err);

/* The configuration of a host with no configuration file: every option at its default. */
int host_config_defaults(struct host_config *cfg, struct mv_error **err);

/* The steps after reading: merge `module` against the host schema, complete, check. */
int host_config_eval(struct merge_ctx *ctx, struct value *module, struct value **root,
                     struct mv_error **err);

void host_config_free(struct host_config *cfg);

/* VM names: a letter or digit, then letters, digits, '-', '_' or '.'; at most 64 bytes. */
bool vm_name_valid(const char *name);

/* The rule vm_name_valid() checks, for messages. */
#define VM_NAME_RULE "up to 64 letters, digits, '-', '_' or '.', starting with a letter or digit"

/* "microvm.vms.NAME.config.REL", for messages about a guest option; NAME quoted as needed. */
char *guest_option_path(const char *vm, const char *rel);

/* An IPv4 or IPv6 address literal, or a DNS host name (letters, digits, '-' and '.'). */
bool host_address_valid(const char *s);

/*
 * microvm.forwardPorts of guest `guest` of vm `vm`: addresses go into
 * qemu's hostfwd= and guestfwd= rules, and a guestfwd's host address into
 * a command that qemu runs through /bin/sh, so only address literals and
 * host names pass; ports are 0 to 65535. A configuration error at the
 * offending value otherwise.
 */
int check_forward_ports(const char *vm, const struct value *guest, struct mv_error **err);
