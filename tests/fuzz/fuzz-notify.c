/*
 * libFuzzer harness for the readiness messages: what a guest sends over
 * vsock is untrusted. Any bytes must parse and filter without a crash or
 * leak; READY=1 on a line of its own must always be seen; and what the
 * filter lets through to the host's service manager holds only READY=1,
 * STATUS= with printable UTF-8 of at most NOTIFY_STATUS_MAX bytes, and
 * ERRNO= with a plain int, each once, within NOTIFY_RELAY_MAX bytes.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Whether `s` is well-formed UTF-8 with no C0 or C1 control character
 * and no DEL. Written apart from the filter's decoder, to check it.
 */
static bool printable_utf8(const unsigned char *s, size_t n)
{
        for (size_t i = 0; i < n;) {
                unsigned char b = s[i];
                size_t len = b < 0x80                 ? 1
                             : b >= 0xc2 && b <= 0xdf ? 2
                             : b >= 0xe0 && b <= 0xef ? 3
                             : b >= 0xf0 && b <= 0xf4 ? 4
                                                      : 0;
                if (len == 0 || i + len > n)
                        return false;
                uint32_t cp = len == 1 ? b : b & (0xff >> (len + 1));
                for (size_t k = 1; k < len; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i + k] & 0x3f);
                }
                static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
                if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0x20 ||
                    cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
                        return false;
                i += len;
        }
        return true;
}

/* "0", or digits without a leading zero, that fit an int. */
static bool plain_int(const char *s, size_t n)
{
        if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
                return false;
        long long v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        return v <= INT_MAX;
}

/* Every line of the filtered message is one of the three, each at most once. */
static void check_filtered(const char *out, size_t n, bool want_ready)
{
        bool seen_ready = false, seen_status = false, seen_errno = false;
        if (n > NOTIFY_RELAY_MAX || strlen(out) != n)
                abort();
        for (const char *line = out, *end = out + n; n && line <= end;) {
                const char *nl = memchr(line, '\n', (size_t)(end - line));
                size_t len = (size_t)((nl ? nl : end) - line);
                if (len == 7 && memcmp(line, "READY=1", 7) == 0 && !seen_ready)
                        seen_ready = true;
                else if (len >= 7 && memcmp(line, "STATUS=", 7) == 0 && !seen_status &&
                         len - 7 <= NOTIFY_STATUS_MAX &&
                         printable_utf8((const unsigned char *)line + 7, len - 7))
                        seen_status = true;
                else if (len >= 6 && memcmp(line, "ERRNO=", 6) == 0 && !seen_errno &&
                         plain_int(line + 6, len - 6))
                        seen_errno = true;
                else
                        abort();
                if (!nl)
                        break;
                line = nl + 1;
        }
        if (seen_ready != want_ready)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *msg = (const char *)data;
        bool ready = false;
        char *status = NULL;
        notify_parse(msg, size, &ready, &status);
        bool want = false;
        for (size_t i = 0; i + 7 <= size; i++)
                if ((i == 0 || data[i - 1] == '\n') && memcmp(data + i, "READY=1", 7) == 0 &&
                    (i + 7 == size || data[i + 7] == '\n'))
                        want = true;
        if (ready != want)
                abort();
        free(status);

        char out[NOTIFY_RELAY_MAX + 1];
        size_t n = notify_filter(msg, size, out, sizeof(out));
        check_filtered(out, n, want);
        /* A buffer that cannot hold the longest message gets nothing rather than a part. */
        if (notify_filter(msg, size, out, NOTIFY_RELAY_MAX) != 0 || out[0] != '\0')
                abort();
        return 0;
}
