/* SHA-256 (FIPS 180-4): content addresses for runners, and machine IDs as microvm.nix derives them. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sha256 {
        uint32_t h[8];
        uint64_t total;
        uint8_t block[64];
        size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t digest[32]);

/* Lowercase hex digest of `len` bytes into `hex` (65 bytes with the NUL). */
void sha256_hex(const void *data, size_t len, char hex[65]);
