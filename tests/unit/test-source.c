#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "config/source.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static void error_shows_line_and_caret(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct source *src = source_add_text(&set, "/etc/microvm/host.nix", "{\n\tab = 1;\n}\n");
        struct mv_error *err = NULL;
        struct srcpos pos = { .src = src, .line = 2, .col = 2 };
        assert_int_equal(srcpos_error(&err, pos, "bad %s", "thing"), -EINVAL);
        assert_string_equal(err->msg, "/etc/microvm/host.nix:2:2: bad thing\n  \tab = 1;\n  \t^");
        assert_int_equal(err->kind, MV_ERROR_CONFIG);
        mv_error_free(&err);
        source_set_free(&set);
}

static void position_less_values(void **state)
{
        (void)state;
        struct mv_error *err = NULL;
        srcpos_error(&err, (struct srcpos){ 0 }, "x");
        assert_string_equal(err->msg, "(built-in): x");
        mv_error_free(&err);
}

static void load_reads_files_and_rejects_binary(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        _cleanup_free_ char *ok = xasprintf("%s/ok.nix", dir);
        _cleanup_free_ char *bin = xasprintf("%s/bin.nix", dir);
        FILE *f = fopen(ok, "w");
        fputs("{ }", f);
        fclose(f);
        f = fopen(bin, "w");
        fwrite("{\0}", 1, 3, f);
        fclose(f);

        struct source_set set = { 0 };
        struct source *src = NULL;
        struct mv_error *err = NULL;
        assert_int_equal(source_load(&set, ok, 0, &src, &err), 0);
        assert_string_equal(src->text, "{ }");
        assert_string_equal(src->dir, dir);
        assert_true(source_load(&set, bin, 0, &src, &err) < 0);
        assert_non_null(strstr(err->msg, "NUL byte"));
        mv_error_free(&err);
        assert_true(source_load(&set, "/nonexistent/x.nix", 0, &src, &err) < 0);
        mv_error_free(&err);
        source_set_free(&set);
        scratch_dir_remove(dir);
}

/* Devices, directories and FIFOs are refused before a byte is read: /dev/zero never ends. */
static void only_regular_files(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        _cleanup_free_ char *fifo = xasprintf("%s/fifo", dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        const char *paths[] = { "/dev/zero", "/dev/urandom", dir, fifo };
        const char *kinds[] = { "is a character device", "is a character device", "is a directory",
                                "is a pipe" };
        struct source_set set = { 0 };
        struct source *src = NULL;
        for (size_t i = 0; i < 4; i++) {
                struct mv_error *err = NULL;
                /* A FIFO with no writer must not block the open: this would hang. */
                assert_int_equal(source_load(&set, paths[i], 0, &src, &err), -EINVAL);
                _cleanup_free_ char *want =
                        xasprintf("%s: %s, not a regular file", paths[i], kinds[i]);
                assert_string_equal(err->msg, want);
                assert_int_equal(err->kind, MV_ERROR_CONFIG);
                assert_non_null(err->hint);
                mv_error_free(&err);
        }
        /* As the main configuration, a FIFO with no writer is read: it is empty. */
        struct mv_error *err = NULL;
        assert_int_equal(source_load(&set, fifo, SOURCE_ALLOW_STREAM, &src, &err), 0);
        assert_string_equal(src->text, "");
        assert_true(src->unnamed);
        /* A device is refused as the main configuration too. */
        assert_int_equal(source_load(&set, "/dev/zero", SOURCE_ALLOW_STREAM, &src, &err), -EINVAL);
        mv_error_free(&err);
        source_set_free(&set);
        scratch_dir_remove(dir);
}

static void files_over_the_cap(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        _cleanup_free_ char *big = xasprintf("%s/big.nix", dir);
        /* Sparse: the size alone refuses it, nothing is read. */
        int fd = open(big, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)SOURCE_MAX_BYTES + 1), 0);
        close(fd);
        struct source_set set = { 0 };
        struct source *src = NULL;
        struct mv_error *err = NULL;
        assert_int_equal(source_load(&set, big, 0, &src, &err), -EINVAL);
        _cleanup_free_ char *want =
                xasprintf("%s: larger than 64 MiB, the most a configuration file may be", big);
        assert_string_equal(err->msg, want);
        mv_error_free(&err);
        source_set_free(&set);
        scratch_dir_remove(dir);
}

/* Standard input becomes a pipe that a child fills with `text`, `times` times. */
static int stdin_from_writer(const char *text, size_t times, pid_t *writer)
{
        int saved = dup(STDIN_FILENO), p[2];
        assert_true(saved >= 0);
        assert_int_equal(pipe(p), 0);
        *writer = fork();
        assert_true(*writer >= 0);
        if (*writer == 0) {
                close(p[0]);
                for (size_t i = 0; i < times; i++)
                        for (size_t done = 0, n = strlen(text); done < n;) {
                                ssize_t w = write(p[1], text + done, n - done);
                                if (w <= 0)
                                        _exit(1);
                                done += (size_t)w;
                        }
                _exit(0);
        }
        close(p[1]);
        assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
        close(p[0]);
        return saved;
}

static void stdin_restore(int saved, pid_t writer)
{
        dup2(saved, STDIN_FILENO);
        close(saved);
        kill(writer, SIGKILL);
        waitpid(writer, NULL, 0);
}

static void main_configuration_from_a_pipe(void **state)
{
        (void)state;
        const char *names[] = { "-", "/dev/stdin" };
        const char *shown[] = { "<stdin>", "/dev/stdin" };
        for (size_t i = 0; i < 2; i++) {
                pid_t writer;
                int saved = stdin_from_writer("{ a = 1; }\n", 3, &writer);
                struct source_set set = { 0 };
                struct source *src = NULL;
                struct mv_error *err = NULL;
                assert_int_equal(source_load(&set, names[i], SOURCE_ALLOW_STREAM, &src, &err), 0);
                assert_string_equal(src->text, "{ a = 1; }\n{ a = 1; }\n{ a = 1; }\n");
                assert_string_equal(src->path, shown[i]);
                assert_string_equal(src->dir, ".");
                assert_true(src->unnamed);
                source_set_free(&set);
                stdin_restore(saved, writer);
        }
        /* Without the flag a pipe is refused, like an import of one. */
        pid_t writer;
        int saved = stdin_from_writer("{ }", 1, &writer);
        struct source_set set = { 0 };
        struct source *src = NULL;
        struct mv_error *err = NULL;
        assert_int_equal(source_load(&set, "/dev/stdin", 0, &src, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "is a pipe, not a regular file"));
        mv_error_free(&err);
        stdin_restore(saved, writer);
}

static void pipe_over_the_cap(void **state)
{
        (void)state;
        _cleanup_free_ char *chunk = xmalloc(65536 + 1);
        memset(chunk, ' ', 65536);
        chunk[65536] = '\0';
        pid_t writer;
        int saved = stdin_from_writer(chunk, (SOURCE_MAX_BYTES >> 16) + 1, &writer);
        struct source_set set = { 0 };
        struct source *src = NULL;
        struct mv_error *err = NULL;
        assert_int_equal(source_load(&set, "-", SOURCE_ALLOW_STREAM, &src, &err), -EINVAL);
        assert_string_equal(err->msg,
                            "<stdin>: larger than 64 MiB, the most a configuration file may be");
        mv_error_free(&err);
        stdin_restore(saved, writer);
}

/* The error message for a one-line source `line` at byte `at` (0-based). */
static char *error_at(const char *line, size_t at)
{
        struct source_set set = { 0 };
        struct source *src = source_add_text(&set, "big.nix", line);
        struct mv_error *err = NULL;
        srcpos_error(&err, (struct srcpos){ .src = src, .line = 1, .col = (int)at + 1 }, "bad");
        char *msg = xstrdup(err->msg);
        mv_error_free(&err);
        source_set_free(&set);
        return msg;
}

/* `len` bytes of 'a', with `mark` written at byte `at`. */
static char *line_of(size_t len, const char *mark, size_t at)
{
        char *s = xmalloc(len + 1);
        memset(s, 'a', len);
        s[len] = '\0';
        memcpy(s + at, mark, strlen(mark));
        return s;
}

static char *repeat(char c, size_t n)
{
        char *s = xmalloc(n + 1);
        memset(s, c, n);
        s[n] = '\0';
        return s;
}

/* A 900 KB one-line configuration shows 60 bytes each side of the column, not the line. */
static void long_lines_are_clipped_around_the_column(void **state)
{
        (void)state;
        _cleanup_free_ char *huge = line_of(900000, "X", 450000);
        _cleanup_free_ char *msg = error_at(huge, 450000);
        _cleanup_free_ char *a60 = repeat('a', 60), *a59 = repeat('a', 59);
        _cleanup_free_ char *pad = repeat(' ', 63);
        _cleanup_free_ char *want =
                xasprintf("big.nix:1:450001: bad\n  ...%sX%s...\n  %s^", a60, a59, pad);
        assert_string_equal(msg, want);

        /* Near the start: no leading cut, the caret where it always was. */
        _cleanup_free_ char *early = line_of(1000, "X", 5);
        _cleanup_free_ char *start = error_at(early, 5);
        _cleanup_free_ char *want_start =
                xasprintf("big.nix:1:6: bad\n  aaaaaX%s...\n       ^", a59);
        assert_string_equal(start, want_start);

        /* Near the end: no trailing cut. */
        _cleanup_free_ char *late = line_of(1000, "X", 999);
        _cleanup_free_ char *end = error_at(late, 999);
        _cleanup_free_ char *want_end = xasprintf("big.nix:1:1000: bad\n  ...%sX\n  %s^", a60, pad);
        assert_string_equal(end, want_end);

        /* Lines up to 160 bytes are shown whole. */
        _cleanup_free_ char *short_line = line_of(160, "X", 150);
        _cleanup_free_ char *whole = error_at(short_line, 150);
        assert_null(strstr(whole, "..."));

        /* Tabs before the column are copied into the caret line. */
        _cleanup_free_ char *tabs = line_of(1000, "\t\tX", 500);
        _cleanup_free_ char *tabbed = error_at(tabs, 502);
        _cleanup_free_ char *a58 = repeat('a', 58), *pad58 = repeat(' ', 61);
        _cleanup_free_ char *want_tabs =
                xasprintf("big.nix:1:503: bad\n  ...%s\t\tX%s...\n  %s\t\t^", a58, a59, pad58);
        assert_string_equal(tabbed, want_tabs);
}

/* A cut never splits a UTF-8 character: the window moves to character boundaries. */
static void clipping_keeps_characters_whole(void **state)
{
        (void)state;
        /* The window of the column at 200 is [140, 260); "é" sits on bytes 139-140 and 259-260. */
        _cleanup_free_ char *line = line_of(400, "\xc3\xa9", 139);
        memcpy(line + 200, "X", 1);
        memcpy(line + 259, "\xc3\xa9", 2);
        _cleanup_free_ char *msg = error_at(line, 200);
        /* It starts after the first "é" and ends after the second. */
        _cleanup_free_ char *a59 = repeat('a', 59), *a58 = repeat('a', 58);
        _cleanup_free_ char *pad = repeat(' ', 62);
        _cleanup_free_ char *want =
                xasprintf("big.nix:1:201: bad\n  ...%sX%s\xc3\xa9...\n  %s^", a59, a58, pad);
        assert_string_equal(msg, want);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(error_shows_line_and_caret),
                cmocka_unit_test(position_less_values),
                cmocka_unit_test(long_lines_are_clipped_around_the_column),
                cmocka_unit_test(clipping_keeps_characters_whole),
                cmocka_unit_test(load_reads_files_and_rejects_binary),
                cmocka_unit_test(only_regular_files),
                cmocka_unit_test(files_over_the_cap),
                cmocka_unit_test(main_configuration_from_a_pipe),
                cmocka_unit_test(pipe_over_the_cap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
