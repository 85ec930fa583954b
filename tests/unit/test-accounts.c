/* Users and groups looked up in a child process, so NSS modules stay out of this one. */
#include "test-helpers.h"

#include "util/accounts.h"

static bool nss_module_mapped(void)
{
        FILE *f = fopen("/proc/self/maps", "re");
        char line[4096];
        bool found = false;
        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, "/libnss_"))
                        found = true;
        if (f)
                fclose(f);
        return found;
}

static void finds_root_both_ways(void **state)
{
        (void)state;
        struct account a;
        assert_true(account_user_by_name("root", &a));
        assert_int_equal(a.id, 0);
        assert_int_equal(a.gid, 0);
        assert_string_equal(a.name, "root");
        assert_true(account_user_by_id(0, &a));
        assert_string_equal(a.name, "root");
        assert_true(account_group_by_name("root", &a));
        assert_int_equal(a.id, 0);
        assert_true(account_group_by_id(0, &a));
        assert_string_equal(a.name, "root");
}

static void absent_ones_are_absent(void **state)
{
        (void)state;
        struct account a;
        assert_false(account_user_by_name("no-such-user-microvm-test", &a));
        assert_false(account_group_by_name("no-such-group-microvm-test", &a));
        assert_false(account_user_by_id(4000000000U, &a));
        /* And stay so: the cache keeps misses too. */
        assert_false(account_user_by_name("no-such-user-microvm-test", &a));
}

static void answers_are_cached(void **state)
{
        (void)state;
        struct account a, b;
        assert_true(account_user_by_name("root", &a));
        assert_true(account_user_by_name("root", &b));
        assert_ptr_equal(a.name, b.name);
}

/*
 * The point of it all. Where nsswitch.conf names a module (Debian's
 * "passwd: files systemd" loads libnss_systemd.so.2), a lookup in this
 * process would have mapped it; "files" is built into glibc and maps
 * nothing either way.
 */
static void no_nss_module_in_this_process(void **state)
{
        (void)state;
        struct account a;
        account_user_by_name("root", &a);
        account_group_by_name("no-such-group-microvm-test", &a);
        assert_false(nss_module_mapped());
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(finds_root_both_ways),
                cmocka_unit_test(absent_ones_are_absent),
                cmocka_unit_test(answers_are_cached),
                cmocka_unit_test(no_nss_module_in_this_process),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
