#include "test-helpers.h"

#include <stdalign.h>
#include <stdint.h>

#include "util/arena.h"

static void allocations_are_zeroed_and_aligned(void **state)
{
        (void)state;
        struct arena a = { 0 };
        for (size_t size = 1; size < 300; size += 7) {
                unsigned char *p = arena_alloc(&a, size);
                assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
                for (size_t i = 0; i < size; i++)
                        assert_int_equal(p[i], 0);
                memset(p, 0xab, size);
        }
        arena_free(&a);
        assert_null(a.chunks);
}

static void large_and_many_allocations(void **state)
{
        (void)state;
        struct arena a = { 0 };
        /* Larger than a chunk, and enough small ones to need several chunks. */
        char *big = arena_alloc(&a, 3 * 1024 * 1024);
        big[3 * 1024 * 1024 - 1] = 'x';
        char *prev = NULL;
        for (int i = 0; i < 100000; i++) {
                char *p = arena_alloc(&a, 24);
                p[0] = (char)i;
                assert_ptr_not_equal(p, prev);
                prev = p;
        }
        assert_true(a.total >= 3 * 1024 * 1024 + 100000 * 24);
        arena_free(&a);
}

static void grow_and_strndup_copy(void **state)
{
        (void)state;
        struct arena a = { 0 };
        char *s = arena_strndup(&a, "microvm-web", 7);
        assert_string_equal(s, "microvm");
        int *v = arena_alloc(&a, 4 * sizeof(int));
        for (int i = 0; i < 4; i++)
                v[i] = i;
        int *w = arena_grow(&a, v, 4 * sizeof(int), 16 * sizeof(int));
        for (int i = 0; i < 4; i++)
                assert_int_equal(w[i], i);
        assert_int_equal(w[15], 0);
        arena_free(&a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(allocations_are_zeroed_and_aligned),
                cmocka_unit_test(large_and_many_allocations),
                cmocka_unit_test(grow_and_strndup_copy),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
