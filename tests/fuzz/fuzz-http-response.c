/*
 * libFuzzer harness for the HTTP answer parser: what arrives on a
 * hypervisor's API socket is untrusted. Any bytes must parse without
 * reading past them; at end of input the answer is never "incomplete"; a
 * complete answer's body lies inside the input; and a prefix of a
 * complete answer is never complete with a different status.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "host/http-response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *)data;
        struct http_response r;
        enum http_parse_result whole = http_response_parse(buf, size, false, &r);
        if (whole == HTTP_COMPLETE &&
            (r.status < 200 || r.status > 599 || r.body_offset + r.body_length > size))
                abort();
        if (whole == HTTP_MALFORMED && !r.error)
                abort();
        struct http_response e;
        if (http_response_parse(buf, size, true, &e) == HTTP_INCOMPLETE)
                abort();
        if (whole == HTTP_COMPLETE && size > 0) {
                struct http_response p;
                if (http_response_parse(buf, size - 1, false, &p) == HTTP_COMPLETE &&
                    p.status != r.status)
                        abort();
        }
        return 0;
}
