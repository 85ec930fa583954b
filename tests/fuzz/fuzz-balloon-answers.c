/*
 * libFuzzer harness for what a hypervisor says about its balloon: qemu's
 * query-balloon answer line and crosvm's balloon_stats output, untrusted
 * text. Any bytes must parse without crashing, and a size read from them
 * is never negative.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/balloon.h"
#include "host/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        int64_t actual = -1;
        int r = qmp_parse_balloon_actual(text, &actual);
        if ((r == 0 && actual < 0) || (r != 0 && r != -EBADMSG))
                abort();
        actual = -1;
        r = crosvm_parse_balloon_actual(text, &actual);
        if ((r == 0 && actual < 0) || (r != 0 && r != -EBADMSG))
                abort();
        free(text);
        return 0;
}
