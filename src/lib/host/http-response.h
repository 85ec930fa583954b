/*
 * The answer half of HTTP/1.1, as cloud-hypervisor's and firecracker's API
 * sockets send it. What arrives is untrusted bytes: the parser never reads
 * past `len` and gives up with a reason on anything it cannot make sense of.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Headers (status line included) longer than this are refused. */
#define HTTP_MAX_HEAD 16384
/* Bodies longer than this are refused: the APIs answer with small JSON. */
#define HTTP_MAX_BODY (1024 * 1024)

enum http_parse_result {
        HTTP_MALFORMED = -1, /* `error` says why */
        HTTP_INCOMPLETE = 0, /* read more, then parse again from the start */
        HTTP_COMPLETE = 1,
};

struct http_response {
        int status;         /* 100..599; interim 1xx answers are skipped */
        size_t body_offset; /* where the body starts in the buffer */
        size_t body_length;
        const char *error; /* static text, set with HTTP_MALFORMED */
};

/*
 * Parse the `len` bytes received so far. `at_eof`: the peer has closed, so
 * a body without Content-Length ends here (the request asked for
 * "Connection: close").
 */
enum http_parse_result http_response_parse(const char *buf, size_t len, bool at_eof,
                                           struct http_response *out);
