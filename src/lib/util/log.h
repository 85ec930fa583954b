/*
 * Messages for people, on stderr. Colour only on a terminal, never when
 * NO_COLOR is set (https://no-color.org) or TERM is "dumb".
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

enum log_level {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_NOTICE,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* "error", "warning", ... and back; returns -1 for an unknown name. */
const char *log_level_to_string(enum log_level level);
int log_level_from_string(const char *s);

/* Write log lines to `f` (default stderr); colour is decided again for the new stream. */
void log_set_stream(FILE *f);

/*
 * Also hand each message, as one line without colour ("microvm: ...\n"),
 * to `fn`: a monitor shows its own messages on the attached consoles.
 * NULL stops it.
 */
void log_set_tee(void (*fn)(void *ctx, const char *line, size_t len), void *ctx);

/* Whether `f` should get colour: a terminal, NO_COLOR unset, TERM not "dumb". */
bool log_use_color(FILE *f);

void log_emit(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct mv_error;

/* A failure that does not stop what is going on: its message as a warning, then freed. */
void log_warning_error(struct mv_error **err);

#define log_error(...)   log_emit(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_emit(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...)  log_emit(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...)    log_emit(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)   log_emit(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* ANSI colour sequences, or "" when `color` is false. */
const char *ansi_color(bool color, const char *sequence);
#define ANSI_RED         "\033[0;31m"
#define ANSI_GREEN       "\033[0;32m"
#define ANSI_YELLOW      "\033[0;33m"
#define ANSI_BOLD_RED    "\033[1;31m"
#define ANSI_BOLD_YELLOW "\033[1;33m"
#define ANSI_BOLD_GREEN  "\033[1;32m"
#define ANSI_BOLD_CYAN   "\033[1;36m"
#define ANSI_RESET       "\033[0m"
