#include "systemd/journal.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

const char *journal_field_value(const void *data, size_t len, const char *name, size_t *value_len)
{
        size_t n = strlen(name);
        if (len <= n || memcmp(data, name, n) != 0 || ((const char *)data)[n] != '=')
                return NULL;
        *value_len = len - n - 1;
        return (const char *)data + n + 1;
}

#if HAVE_LIBSYSTEMD

#include <dlfcn.h>
#include <systemd/sd-journal.h>

#include "util/clock.h"
#include "util/io.h"
#include "util/strbuf.h"

#define PRINT_CHUNK (64 * 1024)

/* The few sd-journal calls used, resolved once from libsystemd.so.0. */
static struct {
        typeof(sd_journal_open) *open;
        typeof(sd_journal_close) *close;
        typeof(sd_journal_add_match) *add_match;
        typeof(sd_journal_set_data_threshold) *set_data_threshold;
        typeof(sd_journal_seek_head) *seek_head;
        typeof(sd_journal_seek_tail) *seek_tail;
        typeof(sd_journal_next) *next;
        typeof(sd_journal_previous) *previous;
        typeof(sd_journal_previous_skip) *previous_skip;
        typeof(sd_journal_get_data) *get_data;
        typeof(sd_journal_get_fd) *get_fd;
        typeof(sd_journal_get_events) *get_events;
        typeof(sd_journal_get_timeout) *get_timeout;
        typeof(sd_journal_process) *process;
        typeof(sd_journal_has_runtime_files) *has_runtime_files;
        typeof(sd_journal_has_persistent_files) *has_persistent_files;
} sd;

static int libsystemd_load(struct mv_error **err)
{
        static bool loaded;
        if (loaded)
                return 0;
        const char *stand_in = getenv("MICROVM_TEST_NO_LIBSYSTEMD");
        bool pretend = stand_in && strcmp(stand_in, "1") == 0;
        void *lib = pretend ? NULL : dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
                mv_error_fail(err, "cannot read the journal: %s",
                              pretend ? "libsystemd.so.0: not loaded "
                                        "(MICROVM_TEST_NO_LIBSYSTEMD=1)"
                                      : dlerror());
                mv_error_hint(err, "install libsystemd0, or read the journal with journalctl");
                return -EOPNOTSUPP;
        }
        const struct {
                const char *name;
                void **slot;
        } syms[] = {
                { "sd_journal_open", (void **)&sd.open },
                { "sd_journal_close", (void **)&sd.close },
                { "sd_journal_add_match", (void **)&sd.add_match },
                { "sd_journal_set_data_threshold", (void **)&sd.set_data_threshold },
                { "sd_journal_seek_head", (void **)&sd.seek_head },
                { "sd_journal_seek_tail", (void **)&sd.seek_tail },
                { "sd_journal_next", (void **)&sd.next },
                { "sd_journal_previous", (void **)&sd.previous },
                { "sd_journal_previous_skip", (void **)&sd.previous_skip },
                { "sd_journal_get_data", (void **)&sd.get_data },
                { "sd_journal_get_fd", (void **)&sd.get_fd },
                { "sd_journal_get_events", (void **)&sd.get_events },
                { "sd_journal_get_timeout", (void **)&sd.get_timeout },
                { "sd_journal_process", (void **)&sd.process },
                { "sd_journal_has_runtime_files", (void **)&sd.has_runtime_files },
                { "sd_journal_has_persistent_files", (void **)&sd.has_persistent_files },
        };
        for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
                *syms[i].slot = dlsym(lib, syms[i].name);
                if (!*syms[i].slot) {
                        dlclose(lib);
                        mv_error_fail(err, "cannot read the journal: libsystemd.so.0 has no %s",
                                      syms[i].name);
                        mv_error_hint(err, "read it with journalctl");
                        return -EOPNOTSUPP;
                }
        }
        loaded = true; /* kept loaded: the process ends soon after */
        return 0;
}

struct unit_journal {
        sd_journal *sd;
        char *unit;
        bool at_entry; /* positioned on an entry not printed yet */
};

/* A failure of sd-journal, with the unit and what to do. */
static int journal_error(struct unit_journal *j, int r, const char *what, struct mv_error **err)
{
        mv_error_set(err, -r, "%s the journal of %s", what, j->unit);
        return mv_error_hint(err, "see 'journalctl -u %s'", j->unit);
}

int unit_journal_open(const char *unit, bool follow, struct unit_journal **out,
                      struct mv_error **err)
{
        int r = libsystemd_load(err);
        if (r < 0)
                return r;
        struct unit_journal *j = xcalloc(1, sizeof(*j));
        j->unit = xstrdup(unit);
        _cleanup_free_ char *match = xasprintf("_SYSTEMD_UNIT=%s", unit);
        r = sd.open(&j->sd, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0) {
                j->sd = NULL;
                r = journal_error(j, r, "open", err);
        }
        if (r >= 0 && (r = sd.add_match(j->sd, match, 0)) < 0)
                r = journal_error(j, r, "filter", err);
        /* Whole messages: a console line can be long. */
        if (r >= 0 && (r = sd.set_data_threshold(j->sd, 0)) < 0)
                r = journal_error(j, r, "read", err);
        if (r >= 0 && follow && (r = sd.get_fd(j->sd)) < 0)
                r = journal_error(j, r, "watch", err);
        if (r < 0) {
                unit_journal_close(j);
                return r;
        }
        *out = j;
        return 0;
}

int unit_journal_seek(struct unit_journal *j, long lines, struct mv_error **err)
{
        int r;
        j->at_entry = false;
        if (lines < 0) {
                r = sd.seek_head(j->sd);
                if (r >= 0)
                        r = sd.next(j->sd);
                j->at_entry = r > 0;
        } else {
                r = sd.seek_tail(j->sd);
                /* On the last entry (printing starts after it), or on the first of the last N. */
                if (r >= 0)
                        r = lines == 0 ? sd.previous(j->sd)
                                       : sd.previous_skip(j->sd, (uint64_t)lines);
                j->at_entry = r > 0 && lines > 0;
        }
        if (r < 0)
                return journal_error(j, r, "seek in", err);
        return r > 0;
}

static int flush(struct strbuf *b, int fd)
{
        int r = b->len ? write_all(fd, b->data, b->len) : 0;
        b->len = 0;
        return r;
}

int unit_journal_print(struct unit_journal *j, int fd, struct mv_error **err)
{
        struct strbuf b = { 0 };
        int printed = 0, r = 0, w = 0;
        while (w >= 0) {
                if (!j->at_entry) {
                        r = sd.next(j->sd);
                        if (r <= 0)
                                break;
                }
                j->at_entry = false;
                const void *data;
                size_t len, msg_len;
                r = sd.get_data(j->sd, "MESSAGE", &data, &len);
                /* An entry without a message, or a corrupted one: journalctl skips them too. */
                if (r == -ENOENT || r == -EBADMSG)
                        continue;
                if (r < 0)
                        break;
                const char *msg = journal_field_value(data, len, "MESSAGE", &msg_len);
                if (!msg)
                        continue;
                strbuf_putn(&b, msg, msg_len);
                strbuf_putc(&b, '\n');
                printed++;
                if (b.len >= PRINT_CHUNK)
                        w = flush(&b, fd);
        }
        /* What was read before a failure is shown before it. */
        if (w >= 0)
                w = flush(&b, fd);
        strbuf_free(&b);
        if (w < 0)
                return mv_error_set(err, -w, "write the journal of %s", j->unit);
        return r < 0 ? journal_error(j, r, "read", err) : printed;
}

/* sd_journal_get_timeout()'s deadline (CLOCK_MONOTONIC, µs) as a poll timeout. */
static int poll_timeout_ms(struct unit_journal *j)
{
        uint64_t until;
        if (sd.get_timeout(j->sd, &until) < 0 || until == UINT64_MAX)
                return -1;
        int64_t left = (int64_t)(until / 1000) - monotonic_ms();
        return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left + 1;
}

int unit_journal_wait(struct unit_journal *j, int stop_fd, struct mv_error **err)
{
        int fd = sd.get_fd(j->sd);
        int events = fd >= 0 ? sd.get_events(j->sd) : fd;
        if (events < 0)
                return journal_error(j, events, "watch", err);
        struct pollfd p[2] = { { .fd = fd, .events = (short)events },
                               { .fd = stop_fd, .events = POLLIN } };
        int n;
        while ((n = poll(p, 2, poll_timeout_ms(j))) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return mv_error_set(err, errno, "wait for the journal of %s", j->unit);
        if (p[1].revents)
                return 1;
        int r = sd.process(j->sd);
        return r < 0 ? journal_error(j, r, "follow", err) : 0;
}

bool unit_journal_has_files(struct unit_journal *j)
{
        return sd.has_runtime_files(j->sd) > 0 || sd.has_persistent_files(j->sd) > 0;
}

void unit_journal_close(struct unit_journal *j)
{
        if (!j)
                return;
        if (j->sd)
                sd.close(j->sd);
        free(j->unit);
        free(j);
}

#else /* !HAVE_LIBSYSTEMD */

int unit_journal_open(const char *unit, bool follow, struct unit_journal **out,
                      struct mv_error **err)
{
        (void)unit, (void)follow, (void)out;
        mv_error_fail(err, "cannot read the journal: this microvm was built without libsystemd");
        mv_error_hint(err, "read it with journalctl");
        return -EOPNOTSUPP;
}

int unit_journal_seek(struct unit_journal *j, long lines, struct mv_error **err)
{
        (void)j, (void)lines;
        return mv_error_set(err, EOPNOTSUPP, "read the journal");
}

int unit_journal_print(struct unit_journal *j, int fd, struct mv_error **err)
{
        (void)j, (void)fd;
        return mv_error_set(err, EOPNOTSUPP, "read the journal");
}

int unit_journal_wait(struct unit_journal *j, int stop_fd, struct mv_error **err)
{
        (void)j, (void)stop_fd;
        return mv_error_set(err, EOPNOTSUPP, "read the journal");
}

bool unit_journal_has_files(struct unit_journal *j)
{
        (void)j;
        return false;
}

void unit_journal_close(struct unit_journal *j)
{
        (void)j;
}

#endif
