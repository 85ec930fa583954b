/*
 * Kill points for crash tests. A test sets MICROVM_TEST_KILL_AT=SCOPE:N
 * and the process SIGKILLs itself at the Nth kill point of SCOPE it
 * reaches ("apply", "monitor", ...): stepping N from 1 up kills a command
 * at each of its steps in turn, deterministically, where random delays
 * would only sample them. MICROVM_TEST_KILL_TRACE=1 names each point
 * reached on stderr. Without the variables a kill point costs a compare.
 */
#pragma once

/* Count a kill point of `scope`; `what` names the step for the trace. */
void fault_point(const char *scope, const char *what);

/* Forget the environment's settings (a test that changes them in-process). */
void fault_reset(void);
