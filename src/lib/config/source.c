#include "config/source.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static struct source *source_new(struct source_set *set, const char *path, char *text, size_t len)
{
        struct source *s = xcalloc(1, sizeof(*s));
        _cleanup_free_ char *copy = xstrdup(path);

        s->path = xstrdup(path);
        s->dir = xstrdup(dirname(copy));
        s->text = text;
        s->len = len;
        s->next = set->head;
        set->head = s;
        return s;
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

/* Read `fd` to its end, refusing more than SOURCE_MAX_BYTES (a file may grow as we read). */
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

static int check_kind(const struct stat *st, const char *name, struct mv_error **err)
{
        if (S_ISREG(st->st_mode)) {
                if ((uint64_t)st->st_size > SOURCE_MAX_BYTES)
                        return too_large(name, err);
                return 0;
        }
        mv_error_config(err, "%s: is %s, not a regular file", name, file_kind(st->st_mode));
        return mv_error_hint(err, "a configuration file must be a regular file (Nix, or JSON "
                                  "named *.json)");
}

int source_load(struct source_set *set, const char *path, struct source **out,
                struct mv_error **err)
{
        /* O_NONBLOCK: opening a FIFO with no writer must not wait; O_NOCTTY: nor adopt a tty. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return mv_error_set(err, errno, "%s", path);

        struct stat st;
        if (fstat(fd, &st) < 0)
                return mv_error_set(err, errno, "%s", path);
        int r = check_kind(&st, path, err);
        if (r < 0)
                return r;

        char *text = NULL;
        size_t len = 0;
        r = read_capped(fd, path, (size_t)st.st_size, &text, &len, err);
        if (r < 0)
                return r;
        if (strlen(text) != len) {
                free(text);
                return mv_error_config(err, "%s: contains a NUL byte; not a text file", path);
        }
        *out = source_new(set, path, text, len);
        return 0;
}

struct source *source_add_text(struct source_set *set, const char *name, const char *text)
{
        return source_new(set, name, xstrdup(text), strlen(text));
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

        _cleanup_free_ char *text = source_line(pos.src, pos.line);
        /* The caret lines up under tabs too when the indent copies them. */
        size_t col = pos.col > 0 ? (size_t)pos.col - 1 : 0;
        _cleanup_free_ char *pad = xmalloc(col + 1);
        for (size_t i = 0; i < col; i++)
                pad[i] = i < strlen(text) && text[i] == '\t' ? '\t' : ' ';
        pad[col] = '\0';
        return mv_error_config(err, "%s: %s\n  %s\n  %s^", where, msg, text, pad);
}
