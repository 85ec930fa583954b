/* Time for timeouts and deadlines: the monotonic clock, never the wall clock. */
#pragma once

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t monotonic_ms(void);
