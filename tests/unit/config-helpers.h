/* Shared by the configuration tests: parse text, evaluate against a schema. */
#pragma once

#include "test-helpers.h"

#include "config/merge.h"
#include "config/parser.h"
#include "config/source.h"
#include "util/error.h"

/* Parse `text` as Nix; on failure return NULL and leave the message in *err. */
static inline struct value *parse_text(struct source_set *set, const char *text,
                                       struct mv_error **err)
{
        struct source *src = source_add_text(set, "/test/host.nix", text);
        struct value *v = NULL;
        if (nix_parse(src, &v, err) < 0)
                return NULL;
        return v;
}

/* Parse text that must parse. */
static inline struct value *parse_ok(struct source_set *set, const char *text)
{
        struct mv_error *err = NULL;
        struct value *v = parse_text(set, text, &err);
        if (!v) {
                fail_msg("parse failed: %s", err->msg);
                abort(); /* not reached: tells the compiler v is set below */
        }
        return v;
}

/* The message of the error parsing `text` must contain `needle`. */
static inline void parse_fails_with(const char *text, const char *needle)
{
        struct source_set set = { 0 };
        struct mv_error *err = NULL;
        struct value *v = parse_text(&set, text, &err);
        if (v)
                fail_msg("parse of <%s> succeeded, expected an error with '%s'", text, needle);
        if (!strstr(err->msg, needle))
                fail_msg("error for <%s> was '%s', expected '%s'", text, err->msg, needle);
        assert_int_equal(mv_error_exit_status(err), 2);
        mv_error_free(&err);
        source_set_free(&set);
}
