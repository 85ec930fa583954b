#include "host/snippet.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define SNIPPET_OUTPUT_MAX (64 * 1024)

static int read_stdout(int fd, const char *option, char **output, struct mv_error **err)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return mv_error_set(err, errno, "%s: its output", option);
        if (st.st_size > SNIPPET_OUTPUT_MAX)
                return mv_error_fail(err, "%s printed %lld bytes; arguments are at most %d bytes",
                                     option, (long long)st.st_size, SNIPPET_OUTPUT_MAX);
        char *buf = xmalloc((size_t)st.st_size + 1);
        ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
        if (n < 0) {
                free(buf);
                return mv_error_set(err, errno, "%s: its output", option);
        }
        buf[n] = '\0';
        if (strlen(buf) != (size_t)n) {
                free(buf);
                return mv_error_fail(err, "%s printed a NUL byte, which no argument can hold",
                                     option);
        }
        *output = buf;
        return 0;
}

int snippet_run(const struct snippet *s, struct child_waiter *w, char **output,
                struct mv_error **err)
{
        _cleanup_free_ char *bash = NULL;
        int r = find_program("bash", &bash, err);
        if (r < 0) {
                mv_error_wrap(err, "%s runs with bash", s->option);
                return mv_error_hint(err, "install it: apt-get install bash");
        }
        /* $0 names the option in the shell's own messages. */
        char *argv[] = {
                bash,         (char *)"-e",    (char *)"-u",      (char *)"-o", (char *)"pipefail",
                (char *)"-c", (char *)s->text, (char *)s->option, NULL
        };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.stdin_fd = SPAWN_FD_NULL;
        o.cwd_fd = s->cwd_fd;
        o.credentials = s->credentials;
        _cleanup_close_ int out = -1;
        if (output) {
                out = memfd_create("snippet-output", MFD_CLOEXEC);
                if (out < 0)
                        return mv_error_set(err, errno, "memfd_create");
                o.stdout_fd = out;
        }
        int status;
        r = spawn_run(&o, w, -1, &status, NULL, err);
        if (r < 0)
                return mv_error_wrap(err, "%s", s->option);
        if (status != 0)
                return mv_error_fail(err, "%s exited with status %d", s->option, status);
        return output ? read_stdout(out, s->option, output, err) : 0;
}

void snippet_split_words(const char *output, char ***argv)
{
        static const char ifs[] = " \t\n";
        for (const char *p = output + strspn(output, ifs); *p; p += strspn(p, ifs)) {
                size_t n = strcspn(p, ifs);
                strv_consume(argv, xstrndup(p, n));
                p += n;
        }
}
