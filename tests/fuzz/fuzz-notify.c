/*
 * libFuzzer harness for the readiness message parser: what a guest sends
 * over vsock is untrusted. Any bytes must parse without a crash or leak,
 * and READY=1 on a line of its own must always be seen.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        bool ready = false;
        char *status = NULL;
        notify_parse((const char *)data, size, &ready, &status);
        bool want = false;
        for (size_t i = 0; i + 7 <= size; i++)
                if ((i == 0 || data[i - 1] == '\n') && memcmp(data + i, "READY=1", 7) == 0 &&
                    (i + 7 == size || data[i + 7] == '\n'))
                        want = true;
        if (ready != want)
                abort();
        free(status);
        return 0;
}
