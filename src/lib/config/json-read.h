/*
 * JSON configuration files (host.json): the same tree as host.nix, for
 * hosts that hand over `nix eval --json` output. Values keep positions so
 * errors point into the JSON file.
 */
#pragma once

#include "config/source.h"
#include "config/value.h"

struct mv_error;

int json_parse(const struct source *src, struct value **out, struct mv_error **err);
