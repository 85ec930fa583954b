#include "config/docs.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config/json-write.h"
#include "config/schema.h"
#include "config/suggest.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

/* Where guest options live in host.nix. */
#define GUEST_PREFIX "microvm.vms.<name>.config"

struct doc_entry {
        char *name;
        const struct mv_option *opt;
};

struct doc_list {
        struct doc_entry *items;
        size_t n;
};

static void add_entry(struct doc_list *l, char *name, const struct mv_option *opt)
{
        l->items = xreallocarray(l->items, l->n + 1, sizeof(*l->items));
        l->items[l->n++] = (struct doc_entry){ .name = name, .opt = opt };
}

/* The submodule a type holds options of, and the name segment that stands for its elements. */
static const struct type *submodule_of(const struct type *t, const char **placeholder)
{
        while (t->kind == TYPE_NULL_OR)
                t = t->inner;
        if (t->kind == TYPE_LIST_OF && t->inner->kind == TYPE_SUBMODULE) {
                *placeholder = "*";
                return t->inner;
        }
        if (t->kind == TYPE_ATTRS_OF && t->inner->kind == TYPE_SUBMODULE) {
                *placeholder = "<name>";
                return t->inner;
        }
        if (t->kind == TYPE_SUBMODULE) {
                *placeholder = NULL;
                return t;
        }
        return NULL;
}

static void collect(struct doc_list *l, const struct type *module, const char *prefix)
{
        for (const struct mv_option *o = module->options; o->name; o++) {
                char *name = *prefix ? xasprintf("%s.%s", prefix, o->name) : xstrdup(o->name);
                add_entry(l, name, o);
                const char *placeholder = NULL;
                const struct type *sub = submodule_of(o->type, &placeholder);
                if (!sub || sub == &schema_guest)
                        continue;
                _cleanup_free_ char *inner =
                        placeholder ? xasprintf("%s.%s", name, placeholder) : xstrdup(name);
                collect(l, sub, inner);
        }
}

static int entry_cmp(const void *a, const void *b)
{
        return strcmp(((const struct doc_entry *)a)->name, ((const struct doc_entry *)b)->name);
}

/* Host options, then the guest options a VM's `config` takes, each group sorted by name. */
static void collect_all(struct doc_list *l)
{
        collect(l, &schema_host, "");
        qsort(l->items, l->n, sizeof(*l->items), entry_cmp);
        size_t host = l->n;
        collect(l, &schema_guest, GUEST_PREFIX);
        qsort(l->items + host, l->n - host, sizeof(*l->items), entry_cmp);
}

static const char *default_shown(const struct mv_option *o)
{
        return o->default_text ? o->default_text : o->default_nix;
}

/* Whose option this is: microvm.nix's (at the commit the schema follows), the seed's, or ours. */
static const char *origin(const struct mv_option *o)
{
        const char *by = o->declared_by ? o->declared_by : "<microvm>";
        if (strncmp(by, "<microvm.nix/", 13) == 0)
                return "microvm.nix's, as at " SCHEMA_UPSTREAM_COMMIT;
        if (strncmp(by, "<microvm.nix " SCHEMA_SEED_COMMIT "/",
                    13 + strlen(SCHEMA_SEED_COMMIT) + 1) == 0)
                return "from microvm.nix " SCHEMA_SEED_COMMIT "'s host module; moved or changed "
                       "in microvm.nix by " SCHEMA_UPSTREAM_COMMIT " (see above)";
        if (strncmp(by, "<nixpkgs/", 9) == 0)
                return "a NixOS option that microvm.nix sets";
        return "microvm's own, not in microvm.nix";
}

static void render_text(struct strbuf *out, const struct doc_entry *e)
{
        _cleanup_free_ char *type = type_describe(e->opt->type);
        strbuf_printf(out, "%s\n\n%s\n\nType: %s\n\n", e->name, e->opt->description, type);
        if (default_shown(e->opt))
                strbuf_printf(out, "Default: %s\n\n", default_shown(e->opt));
        if (e->opt->example)
                strbuf_printf(out, "Example:\n\n%s\n\n", e->opt->example);
        strbuf_printf(out, "Declared by:\n\n%s\n\nOrigin: %s\n\n",
                      e->opt->declared_by ? e->opt->declared_by : "microvm", origin(e->opt));
}

static void json_text_field(struct strbuf *out, const char *key, const char *text)
{
        strbuf_printf(out, ",\n    \"%s\": { \"_type\": \"literalExpression\", \"text\": ", key);
        json_write_string(out, text, strlen(text));
        strbuf_puts(out, " }");
}

static void render_json(struct strbuf *out, const struct doc_entry *e, bool first)
{
        _cleanup_free_ char *type = type_describe(e->opt->type);
        strbuf_puts(out, first ? "\n  " : ",\n  ");
        json_write_string(out, e->name, strlen(e->name));
        strbuf_puts(out, ": {\n    \"declarations\": [ ");
        const char *decl = e->opt->declared_by ? e->opt->declared_by : "microvm";
        json_write_string(out, decl, strlen(decl));
        strbuf_puts(out, " ],\n    \"description\": ");
        json_write_string(out, e->opt->description, strlen(e->opt->description));
        if (default_shown(e->opt))
                json_text_field(out, "default", default_shown(e->opt));
        if (e->opt->example)
                json_text_field(out, "example", e->opt->example);
        strbuf_puts(out, ",\n    \"origin\": ");
        json_write_string(out, origin(e->opt), strlen(origin(e->opt)));
        strbuf_puts(out, ",\n    \"readOnly\": false,\n    \"type\": ");
        json_write_string(out, type, strlen(type));
        strbuf_puts(out, "\n  }");
}

/* troff: a leading '.' or '\'' would be a request, and backslashes are escapes. */
static void man_text(struct strbuf *out, const char *s)
{
        bool line_start = true;
        for (; *s; s++) {
                if (line_start && (*s == '.' || *s == '\''))
                        strbuf_puts(out, "\\&");
                if (*s == '\\')
                        strbuf_puts(out, "\\e");
                else if (*s == '-')
                        strbuf_puts(out, "\\-");
                else
                        strbuf_putc(out, *s);
                line_start = *s == '\n';
        }
}

static void render_man(struct strbuf *out, const struct doc_entry *e)
{
        _cleanup_free_ char *type = type_describe(e->opt->type);
        strbuf_puts(out, ".TP\n.B ");
        man_text(out, e->name);
        strbuf_puts(out, "\n");
        man_text(out, e->opt->description);
        strbuf_puts(out, "\n.RS\n.PP\n.I Type:\n");
        man_text(out, type);
        strbuf_puts(out, "\n");
        if (default_shown(e->opt)) {
                strbuf_puts(out, ".PP\n.I Default:\n.nf\n");
                man_text(out, default_shown(e->opt));
                strbuf_puts(out, "\n.fi\n");
        }
        if (e->opt->example) {
                strbuf_puts(out, ".PP\n.I Example:\n.nf\n");
                man_text(out, e->opt->example);
                strbuf_puts(out, "\n.fi\n");
        }
        strbuf_puts(out, ".PP\n.I Origin:\n");
        man_text(out, origin(e->opt));
        strbuf_puts(out, "\n.RE\n");
}

static const char man_header[] =
        ".TH MICROVM-OPTIONS 5 \"\" \"microvm " MICROVM_VERSION "\" \"microvm\"\n"
        ".SH NAME\nmicrovm\\-options \\- options of /etc/microvm/host.nix\n"
        ".SH DESCRIPTION\n"
        "The host configuration uses the option names, types and defaults of microvm.nix's "
        "host module. It is written in the data subset of the Nix language (attribute sets, "
        "lists, strings, paths, numbers, booleans, let bindings, imports, lib.mkDefault, "
        "lib.mkForce), or as JSON with the same tree (for example the output of "
        "\\fBnix eval \\-\\-json\\fR). A VM's \\fBconfig\\fR takes the guest options of "
        "microvm.nix, listed after the host options as "
        "\\fBmicrovm.vms.<name>.config.microvm.*\\fR; other NixOS options in it are kept for a Nix "
        "build and not checked.\n"
        ".PP\n"
        "Constructs that need a Nix evaluator (string interpolation, operators, function calls, "
        "\\fBpkgs\\fR, \\fBimport\\fR, \\fBrec\\fR, \\fBif\\fR) are errors at their position. "
        "Evaluate such a configuration with Nix and pass the JSON file with "
        "\\fB\\-\\-config\\fR; a file whose name ends in .json is read as JSON.\n"
        ".PP\n"
        "Definitions merge as in the NixOS module system: lists concatenate, strings "
        "concatenated with \"\\en\" join with a newline, attribute sets merge, other values must "
        "agree; \\fBlib.mkForce\\fR beats a plain definition, which beats "
        "\\fBlib.mkDefault\\fR, which beats the default.\n"
        ".SH FILES\n"
        ".TP\n/etc/microvm/host.nix\nThe host configuration (override with "
        "\\fB\\-\\-config\\fR or \\fBMICROVM_CONFIG\\fR).\n"
        ".SH EXIT STATUS\n"
        "\\fBmicrovm check\\fR exits 0 for a valid configuration and 2 for an invalid or "
        "unreadable one.\n"
        ".SH OPTIONS\n";

static bool matches(const char *name, const char *filter)
{
        size_t n = strlen(filter);
        return strncmp(name, filter, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

int docs_render(struct strbuf *out, enum docs_format format, const char *filter,
                struct mv_error **err)
{
        struct doc_list l = { 0 };
        size_t shown = 0;
        _cleanup_free_ char *guest_filter = NULL;

        collect_all(&l);
        /* A guest option may be named as in a guest's module: microvm.vcpu. */
        if (filter) {
                bool any = false;
                for (size_t i = 0; i < l.n && !any; i++)
                        any = matches(l.items[i].name, filter);
                if (!any) {
                        guest_filter = xasprintf(GUEST_PREFIX ".%s", filter);
                        for (size_t i = 0; i < l.n && !any; i++)
                                any = matches(l.items[i].name, guest_filter);
                        if (any)
                                filter = guest_filter;
                }
        }
        if (format == DOCS_JSON)
                strbuf_putc(out, '{');
        if (format == DOCS_MAN)
                strbuf_puts(out, man_header);
        for (size_t i = 0; i < l.n; i++) {
                if (filter && !matches(l.items[i].name, filter))
                        continue;
                if (format == DOCS_TEXT)
                        render_text(out, &l.items[i]);
                else if (format == DOCS_JSON)
                        render_json(out, &l.items[i], shown == 0);
                else
                        render_man(out, &l.items[i]);
                shown++;
        }
        if (format == DOCS_JSON)
                strbuf_puts(out, shown ? "\n}\n" : "}\n");

        int r = 0;
        if (filter && !shown) {
                _cleanup_free_ const char **names = xcalloc(l.n + 1, sizeof(char *));
                for (size_t i = 0; i < l.n; i++)
                        names[i] = l.items[i].name;
                const char *close = suggest_closest(filter, names, l.n);
                r = close ? mv_error_usage(err, "unknown option %s; did you mean %s?", filter,
                                           close)
                          : mv_error_usage(err, "unknown option %s", filter);
        }
        for (size_t i = 0; i < l.n; i++)
                free(l.items[i].name);
        free(l.items);
        return r;
}
