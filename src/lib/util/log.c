#include "util/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"

static enum log_level max_level = LOG_LEVEL_NOTICE;
static FILE *log_stream;
static int stream_color = -1; /* -1: not decided yet */
static void (*tee_fn)(void *ctx, const char *line, size_t len);
static void *tee_ctx;

void log_set_tee(void (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
        tee_fn = fn;
        tee_ctx = ctx;
}

static const char *const level_names[] = {
        [LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_NOTICE] = "notice",
        [LOG_LEVEL_INFO] = "info",   [LOG_LEVEL_DEBUG] = "debug",
};

static const char *const level_colors[] = {
        [LOG_LEVEL_ERROR] = ANSI_BOLD_RED,
        [LOG_LEVEL_WARNING] = ANSI_BOLD_YELLOW,
        [LOG_LEVEL_NOTICE] = "",
        [LOG_LEVEL_INFO] = "",
        [LOG_LEVEL_DEBUG] = "",
};

void log_set_level(enum log_level level)
{
        max_level = level;
}

enum log_level log_get_level(void)
{
        return max_level;
}

const char *log_level_to_string(enum log_level level)
{
        if ((unsigned)level >= ELEMENTSOF(level_names))
                return NULL;
        return level_names[level];
}

int log_level_from_string(const char *s)
{
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcasecmp(s, level_names[i]) == 0)
                        return (int)i;
        return -1;
}

void log_set_stream(FILE *f)
{
        log_stream = f;
        stream_color = -1;
}

bool log_use_color(FILE *f)
{
        const char *no_color = getenv("NO_COLOR");
        if (no_color && *no_color)
                return false;
        const char *term = getenv("TERM");
        if (term && strcmp(term, "dumb") == 0)
                return false;
        return isatty(fileno(f)) == 1;
}

const char *ansi_color(bool color, const char *sequence)
{
        return color ? sequence : "";
}

void log_emit(enum log_level level, const char *fmt, ...)
{
        if (level > max_level)
                return;

        FILE *f = log_stream ? log_stream : stderr;
        if (stream_color < 0)
                stream_color = log_use_color(f);

        bool color = stream_color && *level_colors[level];
        va_list ap;

        if (tee_fn) {
                char line[1024];
                int head = snprintf(line, sizeof(line), "microvm: %s%s",
                                    level != LOG_LEVEL_NOTICE ? level_names[level] : "",
                                    level != LOG_LEVEL_NOTICE ? ": " : "");
                va_start(ap, fmt);
                int body = vsnprintf(line + head, sizeof(line) - (size_t)head - 1, fmt, ap);
                va_end(ap);
                size_t len = (size_t)head + (body < 0 ? 0 : (size_t)body);
                if (len > sizeof(line) - 2)
                        len = sizeof(line) - 2; /* cut, but still a line */
                line[len++] = '\n';
                tee_fn(tee_ctx, line, len);
        }

        /* Notices are plain sentences; everything else says what it is. */
        fputs("microvm: ", f);
        if (level != LOG_LEVEL_NOTICE)
                fprintf(f, "%s%s:%s ", ansi_color(color, level_colors[level]), level_names[level],
                        ansi_color(color, ANSI_RESET));
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fputc('\n', f);
        fflush(f);
}

void log_warning_error(struct mv_error **err)
{
        log_warning("%s", (*err)->msg);
        mv_error_free(err);
}
