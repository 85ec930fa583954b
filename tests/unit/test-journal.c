#include "test-helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "systemd/journal.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static void fields_are_read_by_name(void **state)
{
        (void)state;
        size_t len = 99;
        const char *v = journal_field_value("MESSAGE=GUEST-UP", 16, "MESSAGE", &len);
        assert_non_null(v);
        assert_int_equal(len, 8);
        assert_memory_equal(v, "GUEST-UP", 8);
        /* Data is not NUL-terminated: only `len` bytes count. */
        v = journal_field_value("MESSAGE=abcdef", 10, "MESSAGE", &len);
        assert_int_equal(len, 2);
        assert_memory_equal(v, "ab", 2);
        /* An empty message is still one. */
        v = journal_field_value("MESSAGE=", 8, "MESSAGE", &len);
        assert_non_null(v);
        assert_int_equal(len, 0);
        assert_null(journal_field_value("MESSAGE_ID=1", 12, "MESSAGE", &len));
        assert_null(journal_field_value("MESSAGE", 7, "MESSAGE", &len));
        assert_null(journal_field_value("PRIORITY=6", 10, "MESSAGE", &len));
}

/*
 * This host's real journal, through the libsystemd.so.0 it has: a unit
 * that never ran has no entries, which is not an error.
 */
static void a_unit_that_never_ran_has_no_entries(void **state)
{
        (void)state;
        _cleanup_free_ char *unit = xasprintf("microvm@never-ran-%d.service", (int)getpid());
        struct unit_journal *j = NULL;
        struct mv_error *err = NULL;
        int r = unit_journal_open(unit, true, &j, &err);
#if HAVE_LIBSYSTEMD
        assert_int_equal(r, 0);
        assert_int_equal(unit_journal_seek(j, -1, &err), 0);
        assert_int_equal(unit_journal_seek(j, 5, &err), 0);
        assert_int_equal(unit_journal_seek(j, 0, &err), 0);
        assert_int_equal(unit_journal_print(j, STDOUT_FILENO, &err), 0);
        assert_null(err);
        unit_journal_close(j);
#else
        assert_int_equal(r, -EOPNOTSUPP);
        assert_non_null(strstr(err->msg, "built without libsystemd"));
        mv_error_free(&err);
#endif
}

/* Where libsystemd.so.0 cannot be loaded, opening says so, as logs' fallback expects. */
static void no_libsystemd_stand_in_is_not_supported(void **state)
{
        (void)state;
        setenv("MICROVM_TEST_NO_LIBSYSTEMD", "1", 1);
        struct unit_journal *j = NULL;
        struct mv_error *err = NULL;
        /* Before any successful load: the library stays unloaded in this process. */
        assert_int_equal(unit_journal_open("microvm@x.service", false, &j, &err), -EOPNOTSUPP);
        assert_null(j);
        assert_non_null(strstr(err->msg, "cannot read the journal"));
        assert_non_null(err->hint);
        mv_error_free(&err);
        unsetenv("MICROVM_TEST_NO_LIBSYSTEMD");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(fields_are_read_by_name),
                cmocka_unit_test(no_libsystemd_stand_in_is_not_supported),
                cmocka_unit_test(a_unit_that_never_ran_has_no_entries),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
