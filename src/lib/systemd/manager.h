/*
 * Whether VMs are systemd units here, and telling systemd what to do with
 * them: systemctl, always with an argv, never a shell.
 */
#pragma once

#include <stdbool.h>

struct mv_error;

/*
 * systemd is PID 1 (sd_booted(): /run/systemd/system is a directory) and
 * microvm@.service is installed where systemd looks for it.
 */
bool systemd_units_available(void);

/*
 * The first helper template (microvm-tap-interfaces@.service, ...) missing
 * from the directory microvm@.service is installed in, or NULL. malloc'd.
 */
char *systemd_missing_helper_template(void);

/* The unit of VM `name`: "microvm@NAME.service", escaped. malloc'd. */
char *systemd_vm_unit(const char *name);

/*
 * Run `systemctl ARGS...` (NULL-terminated) to completion. A failure is an
 * error with what systemctl said, and for a VM's unit (`unit`, or NULL) a
 * hint to read its journal.
 */
int systemd_ctl(const char *const *args, const char *unit, struct mv_error **err);
