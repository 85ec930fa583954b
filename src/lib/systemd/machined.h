/*
 * systemd-machined registration of a VM (microvm.registerWithMachined), as
 * microvm.nix's bin/microvm-register does it: RegisterMachine with the
 * machine's name, its UUID (microvm.machineId), service "microvm", class
 * "vm", the leader process and "/" as root directory, over busctl (an argv,
 * never a shell). machined drops the machine when its unit ends.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct mv_error;

/* machined can be asked: systemd is PID 1, the system bus is there, busctl is installed. */
bool machined_available(void);

/* Register machine `name` with UUID `uuid` (8-4-4-4-12 hex) and leader `leader`. */
int machined_register(const char *name, const char *uuid, pid_t leader, struct mv_error **err);
