/*
 * virtiofsd: one process per virtiofs share. microvm.nix runs the Rust
 * virtiofsd; Debian ships the C one from qemu 7.2, whose flags differ.
 * The installed one is detected and microvm.nix's flags translated; what
 * the C one cannot do is an error that says so.
 */
#pragma once

#include <stdbool.h>

#include "config/value.h"

struct mv_error;

enum virtiofsd_flavour {
        VIRTIOFSD_RUST, /* --shared-dir=DIR, --cache=..., --readonly */
        VIRTIOFSD_C,    /* -o source=DIR, -o cache=..., qemu 7.2 and older */
};

struct virtiofsd {
        char *path;
        enum virtiofsd_flavour flavour;
};

/*
 * Find virtiofsd: `configured` (microvm.virtiofsd.package) if set, else
 * virtiofsd in PATH, else qemu's /usr/lib/qemu/virtiofsd or
 * /usr/libexec/virtiofsd; then ask it which flavour it is.
 */
int virtiofsd_find(const char *configured, struct virtiofsd *out, struct mv_error **err);

/* Decide the flavour from a virtiofsd's --help text. */
enum virtiofsd_flavour virtiofsd_flavour_from_help(const char *help);

void virtiofsd_done(struct virtiofsd *v);

/* The settings that apply to one VM's shares: the guest's, else the host's. */
struct virtiofsd_settings {
        const char *group;              /* --socket-group, or NULL */
        const char *inode_file_handles; /* never|prefer|mandatory, or NULL */
        long long thread_pool_size;     /* resolved (`nproc` = CPU count) */
        char **extra_args;              /* host's then guest's, borrowed strings */
};

void virtiofsd_settings(const struct value *host_virtiofsd, const struct value *guest,
                        struct virtiofsd_settings *out);
void virtiofsd_settings_done(struct virtiofsd_settings *s);

/*
 * The argv for one share of VM `vm` (a value from microvm.shares), which
 * gets its listening socket as descriptor 3 (--fd=3), bound by microvm.
 * `with_tag` adds --tag (crosvm's vhost-user-fs needs it). `root` adds
 * --rlimit-nofile as microvm.nix does when it runs as root. A relative
 * source is taken relative to `workdir` (the VM's directory, where
 * virtiofsd runs), and passed absolute: the C virtiofsd cannot bind-mount a
 * relative one into its sandbox.
 */
int virtiofsd_argv(const struct virtiofsd *v, const struct virtiofsd_settings *s, const char *vm,
                   bool with_tag, const struct value *share, const char *workdir, bool root,
                   char ***argv, struct mv_error **err);
