/*
 * Setting a running guest's balloon, as microvm.nix's bin/microvm-balloon
 * does for each hypervisor (setBalloonScript). What SIZE means is the
 * hypervisor's: qemu's is the memory the guest keeps, cloud-hypervisor's
 * and crosvm's the balloon's own size, kvmtool's how much to inflate by.
 */
#pragma once

#include <stdint.h>

#include "hypervisor/hypervisor.h"

struct mv_error;

/* The largest SIZE: in bytes it still fits the APIs' signed 64 bits. */
#define BALLOON_MAX_MIB (INT64_MAX >> 20)

struct balloon_request {
        enum hv_balloon method;
        const char *socket;     /* the control socket, relative to the working directory */
        const char *hypervisor; /* its executable: crosvm and lkvm are run to ask */
        const char *host_name;  /* lkvm's --name, networking.hostName */
        const char *home;       /* lkvm finds its socket under $HOME: the VM's directory */
        uint64_t size_mib;
};

/*
 * Make the request, as the caller is (the VM's user, in its directory).
 * `*report` gets what microvm-balloon prints: the balloon's actual size in
 * MiB where the script reads it back (qemu, crosvm), else NULL.
 */
int balloon_request(const struct balloon_request *q, char **report, struct mv_error **err);

/* crosvm balloon_stats' BalloonStats.balloon_actual (bytes); -EBADMSG when it has none. */
int crosvm_parse_balloon_actual(const char *output, int64_t *actual);
