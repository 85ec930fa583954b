#include "config/source.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static struct source *source_new(struct source_set *set, const char *path, const char *dir,
                                 char *text, size_t len)
{
        struct source *s = xcalloc(1, sizeof(*s));
        _cleanup_free_ char *copy = xstrdup(path);

        s->path = xstrdup(path);
        s->dir = xstrdup(dir ? dir : dirname(copy));
        s->text = text;
        s->len = len;
        s->next = set->head;
        set->head = s;
        return s;
}

const char *source_display_name(const char *path)
{
        return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

static const char *file_kind(mode_t mode)
{
        if (S_ISDIR(mode))
                return "a directory";
        if (S_ISCHR(mode))
                return "a character device";
        if (S_ISBLK(mode))
                return "a block device";
        if (S_ISFIFO(mode))
                return "a pipe";
        if (S_ISSOCK(mode))
                return "a socket";
        return "not a regular file";
}

static int too_large(const char *name, struct mv_error **err)
{
        mv_error_config(err, "%s: larger than %zu MiB, the most a configuration file may be", name,
                        SOURCE_MAX_BYTES >> 20);
        return mv_error_hint(err, "name the configuration file itself, not a log, an image or a "
                                  "device");
}

/*
 * Read `fd` to its end, refusing more than SOURCE_MAX_BYTES. A pipe opened
 * with O_NONBLOCK is waited for with poll(): it may be slower than us.
 */
static int read_capped(int fd, const char *name, size_t size_hint, char **text, size_t *len,
                       struct mv_error **err)
{
        size_t cap = size_hint < 4096 ? 4096 : size_hint + 2, n = 0;
        _cleanup_free_ char *buf = xmalloc(cap);
        for (;;) {
                if (n + 1 >= cap) {
                        cap = cap > SOURCE_MAX_BYTES / 2 ? SOURCE_MAX_BYTES + 2 : cap * 2;
                        buf = xrealloc(buf, cap);
                }
                ssize_t got = read(fd, buf + n, cap - n - 1);
                if (got < 0 && errno == EAGAIN) {
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        if (poll(&p, 1, -1) < 0 && errno != EINTR)
                                return mv_error_set(err, errno, "%s", name);
                        continue;
                }
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        return mv_error_set(err, errno, "%s", name);
                if (got == 0)
                        break;
                n += (size_t)got;
                if (n > SOURCE_MAX_BYTES)
                        return too_large(name, err);
        }
        buf[n] = '\0';
        *len = n;
        *text = TAKE_PTR(buf);
        return 0;
}

/* Regular files always; a pipe or socket only with SOURCE_ALLOW_STREAM. */
static int check_kind(const struct stat *st, const char *name, unsigned flags,
                      struct mv_error **err)
{
        if (S_ISREG(st->st_mode)) {
                if ((uint64_t)st->st_size > SOURCE_MAX_BYTES)
                        return too_large(name, err);
                return 0;
        }
        bool stream = S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode);
        if (stream && (flags & SOURCE_ALLOW_STREAM))
                return 0;
        mv_error_config(err, "%s: is %s, not a regular file", name, file_kind(st->st_mode));
        if (stream)
                return mv_error_hint(err, "only the main configuration may be read from a pipe; "
                                          "import regular files");
        if (flags & SOURCE_ALLOW_STREAM)
                return mv_error_hint(err, "name a regular file, or pipe the configuration in with "
                                          "--config -");
        return mv_error_hint(err, "a configuration file must be a regular file (Nix, or JSON "
                                  "named *.json)");
}

int source_load(struct source_set *set, const char *path, unsigned flags, struct source **out,
                struct mv_error **err)
{
        bool is_stdin = (flags & SOURCE_ALLOW_STREAM) && strcmp(path, "-") == 0;
        const char *name = is_stdin ? source_display_name(path) : path;
        /* O_NONBLOCK: opening a FIFO with no writer must not wait; O_NOCTTY: nor adopt a tty. */
        _cleanup_close_ int owned =
                is_stdin ? -1 : open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        int fd = is_stdin ? STDIN_FILENO : owned;
        if (fd < 0)
                return mv_error_set(err, errno, "%s", name);

        struct stat st;
        if (fstat(fd, &st) < 0)
                return mv_error_set(err, errno, "%s", name);
        int r = check_kind(&st, name, flags, err);
        if (r < 0)
                return r;

        char *text = NULL;
        size_t len = 0;
        r = read_capped(fd, name, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, &text, &len, err);
        if (r < 0)
                return r;
        if (strlen(text) != len) {
                free(text);
                return mv_error_config(err, "%s: contains a NUL byte; not a text file", name);
        }
        /* Standard input and pipes have no directory of their own: use the current one. */
        bool unnamed = is_stdin || strcmp(path, "/dev/stdin") == 0 || !S_ISREG(st.st_mode);
        *out = source_new(set, name, unnamed ? "." : NULL, text, len);
        (*out)->unnamed = unnamed;
        return 0;
}

struct source *source_add_text(struct source_set *set, const char *name, const char *text)
{
        return source_new(set, name, NULL, xstrdup(text), strlen(text));
}

void source_set_free(struct source_set *set)
{
        if (!set)
                return;
        struct source *s = set->head;
        while (s) {
                struct source *next = s->next;
                free(s->path);
                free(s->dir);
                free(s->text);
                free(s);
                s = next;
        }
        set->head = NULL;
}

char *srcpos_format(struct srcpos pos)
{
        if (!pos.src)
                return xstrdup("(built-in)");
        return xasprintf("%s:%d:%d", pos.src->path, pos.line, pos.col);
}

/* The text of line `line` (1-based) of `src`, without its newline. */
static char *source_line(const struct source *src, int line)
{
        const char *p = src->text;
        for (int l = 1; l < line && p; l++) {
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        if (!p)
                return xstrdup("");
        return xstrndup(p, strcspn(p, "\n"));
}

/* Lines up to this long are shown whole; longer ones as a window around the column. */
#define EXCERPT_WHOLE   160
#define EXCERPT_CONTEXT 60

static bool utf8_continuation(char c)
{
        return ((unsigned char)c & 0xc0) == 0x80;
}

/*
 * The excerpt of `line` shown for byte column `col` (0-based), and under
 * it the caret line. A long line (a generated one-line configuration) is
 * cut to EXCERPT_CONTEXT bytes each side at character boundaries, the
 * cuts marked "...". The caret lines up under tabs too: the pad copies them.
 */
static void excerpt(const char *line, size_t col, struct strbuf *text, struct strbuf *caret)
{
        size_t len = strlen(line), start = 0, end = len;
        if (len > EXCERPT_WHOLE) {
                start = col > EXCERPT_CONTEXT ? col - EXCERPT_CONTEXT : 0;
                end = col + EXCERPT_CONTEXT < len ? col + EXCERPT_CONTEXT : len;
                while (start > 0 && start < len && utf8_continuation(line[start]))
                        start++;
                while (end < len && utf8_continuation(line[end]))
                        end++;
        }
        if (start > 0) {
                strbuf_puts(text, "...");
                strbuf_puts(caret, "   ");
        }
        strbuf_putn(text, line + start, end - start);
        if (end < len)
                strbuf_puts(text, "...");
        for (size_t i = start; i < col; i++)
                strbuf_putc(caret, i < len && line[i] == '\t' ? '\t' : ' ');
        strbuf_putc(caret, '^');
}

int srcpos_error(struct mv_error **err, struct srcpos pos, const char *fmt, ...)
{
        va_list ap;
        _cleanup_free_ char *msg = NULL;
        _cleanup_free_ char *where = srcpos_format(pos);

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                msg = xstrdup("(out of memory)");

        if (!pos.src)
                return mv_error_config(err, "%s: %s", where, msg);

        _cleanup_free_ char *line = source_line(pos.src, pos.line);
        struct strbuf text = { 0 }, caret = { 0 };
        excerpt(line, pos.col > 0 ? (size_t)pos.col - 1 : 0, &text, &caret);
        int r = mv_error_config(err, "%s: %s\n  %s\n  %s", where, msg, text.data, caret.data);
        strbuf_free(&text);
        strbuf_free(&caret);
        return r;
}
