#include "test-helpers.h"

#include "util/arena.h"
#include "util/strmap.h"
#include "util/xalloc.h"

static void put_get_and_duplicates(void **state)
{
        (void)state;
        struct strmap m = { 0 };
        size_t v = 99;
        assert_false(strmap_get(&m, "absent", &v));
        assert_true(strmap_put(&m, "vm-web", 1, &v));
        assert_int_equal(v, 1);
        /* A second put keeps the first value and reports it. */
        assert_false(strmap_put(&m, "vm-web", 2, &v));
        assert_int_equal(v, 1);
        assert_true(strmap_get(&m, "vm-web", &v));
        assert_int_equal(v, 1);
        assert_false(strmap_get(&m, "vm-we", NULL));
        strmap_free(&m);
}

static void grows_past_many_keys(void **state)
{
        (void)state;
        struct strmap m = { 0 };
        char **keys = xcalloc(20000, sizeof(char *));
        for (size_t i = 0; i < 20000; i++) {
                keys[i] = xasprintf("vm%zu", i);
                assert_true(strmap_put(&m, keys[i], i, NULL));
        }
        assert_int_equal(m.n, 20000);
        for (size_t i = 0; i < 20000; i++) {
                size_t v;
                assert_true(strmap_get(&m, keys[i], &v));
                assert_int_equal(v, i);
                assert_false(strmap_put(&m, keys[i], 0, NULL));
        }
        strmap_free(&m);
        for (size_t i = 0; i < 20000; i++)
                free(keys[i]);
        free(keys);
}

static void lives_in_an_arena(void **state)
{
        (void)state;
        struct arena a = { 0 };
        struct strmap m = { .arena = &a };
        char key[16];
        for (int i = 0; i < 1000; i++) {
                snprintf(key, sizeof(key), "k%d", i);
                strmap_put(&m, arena_strndup(&a, key, strlen(key)), (size_t)i, NULL);
        }
        assert_int_equal(m.n, 1000);
        size_t v;
        assert_true(strmap_get(&m, "k999", &v));
        assert_int_equal(v, 999);
        strmap_free(&m); /* slots belong to the arena */
        arena_free(&a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(put_get_and_duplicates),
                cmocka_unit_test(grows_past_many_keys),
                cmocka_unit_test(lives_in_an_arena),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
