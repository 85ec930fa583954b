#include "test-helpers.h"

#include "util/cleanup.h"
#include "util/log.h"

/* Log into a memory stream and return what was written. */
static char *capture(void (*emit)(void))
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        log_set_stream(f);
        emit();
        log_set_stream(NULL);
        fclose(f);
        return buf;
}

static void emit_warning(void)
{
        log_warning("tap %s already exists", "vm-web");
}

static void emit_all_levels(void)
{
        log_error("e");
        log_warning("w");
        log_notice("n");
        log_info("i");
        log_debug("d");
}

static void warning_format(void **state)
{
        (void)state;
        log_set_level(LOG_LEVEL_NOTICE);
        _cleanup_free_ char *out = capture(emit_warning);
        /* A memory stream is no terminal: no colour codes. */
        assert_string_equal(out, "microvm: warning: tap vm-web already exists\n");
}

static void collect(void *ctx, const char *line, size_t len)
{
        strncat(ctx, line, len);
}

static void tee_gets_each_line_without_colour(void **state)
{
        (void)state;
        char seen[256] = "";
        log_set_level(LOG_LEVEL_NOTICE);
        log_set_tee(collect, seen);
        _cleanup_free_ char *out = capture(emit_all_levels);
        log_set_tee(NULL, NULL);
        assert_string_equal(seen, "microvm: error: e\nmicrovm: warning: w\nmicrovm: n\n");
        assert_string_equal(out, seen); /* the stream got the same lines */
        /* Filtered messages reach neither. */
        seen[0] = '\0';
        log_set_level(LOG_LEVEL_ERROR);
        log_set_tee(collect, seen);
        log_warning("quiet");
        log_set_tee(NULL, NULL);
        log_set_level(LOG_LEVEL_NOTICE);
        assert_string_equal(seen, "");
}

static void level_filters(void **state)
{
        (void)state;
        log_set_level(LOG_LEVEL_NOTICE);
        _cleanup_free_ char *a = capture(emit_all_levels);
        assert_string_equal(a, "microvm: error: e\nmicrovm: warning: w\nmicrovm: n\n");

        log_set_level(LOG_LEVEL_ERROR);
        _cleanup_free_ char *b = capture(emit_all_levels);
        assert_string_equal(b, "microvm: error: e\n");

        log_set_level(LOG_LEVEL_DEBUG);
        _cleanup_free_ char *c = capture(emit_all_levels);
        assert_non_null(strstr(c, "microvm: debug: d\n"));
        log_set_level(LOG_LEVEL_NOTICE);
}

static void level_names_round_trip(void **state)
{
        (void)state;
        for (int l = LOG_LEVEL_ERROR; l <= LOG_LEVEL_DEBUG; l++)
                assert_int_equal(log_level_from_string(log_level_to_string((enum log_level)l)), l);
        assert_int_equal(log_level_from_string("WARNING"), LOG_LEVEL_WARNING);
        assert_int_equal(log_level_from_string("loud"), -1);
        assert_null(log_level_to_string((enum log_level)42));
}

static void color_decision(void **state)
{
        (void)state;
        FILE *f = tmpfile();
        assert_non_null(f);
        unsetenv("NO_COLOR");
        assert_false(log_use_color(f)); /* not a terminal */
        fclose(f);

        /* A pseudo-terminal gets colour unless NO_COLOR or TERM=dumb says no. */
        FILE *tty = fopen("/dev/ptmx", "r+");
        if (!tty)
                skip();
        int fd = fileno(tty);
        grantpt(fd);
        unlockpt(fd);
        FILE *pts = fopen(ptsname(fd), "w");
        assert_non_null(pts);
        setenv("TERM", "xterm", 1);
        assert_true(log_use_color(pts));
        setenv("NO_COLOR", "1", 1);
        assert_false(log_use_color(pts));
        unsetenv("NO_COLOR");
        setenv("TERM", "dumb", 1);
        assert_false(log_use_color(pts));
        fclose(pts);
        fclose(tty);
        assert_string_equal(ansi_color(false, ANSI_RED), "");
        assert_string_equal(ansi_color(true, ANSI_RED), ANSI_RED);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(warning_format),
                cmocka_unit_test(level_filters),
                cmocka_unit_test(tee_gets_each_line_without_colour),
                cmocka_unit_test(level_names_round_trip),
                cmocka_unit_test(color_decision),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
