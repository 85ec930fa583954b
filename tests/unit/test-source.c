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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(error_shows_line_and_caret),
                cmocka_unit_test(position_less_values),
                cmocka_unit_test(load_reads_files_and_rejects_binary),
                cmocka_unit_test(only_regular_files),
                cmocka_unit_test(files_over_the_cap),
                cmocka_unit_test(main_configuration_from_a_pipe),
                cmocka_unit_test(pipe_over_the_cap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
