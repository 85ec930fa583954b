#include "config/schema-guest-defaults.h"

#include <string.h>
#include <sys/utsname.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/xalloc.h"

static const struct srcpos computed = { 0 };

static struct value *string_value(const char *s)
{
        return value_new_string(VALUE_STRING, s, strlen(s), computed);
}

const char *guest_host_name(const struct merge_ctx *ctx, const struct value *guest_root)
{
        const struct value *v = value_lookup(guest_root, "networking.hostName");
        if (v && v->type == VALUE_STRING)
                return v->str;
        return ctx->name ? ctx->name : "nixos";
}

int default_host_name(const struct merge_ctx *ctx, struct value **out)
{
        *out = string_value(ctx->name ? ctx->name : "nixos");
        return 0;
}

/* "${hostName}.sock", relative to the VM's state directory. */
int default_socket(const struct merge_ctx *ctx, struct value **out)
{
        _cleanup_free_ char *s = xasprintf("%s.sock", guest_host_name(ctx, merge_ctx_root(ctx, 0)));
        *out = string_value(s);
        return 0;
}

/* A virtiofs share's socket is "${hostName}-virtiofs-${tag}.sock"; 9p needs none. */
int default_share_socket(const struct merge_ctx *ctx, struct value **out)
{
        const struct value *share = merge_ctx_root(ctx, 0);
        const struct value *proto = value_lookup(share, "proto");
        const struct value *tag = value_lookup(share, "tag");

        if (!proto || !tag || strcmp(proto->str, "virtiofs") != 0) {
                *out = value_new(VALUE_NULL, computed);
                return 0;
        }
        _cleanup_free_ char *s = xasprintf("%s-virtiofs-%s.sock",
                                           guest_host_name(ctx, merge_ctx_root(ctx, 1)), tag->str);
        *out = string_value(s);
        return 0;
}

/* The first 32 hex digits of sha256("microvm.nix:${hostName}"), grouped 8-4-4-4-12. */
int default_machine_id(const struct merge_ctx *ctx, struct value **out)
{
        _cleanup_free_ char *seed =
                xasprintf("microvm.nix:%s", guest_host_name(ctx, merge_ctx_root(ctx, 0)));
        char hex[65];
        sha256_hex(seed, strlen(seed), hex);
        _cleanup_free_ char *id =
                xasprintf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
        *out = string_value(id);
        return 0;
}

/* qemu's machine model by host architecture, as microvm.nix sets it with mkDefault. */
int default_qemu_machine(const struct merge_ctx *ctx, struct value **out)
{
        (void)ctx;
        static int aarch64 = -1; /* the host does not change during one evaluation */
        if (aarch64 < 0) {
                struct utsname u;
                aarch64 = uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0;
        }
        *out = string_value(aarch64 ? "virt" : "microvm");
        return 0;
}

int default_graphics_socket(const struct merge_ctx *ctx, struct value **out)
{
        _cleanup_free_ char *s =
                xasprintf("%s-gpu.sock", guest_host_name(ctx, merge_ctx_root(ctx, 0)));
        *out = string_value(s);
        return 0;
}

/* The store is on a disk image unless a share brings the host's /nix/store. */
static bool shares_nix_store(const struct merge_ctx *ctx)
{
        const struct value *shares = value_lookup(merge_ctx_root(ctx, 0), "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++) {
                const struct value *src = value_lookup(shares->items[i], "source");
                if (src && src->type == VALUE_STRING && strcmp(src->str, "/nix/store") == 0)
                        return true;
        }
        return false;
}

int default_store_on_disk(const struct merge_ctx *ctx, struct value **out)
{
        *out = value_new_bool(!shares_nix_store(ctx), computed);
        return 0;
}

int default_system_symlink(const struct merge_ctx *ctx, struct value **out)
{
        const struct value *on_disk = value_lookup(merge_ctx_root(ctx, 0), "microvm.storeOnDisk");
        bool store_on_disk = on_disk ? on_disk->boolean : !shares_nix_store(ctx);
        *out = value_new_bool(!store_on_disk, computed);
        return 0;
}

int default_register_closure(const struct merge_ctx *ctx, struct value **out)
{
        const struct value *guest = value_lookup(merge_ctx_root(ctx, 0), "microvm.guest.enable");
        *out = value_new_bool(guest ? guest->boolean : true, computed);
        return 0;
}

int default_hotplugged_mem(const struct merge_ctx *ctx, struct value **out)
{
        const struct value *mem = value_lookup(merge_ctx_root(ctx, 0), "microvm.hotplugMem");
        *out = value_new_int(mem && mem->type == VALUE_INT ? mem->integer : 0, computed);
        return 0;
}

/*
 * microvm.nix's "prefer" (since d0f791f). Computed rather than declared so
 * that it is told apart from a written value: host-config.c lets the seed's
 * host-wide setting replace it.
 */
int default_virtiofsd_inode_file_handles(const struct merge_ctx *ctx, struct value **out)
{
        (void)ctx;
        *out = string_value("prefer");
        return 0;
}

/* microvm.nix's "`nproc`"; computed for the same reason. */
int default_virtiofsd_thread_pool_size(const struct merge_ctx *ctx, struct value **out)
{
        (void)ctx;
        *out = string_value("`nproc`");
        return 0;
}
