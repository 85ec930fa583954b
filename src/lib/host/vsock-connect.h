/*
 * A stream to a port of a guest over vsock: AF_VSOCK to its CID (qemu,
 * crosvm, kvmtool, alioth: vhost-vsock), or the hypervisor's "hybrid"
 * unix socket (cloud-hypervisor, firecracker), where the host writes
 * "CONNECT PORT\n" and the hypervisor answers "OK ...\n".
 */
#pragma once

#include <stdint.h>

struct mv_error;

int vsock_connect(uint32_t cid, uint32_t port, struct mv_error **err);

/* Over the hybrid socket `name` in the working directory; returns the connected fd. */
int hybrid_vsock_connect(const char *name, uint32_t port, struct mv_error **err);

/* Copy stdin to `fd` and `fd` to stdout until both directions end. */
int vsock_relay(int fd, struct mv_error **err);
