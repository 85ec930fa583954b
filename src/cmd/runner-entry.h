/*
 * The entry points microvm.nix's runners have, in ours too:
 * STATE/.runners/<runner>/bin/microvm-run and bin/microvm-shutdown are
 * links to the microvm binary, which, called by such a name, runs or
 * stops the VM whose runner it is (`microvm run NAME`, `microvm stop NAME`).
 */
#pragma once

#include <stdbool.h>

struct cli_context;
struct mv_error;

/* Whether argv[0] names one of the entry points. */
bool runner_entry_called(const char *argv0);

/* Do what the entry point stands for; the exit status. */
int runner_entry_main(struct cli_context *ctx, int argc, char **argv);
