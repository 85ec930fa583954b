/*
 * The host settings a VM's start depends on, read once from the host
 * configuration: all the monitor needs of it. A monitor is a fresh
 * process (it execs `microvm monitor`), handed these as JSON on a
 * descriptor, so it neither reads the configuration again (which may have
 * changed since, or grown broken) nor keeps a copy of every other VM.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/value.h"

struct mv_error;

struct host_settings {
        char *state_dir;         /* microvm.stateDir */
        char *tap_script;        /* microvm.host.tapScript */
        char **helpers_off;      /* systemd.services switched off (vm/helper-units.h) */
        bool use_notify_sockets; /* microvm.host.useNotifySockets */
        int startup_timeout_s;   /* microvm.host.startupTimeout: bounds the whole start */
        int restart_delay_s;     /* microvm.host.restartDelay */
        int stop_timeout_s;      /* graceful shutdown, then SIGTERM (microvm.nix: 150) */
        char *virtiofsd_json;    /* microvm.virtiofsd, for runners built by microvm.nix */
        bool systemd_units;      /* VMs are systemd units (docs/systemd.md); never a monitor's */
};

#define SOCKET_TIMEOUT_S     10 /* a helper's socket to appear */
#define MAX_RESTART_DELAY_S  300
#define DEFAULT_STOP_TIMEOUT 150

void host_settings_from_config(const struct value *host, struct host_settings *s);

char *host_settings_to_json(const struct host_settings *s);
int host_settings_from_json(const char *json, struct host_settings *s, struct mv_error **err);

/* The parts of VM `name`'s start that host.nix switches off (HELPER_BIT()s). */
unsigned host_helpers_disabled(const struct host_settings *s, const char *name);

void host_settings_done(struct host_settings *s);
