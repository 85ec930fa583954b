/* Shared by the backend tests: evaluate a guest and build one backend's command. */
#pragma once

#include "vm-helpers.h"

#include "config/merge.h"
#include "hypervisor/hypervisor.h"
#include "util/cleanup.h"
#include "util/strv.h"

struct built {
        struct host_config cfg;
        struct hv_command cmd;
        struct mv_error *err;
};

/* Evaluate microvm.vms.t.config.microvm = { GUEST }, build with backend `hv`, host `env`. */
static inline int build_backend(const char *hv, const char *guest, struct hv_env env,
                                struct built *b)
{
        char *dir = scratch_dir_new();
        char *body = xasprintf("microvm.vms.t.config.microvm = { hypervisor = \"%s\"; kernel = "
                               "\"/k\"; initrdPath = \"/i\"; %s };",
                               hv, guest);
        memset(b, 0, sizeof(*b));
        load_host(dir, body, &b->cfg);
        free(body);
        scratch_dir_remove(dir);
        struct hv_vm vm = { .name = "t",
                            .guest = value_lookup(b->cfg.root, "microvm.vms.t.config"),
                            .binary = "/bin/hv",
                            .runner_dir = "/r",
                            .env = env };
        return hypervisor_find(hv)->build(&vm, &b->cmd, &b->err);
}

static inline void built_free(struct built *b)
{
        hv_command_free(&b->cmd);
        mv_error_free(&b->err);
        host_config_free(&b->cfg);
}
