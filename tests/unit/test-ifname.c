/* Interface ids and the kernel names derived from long ones. */
#include "test-helpers.h"

#include "config/ifname.h"

static void test_valid_names_and_ids(void **state)
{
        (void)state;
        assert_true(interface_name_valid("vm-web"));
        assert_true(interface_name_valid("123456789012345"));
        assert_false(interface_name_valid("1234567890123456"));
        assert_false(interface_name_valid("a:b"));
        assert_false(interface_name_valid("-x"));
        assert_false(interface_name_valid(""));

        char id[IFNAME_ID_MAX + 2];
        memset(id, 'a', sizeof(id) - 1);
        id[sizeof(id) - 1] = '\0';
        assert_false(interface_id_valid(id)); /* 128 bytes */
        id[IFNAME_ID_MAX] = '\0';
        assert_true(interface_id_valid(id));
        assert_true(interface_id_valid("vm-web-frontend-eth0"));
        assert_false(interface_id_valid(".vm-web-frontend-eth0"));
        assert_false(interface_id_valid("vm-web-frontend/eth0"));
        assert_false(interface_id_valid(""));
}

static void test_short_ids_are_their_own_kernel_names(void **state)
{
        (void)state;
        ifname_buf buf;
        const char *id = "123456789012345";
        assert_false(interface_id_is_altname(id));
        assert_ptr_equal(interface_kernel_name(id, buf), id);
}

/* The documented rule, with digests from sha256sum: these names must never change. */
static void test_long_ids_get_a_prefix_and_a_hash(void **state)
{
        (void)state;
        ifname_buf buf;
        assert_true(interface_id_is_altname("1234567890123456"));
        assert_string_equal(interface_kernel_name("vm-web-frontend-eth0", buf), "vm-web-f-b696e6");
        assert_string_equal(interface_kernel_name("1234567890123456", buf), "12345678-7a51d0");
        assert_true(interface_name_valid(buf));
}

/* Ids that share their first 8 bytes still get different names. */
static void test_the_hash_covers_the_whole_id(void **state)
{
        (void)state;
        ifname_buf a, b;
        interface_kernel_name("microvm-lab-0001-eth0", a);
        interface_kernel_name("microvm-lab-0001-eth1", b);
        assert_int_equal(strncmp(a, "microvm-", 8), 0);
        assert_string_not_equal(a, b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_names_and_ids),
                cmocka_unit_test(test_short_ids_are_their_own_kernel_names),
                cmocka_unit_test(test_long_ids_get_a_prefix_and_a_hash),
                cmocka_unit_test(test_the_hash_covers_the_whole_id),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
