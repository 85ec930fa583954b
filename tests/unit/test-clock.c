#include "test-helpers.h"

#include "util/clock.h"

static void moves_forward_with_sleep(void **state)
{
        (void)state;
        int64_t a = monotonic_ms();
        usleep(20 * 1000);
        int64_t b = monotonic_ms();
        /* At least the sleep: the clock never goes back and does not stand still. */
        assert_true(b - a >= 20);
        assert_true(a > 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(moves_forward_with_sleep),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
