/*
 * The systemd units of a host configuration, as microvm.nix's host module
 * declares them: microvms.target (wanted by multi-user.target) wanting
 * microvm@NAME.service for the autostart set, and per declared VM an
 * install-microvm-NAME.service (wanted by microvms.target, as
 * microvm.nix's) and a drop-in with its start timeout, restartIfChanged,
 * and its helper units (taps, macvtaps, PCI devices, virtiofsd) required
 * unless host.nix switches them off. The templates are shipped
 * (the .service.in files in systemd/); what is generated only refers to them. Names are VM names, checked when
 * the configuration was read, and escaped with systemd's rules anyway.
 */
#pragma once

struct mv_error;
struct value;

struct unit_paths {
        const char *unit_dir; /* where microvm@.service is installed */
        const char *config;   /* the host configuration read, for MICROVM_CONFIG */
        const char *bindir;   /* where microvm is installed, for install-microvm-NAME */
};

/* Write the units of evaluated configuration `root` into `out_dir` (which exists). */
int units_generate(const struct value *root, const struct unit_paths *p, const char *out_dir,
                   struct mv_error **err);

/* `s` as a unit name part, systemd-escape style: [A-Za-z0-9:_.] kept, the rest \xNN. */
char *unit_name_escape(const char *s);
