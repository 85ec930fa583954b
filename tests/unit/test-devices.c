#include "test-helpers.h"

#include "config/devices.h"

static void full_addresses_only(void **state)
{
        (void)state;
        assert_true(pci_address_valid("0000:01:00.0"));
        assert_true(pci_address_valid("ffff:ff:1f.7"));
        assert_true(pci_address_valid("0000:0A:1F.3")); /* either case */
        static const char *const bad[] = {
                "",
                "01:00.0",
                "0000:01:00",
                "0000:01:00.*",
                "0000:01:*.0",
                "0000:01:20.0",
                "0000:01:00.8",
                "000:01:00.0",
                "0000-01-00.0",
                "0000:01:00.0 ",
                "0000:01:00.0\n",
                "0000:g1:00.0",
                "00000:1:00.0",
                "../../../x.0",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(pci_address_valid(bad[i]));
}

static void normalised_to_lower_case(void **state)
{
        (void)state;
        char out[PCI_ADDRESS_LEN + 1];
        pci_address_normalise("0000:0A:1F.3", out);
        assert_string_equal(out, "0000:0a:1f.3");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(full_addresses_only),
                cmocka_unit_test(normalised_to_lower_case),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
