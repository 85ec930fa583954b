/* doctor's findings, and how they are shown: text for people, JSON for programs. */
#include <stdlib.h>
#include <string.h>

#include "config/json-write.h"
#include "host/doctor.h"
#include "util/log.h"
#include "util/xalloc.h"

static const char *const status_names[] = {
        [DOCTOR_OK] = "ok",
        [DOCTOR_INFO] = "info",
        [DOCTOR_WARNING] = "warning",
        [DOCTOR_ERROR] = "error",
};

const char *doctor_status_to_string(enum doctor_status s)
{
        return status_names[s];
}

void doctor_add(struct doctor_report *r, const char *check, enum doctor_status status, char *detail,
                char *hint)
{
        r->items = xreallocarray(r->items, r->n + 1, sizeof(*r->items));
        r->items[r->n++] = (struct doctor_finding){
                .check = xstrdup(check), .status = status, .detail = detail, .hint = hint
        };
}

size_t doctor_count(const struct doctor_report *r, enum doctor_status status)
{
        size_t n = 0;
        for (size_t i = 0; i < r->n; i++)
                n += r->items[i].status == status;
        return n;
}

void doctor_write_text(struct strbuf *out, const struct doctor_report *r, bool color)
{
        static const char *const colors[] = {
                [DOCTOR_OK] = ANSI_GREEN,
                [DOCTOR_INFO] = ANSI_BOLD_CYAN,
                [DOCTOR_WARNING] = ANSI_BOLD_YELLOW,
                [DOCTOR_ERROR] = ANSI_BOLD_RED,
        };
        for (size_t i = 0; i < r->n; i++) {
                const struct doctor_finding *f = &r->items[i];
                const char *name = status_names[f->status];
                strbuf_printf(out, "%s%s%s%*s %s: %s\n", ansi_color(color, colors[f->status]), name,
                              ansi_color(color, ANSI_RESET), (int)(8 - strlen(name)), "", f->check,
                              f->detail);
                if (f->hint)
                        strbuf_printf(out, "%9shint: %s\n", "", f->hint);
        }
        size_t warnings = doctor_count(r, DOCTOR_WARNING), errors = doctor_count(r, DOCTOR_ERROR);
        strbuf_printf(out, "%zu checks: %zu ok, %zu info, %zu warning%s, %zu error%s\n", r->n,
                      doctor_count(r, DOCTOR_OK), doctor_count(r, DOCTOR_INFO), warnings,
                      warnings == 1 ? "" : "s", errors, errors == 1 ? "" : "s");
}

static void put_string(struct strbuf *out, const char *key, const char *s)
{
        strbuf_printf(out, "\"%s\": ", key);
        if (s)
                json_write_string(out, s, strlen(s));
        else
                strbuf_puts(out, "null");
}

void doctor_write_json(struct strbuf *out, const struct doctor_report *r)
{
        strbuf_putc(out, '[');
        for (size_t i = 0; i < r->n; i++) {
                const struct doctor_finding *f = &r->items[i];
                strbuf_puts(out, i ? ",\n  {" : "\n  {");
                put_string(out, "check", f->check);
                strbuf_puts(out, ", ");
                put_string(out, "status", status_names[f->status]);
                strbuf_puts(out, ", ");
                put_string(out, "detail", f->detail);
                strbuf_puts(out, ", ");
                put_string(out, "hint", f->hint);
                strbuf_putc(out, '}');
        }
        strbuf_puts(out, r->n ? "\n]\n" : "]\n");
}

void doctor_report_free(struct doctor_report *r)
{
        for (size_t i = 0; i < r->n; i++) {
                free(r->items[i].check);
                free(r->items[i].detail);
                free(r->items[i].hint);
        }
        free(r->items);
        *r = (struct doctor_report){ 0 };
}
