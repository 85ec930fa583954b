/* Doing the same to many VMs at once: autostart, apply, stop --all. */
#pragma once

#include <stddef.h>

#include "config/value.h"

struct mv_error;

/* What is done to one VM; prints its own result line on success. */
typedef int (*vm_action)(const struct value *host, const char *name, struct mv_error **err);

/*
 * Run `action` for each of `names`, each in a child process of its own,
 * at most `jobs` at a time. Each VM's output is printed whole when its
 * action ends (so lines never interleave): on stdout when it succeeded,
 * on stderr with the error when it failed. Returns how many failed.
 */
size_t run_parallel(const struct value *host, char *const *names, int jobs, vm_action action);

/* Start a VM under its monitor and wait until it is ready; prints "NAME: started". */
int start_vm_action(const struct value *host, const char *name, struct mv_error **err);

/* The default for `jobs` when starting: one start per CPU. */
int start_parallel_default_jobs(void);
