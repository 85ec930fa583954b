#include "util/fault.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
        bool loaded;
        char scope[32];
        long at;    /* the point to die at; 0: none */
        long seen;  /* points of `scope` reached so far */
        bool trace; /* name every point on stderr */
} fault;

static void fault_load(void)
{
        fault.loaded = true;
        fault.at = 0;
        fault.seen = 0;
        fault.scope[0] = '\0';
        const char *trace = getenv("MICROVM_TEST_KILL_TRACE");
        fault.trace = trace && strcmp(trace, "1") == 0;
        const char *spec = getenv("MICROVM_TEST_KILL_AT");
        const char *colon = spec ? strchr(spec, ':') : NULL;
        if (!colon || (size_t)(colon - spec) >= sizeof(fault.scope))
                return;
        char *end;
        long n = strtol(colon + 1, &end, 10);
        if (*end || n <= 0)
                return;
        memcpy(fault.scope, spec, (size_t)(colon - spec));
        fault.scope[colon - spec] = '\0';
        fault.at = n;
}

void fault_reset(void)
{
        fault.loaded = false;
}

void fault_point(const char *scope, const char *what)
{
        if (!fault.loaded)
                fault_load();
        if (!fault.at && !fault.trace)
                return;
        if (fault.scope[0] && strcmp(scope, fault.scope) != 0)
                return;
        fault.seen++;
        if (fault.trace)
                fprintf(stderr, "microvm: kill point %s:%ld: %s\n", scope, fault.seen, what);
        if (fault.at && fault.seen == fault.at)
                raise(SIGKILL);
}
