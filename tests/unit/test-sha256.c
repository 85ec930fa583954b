#include "test-helpers.h"

#include "util/sha256.h"

static void known_vectors(void **state)
{
        (void)state;
        char hex[65];
        sha256_hex("", 0, hex);
        assert_string_equal(hex,
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        sha256_hex("abc", 3, hex);
        assert_string_equal(hex,
                            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        sha256_hex(two, strlen(two), hex);
        assert_string_equal(hex,
                            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void million_a_in_pieces(void **state)
{
        (void)state;
        struct sha256 s;
        uint8_t d[32];
        char chunk[1001];
        memset(chunk, 'a', sizeof(chunk));
        sha256_init(&s);
        for (int i = 0; i < 1000; i++)
                sha256_update(&s, chunk, i % 2 ? 999 : 1001); /* odd splits cross blocks */
        sha256_final(&s, d);
        static const uint8_t want[32] = { 0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92,
                                          0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
                                          0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e,
                                          0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0 };
        assert_memory_equal(d, want, 32);
}

/* microvm.nix's default machineId for hostName "$HOSTNAME", as its documentation shows it. */
static void machine_id_seed(void **state)
{
        (void)state;
        char hex[65];
        const char *seed = "microvm.nix:$HOSTNAME";
        sha256_hex(seed, strlen(seed), hex);
        assert_memory_equal(hex, "ccbf04d553534282", 16);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(known_vectors),
                cmocka_unit_test(million_a_in_pieces),
                cmocka_unit_test(machine_id_seed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
