/*
 * Configuration values inside hypervisors' "key=value,..." option
 * strings. qemu reads ",," as a literal comma, so its values are escaped
 * on the way out; the other hypervisors have no escape, so a value that
 * would split or regroup their options is refused instead. A value that
 * cannot be passed at all is a configuration error at its position,
 * naming the option.
 */
#pragma once

#include <stddef.h>

struct hv_vm;
struct mv_error;
struct strbuf;

enum optval_rule {
        OPTVAL_QEMU,          /* a qemu value: no control characters; ',' is doubled */
        OPTVAL_QEMU_IMPLIED,  /* one written without its key (-name NAME): no '=' either */
        OPTVAL_QEMU_KEY,      /* a qemu option name: no ',' or '=' */
        OPTVAL_QEMU_ID,       /* a qemu id: a letter, then letters, digits, '-', '.', '_' */
        OPTVAL_PLAIN,         /* no escape: no ',', nor '"', '[', ']', which group options */
        OPTVAL_PLAIN_IMPLIED, /* the same, written without its key: no '=' either */
        OPTVAL_PLAIN_COLON,   /* the same, in a ':'-separated field: no ':' either */
};

struct optval_check {
        /* Below the guest; `*` is each list item or attribute value, `<name>` each attribute name. */
        const char *path;
        enum optval_rule rule;
        /*
         * NULL, or only where the value is used: "key" (a boolean that is
         * true) or "key=value", looked up in the innermost list item, or in
         * the guest when the path has no `*`.
         */
        const char *when;
};

/* Check every value `checks` names in `vm`'s guest, for hypervisor `hv`. */
int optval_check(const struct hv_vm *vm, const char *hv, const struct optval_check *checks,
                 size_t n, struct mv_error **err);

/* Append `s` as one qemu option value: every ',' doubled. */
void optval_put_qemu(struct strbuf *b, const char *s);

/* `s` as one qemu option value, malloc'd; NULL for NULL. */
char *optval_qemu(const char *s);
