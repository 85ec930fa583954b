/* Guest option defaults that microvm.nix computes from other options. */
#pragma once

#include "config/merge.h"

int default_host_name(const struct merge_ctx *ctx, struct value **out);
int default_socket(const struct merge_ctx *ctx, struct value **out);
int default_share_socket(const struct merge_ctx *ctx, struct value **out);
int default_machine_id(const struct merge_ctx *ctx, struct value **out);
int default_qemu_machine(const struct merge_ctx *ctx, struct value **out);
int default_graphics_socket(const struct merge_ctx *ctx, struct value **out);
int default_store_on_disk(const struct merge_ctx *ctx, struct value **out);
int default_system_symlink(const struct merge_ctx *ctx, struct value **out);
int default_register_closure(const struct merge_ctx *ctx, struct value **out);
int default_hotplugged_mem(const struct merge_ctx *ctx, struct value **out);
int default_virtiofsd_inode_file_handles(const struct merge_ctx *ctx, struct value **out);
int default_virtiofsd_thread_pool_size(const struct merge_ctx *ctx, struct value **out);

/* The guest's networking.hostName: as defined, else the VM's name. */
const char *guest_host_name(const struct merge_ctx *ctx, const struct value *guest_root);
