#include "hypervisor/optval.h"

#include <stdbool.h>
#include <string.h>

#include "config/host-config.h"
#include "config/merge.h"
#include "hypervisor/hypervisor.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* What each rule refuses besides control characters. */
static const char *const forbidden[] = {
        [OPTVAL_QEMU] = "",
        [OPTVAL_QEMU_IMPLIED] = "=",
        [OPTVAL_QEMU_KEY] = ",=",
        [OPTVAL_QEMU_ID] = "",
        [OPTVAL_PLAIN] = ",\"[]",
        [OPTVAL_PLAIN_IMPLIED] = ",\"[]=",
        [OPTVAL_PLAIN_COLON] = ",\"[]:",
};

struct walk {
        const struct hv_vm *vm;
        const char *hv;
        const struct optval_check *check;
        struct mv_error **err;
};

/* qemu's id_wellformed(): what -device id=, -netdev id= and friends accept. */
static bool qemu_id_valid(const char *s)
{
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
                return false;
        for (s++; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || strchr("-._", *s)))
                        return false;
        return true;
}

/* A value holding `c`, which the option syntax of the hypervisor gives a meaning. */
static int refuse_char(const struct walk *w, const char *path, const char *s, char c,
                       struct srcpos pos)
{
        if (w->check->rule == OPTVAL_QEMU_KEY)
                srcpos_error(w->err, pos,
                             "%s = \"%s\" contains '%c', which a qemu option name cannot hold",
                             path, s, c);
        else if (c == '=')
                srcpos_error(w->err, pos,
                             "%s = \"%s\" contains '=', which %s would take for the end of an "
                             "option name here",
                             path, s, w->hv);
        else if (c == ',' || c == ':')
                srcpos_error(w->err, pos,
                             "%s = \"%s\" contains '%c', where %s ends the value, with no way "
                             "to escape it",
                             path, s, c, w->hv);
        else
                srcpos_error(w->err, pos,
                             "%s = \"%s\" contains '%c', which %s reads as quoting or grouping, "
                             "with no way to escape it",
                             path, s, c, w->hv);
        return mv_error_hint(w->err, "use a value without '%c'; for a path, a symbolic link to it",
                             c);
}

static int check_text(const struct walk *w, const char *s, size_t len, struct srcpos pos,
                      const char *rel)
{
        enum optval_rule rule = w->check->rule;
        _cleanup_free_ char *path = guest_option_path(w->vm->name, rel);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c == 0x7f) {
                        srcpos_error(w->err, pos,
                                     "%s contains a control character (byte 0x%02x), which "
                                     "cannot go into a %s option",
                                     path, c, w->hv);
                        return mv_error_hint(w->err, "remove it from the value");
                }
        }
        if (rule == OPTVAL_QEMU_ID && !qemu_id_valid(s)) {
                srcpos_error(w->err, pos, "%s = \"%s\" is not an id that qemu accepts", path, s);
                return mv_error_hint(w->err, "use an id that starts with a letter, followed by "
                                             "letters, digits, '-', '.' or '_'");
        }
        if (rule == OPTVAL_QEMU_KEY && len == 0) {
                srcpos_error(w->err, pos, "%s: a qemu option name cannot be empty", path);
                return mv_error_hint(w->err, "remove it, or give the option's name");
        }
        const char *bad = strpbrk(s, forbidden[rule]);
        return bad ? refuse_char(w, path, s, *bad, pos) : 0;
}

/* Whether the check's condition holds in `base`. */
static bool applies(const char *when, const struct value *base)
{
        if (!when)
                return true;
        const char *eq = strchr(when, '=');
        if (!eq) {
                const struct value *v = value_lookup(base, when);
                return v && v->type == VALUE_BOOL && v->boolean;
        }
        _cleanup_free_ char *key = xstrndup(when, (size_t)(eq - when));
        const struct value *v = value_lookup(base, key);
        return v && v->type == VALUE_STRING && strcmp(v->str, eq + 1) == 0;
}

/* The first `*` or `<name>` segment of a dotted path, or NULL. */
static const char *find_wildcard(const char *path)
{
        for (const char *seg = path; *seg;) {
                size_t len = strcspn(seg, ".");
                if ((len == 1 && seg[0] == '*') || (len == 6 && strncmp(seg, "<name>", 6) == 0))
                        return seg;
                seg += len;
                if (*seg == '.')
                        seg++;
        }
        return NULL;
}

static char *rel_join(const char *rel, const char *more)
{
        if (!*more)
                return xstrdup(rel);
        return *rel ? xasprintf("%s.%s", rel, more) : xstrdup(more);
}

static int walk_path(const struct walk *w, const struct value *v, const char *rest,
                     const struct value *base, const char *rel);

/* Each item of a list, or value of an attribute set, with the rest of the path. */
static int walk_items(const struct walk *w, const struct value *c, const char *rest,
                      const char *rel)
{
        for (size_t i = 0; c->type == VALUE_LIST && i < c->n_items; i++) {
                _cleanup_free_ char *at = xasprintf("%s[%zu]", rel, i);
                int r = walk_path(w, c->items[i], rest, c->items[i], at);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; c->type == VALUE_ATTRS && i < c->n_attrs; i++) {
                _cleanup_free_ char *key = option_segment_display(c->attrs[i].key);
                _cleanup_free_ char *at = rel_join(rel, key);
                int r = walk_path(w, c->attrs[i].value, rest, c->attrs[i].value, at);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The names of an attribute set, at their own positions. */
static int walk_names(const struct walk *w, const struct value *c, const struct value *base,
                      const char *rel)
{
        if (c->type != VALUE_ATTRS || !applies(w->check->when, base))
                return 0;
        for (size_t i = 0; i < c->n_attrs; i++) {
                const struct attr *a = &c->attrs[i];
                _cleanup_free_ char *key = option_segment_display(a->key);
                _cleanup_free_ char *at = rel_join(rel, key);
                int r = check_text(w, a->key, strlen(a->key), a->key_pos, at);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int walk_path(const struct walk *w, const struct value *v, const char *rest,
                     const struct value *base, const char *rel)
{
        const char *wild = find_wildcard(rest);
        if (!wild) {
                const struct value *leaf = *rest ? value_lookup(v, rest) : v;
                if (!leaf || (leaf->type != VALUE_STRING && leaf->type != VALUE_PATH) ||
                    !applies(w->check->when, base))
                        return 0;
                _cleanup_free_ char *at = rel_join(rel, rest);
                return check_text(w, leaf->str, leaf->len, leaf->pos, at);
        }
        _cleanup_free_ char *prefix = xstrndup(rest, wild > rest ? (size_t)(wild - rest - 1) : 0);
        const struct value *c = *prefix ? value_lookup(v, prefix) : v;
        if (!c)
                return 0;
        _cleanup_free_ char *at = rel_join(rel, prefix);
        if (*wild == '<')
                return walk_names(w, c, base, at);
        const char *after = wild[1] == '.' ? wild + 2 : wild + 1;
        return walk_items(w, c, after, at);
}

int optval_check(const struct hv_vm *vm, const char *hv, const struct optval_check *checks,
                 size_t n, struct mv_error **err)
{
        for (size_t i = 0; i < n; i++) {
                struct walk w = { .vm = vm, .hv = hv, .check = &checks[i], .err = err };
                int r = walk_path(&w, vm->guest, checks[i].path, vm->guest, "");
                if (r < 0)
                        return r;
        }
        return 0;
}

void optval_put_qemu(struct strbuf *b, const char *s)
{
        for (const char *comma; (comma = strchr(s, ',')); s = comma + 1) {
                strbuf_putn(b, s, (size_t)(comma - s));
                strbuf_puts(b, ",,");
        }
        strbuf_puts(b, s);
}

char *optval_qemu(const char *s)
{
        if (!s)
                return NULL;
        struct strbuf b = { 0 };
        optval_put_qemu(&b, s);
        return strbuf_take(&b);
}
