/* Shared by the VM tests: a host configuration written to a scratch directory and loaded. */
#pragma once

#include "config-helpers.h"

#include "config/host-config.h"
#include "util/atomic-file.h"
#include "util/xalloc.h"

/* Load `body` (inside the top-level set) with microvm.stateDir = DIR/state. */
static inline void load_host(const char *dir, const char *body, struct host_config *cfg)
{
        char *path = xasprintf("%s/host.nix", dir);
        char *text = xasprintf("{ microvm.stateDir = \"%s/state\"; %s }", dir, body);
        struct mv_error *err = NULL;
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644, NULL), 0);
        if (host_config_load(path, cfg, &err) < 0)
                fail_msg("%s", err->msg);
        free(path);
        free(text);
}

#define VM(name, extra)                                                                            \
        "microvm.vms." name ".config.microvm = { kernel = \"/k\"; initrdPath = \"/i\"; " extra " " \
        "}"                                                                                        \
        ";"
