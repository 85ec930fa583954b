/*
 * The option schema against microvm.nix's own declarations: every option in
 * tests/cases/generate/options-71beea0.json (generated from microvm.nix's
 * modules, see the README there) must be in the schema with the same type
 * and default, and every other option must say whose it is.
 */
#include "test-helpers.h"

#include <ctype.h>

#include "config/json-read.h"
#include "config/schema.h"
#include "config/source.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

#define UPSTREAM_PREFIX "<microvm.nix/"
#define SEED_PREFIX     "<microvm.nix " SCHEMA_SEED_COMMIT "/"

/*
 * Defaults microvm.nix computes from other options. Its documentation shows
 * their value in an empty configuration (the text recorded here); the schema
 * computes them (default_fn) and says how. A new text upstream fails the test.
 */
static const struct {
        const char *name, *upstream;
} computed_defaults[] = {
        { "microvm.graphics.socket", "\"$HOSTNAME-gpu.sock\"" },
        { "microvm.hotpluggedMem", "0" },
        { "microvm.machineId", "\"ccbf04d5-5353-4282-6d8c-d5d99d40a171\"" },
        { "microvm.qemu.machine", NULL },
        { "microvm.shares.*.socket", "null" },
        { "microvm.socket", "\"${hostName}.sock\"" },
        { "microvm.storeOnDisk", "true" },
        { "microvm.systemSymlink", "false" },
        { "microvm.vms.<name>.restartIfChanged", "false" },
};

static const char *options_json;

struct ours {
        char *name;
        const struct mv_option *opt;
        bool upstream; /* found in the upstream list */
};

struct ours_list {
        struct ours *items;
        size_t n;
};

/* The submodule a type holds options of, and the name segment for its elements (as docs.c). */
static const struct type *submodule_of(const struct type *t, const char **placeholder)
{
        while (t->kind == TYPE_NULL_OR)
                t = t->inner;
        *placeholder = NULL;
        if (t->kind == TYPE_LIST_OF && t->inner->kind == TYPE_SUBMODULE)
                *placeholder = "*";
        else if (t->kind == TYPE_ATTRS_OF && t->inner->kind == TYPE_SUBMODULE)
                *placeholder = "<name>";
        if (*placeholder)
                return t->inner;
        return t->kind == TYPE_SUBMODULE ? t : NULL;
}

/* Full names as microvm.nix's documentation spells them: the guest's are "microvm.*". */
static void collect(struct ours_list *l, const struct type *module, const char *prefix)
{
        for (const struct mv_option *o = module->options; o->name; o++) {
                char *name = *prefix ? xasprintf("%s.%s", prefix, o->name) : xstrdup(o->name);
                l->items = xreallocarray(l->items, l->n + 1, sizeof(*l->items));
                l->items[l->n++] = (struct ours){ .name = name, .opt = o };
                const char *placeholder;
                const struct type *sub = submodule_of(o->type, &placeholder);
                if (!sub || sub == &schema_guest)
                        continue;
                _cleanup_free_ char *inner =
                        placeholder ? xasprintf("%s.%s", name, placeholder) : xstrdup(name);
                collect(l, sub, inner);
        }
}

static bool same_text(const char *a, const char *b);

static bool computed_upstream(const char *name, const char *upstream, bool *known)
{
        for (size_t i = 0; i < ELEMENTSOF(computed_defaults); i++)
                if (strcmp(computed_defaults[i].name, name) == 0) {
                        *known = true;
                        return same_text(computed_defaults[i].upstream, upstream);
                }
        *known = false;
        return false;
}

static bool has_prefix(const char *s, const char *prefix)
{
        return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static struct ours *find(struct ours_list *l, const char *name)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->items[i].name, name) == 0)
                        return &l->items[i];
        return NULL;
}

/* Nix text compared without layout: runs of white space count as one blank, ends trimmed. */
static char *normalise(const char *s)
{
        struct strbuf b = { 0 };
        bool blank = false;
        for (; s && *s; s++) {
                if (isspace((unsigned char)*s)) {
                        blank = true;
                        continue;
                }
                if (blank && b.len)
                        strbuf_putc(&b, ' ');
                blank = false;
                strbuf_putc(&b, *s);
        }
        return strbuf_take(&b);
}

static bool same_text(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        _cleanup_free_ char *na = normalise(a);
        _cleanup_free_ char *nb = normalise(b);
        return strcmp(na, nb) == 0;
}

/*
 * Types compared as nixpkgs' lib words them, without parentheses (lib
 * versions differ in where they put them) and without this tool's own
 * remarks: "package (here: absolute path ...)" is microvm.nix's package.
 */
static char *type_words(const char *type)
{
        struct strbuf b = { 0 };
        for (const char *s = type; *s; s++) {
                if (strncmp(s, " (here: ", 8) == 0) {
                        int depth = 0;
                        for (s++; *s; s++) {
                                depth += (*s == '(') - (*s == ')');
                                if (depth == 0)
                                        break;
                        }
                        if (!*s)
                                break;
                        continue;
                }
                if (*s != '(' && *s != ')')
                        strbuf_putc(&b, *s);
        }
        char *words = normalise(b.data ? b.data : "");
        strbuf_free(&b);
        return words;
}

static const char *string_field(const struct value *entry, const char *key)
{
        struct attr *a = value_attrs_get(entry, key);
        if (!a || a->value->type == VALUE_NULL)
                return NULL;
        if (a->value->type != VALUE_STRING)
                fail_msg("%s of an upstream option is not a string", key);
        return a->value->str;
}

static const char *shown(const char *s)
{
        return s ? s : "(none)";
}

/* One upstream option against ours; a difference is appended to `diff`. */
static void compare_one(struct ours_list *host, struct ours_list *guest, const struct value *entry,
                        struct strbuf *diff)
{
        const char *name = string_field(entry, "name");
        const char *type = string_field(entry, "type");
        const char *def = string_field(entry, "default");
        const char *module = string_field(entry, "module");
        struct ours *o = find(has_prefix(module, "nixos-modules/host/") ? host : guest, name);
        if (!o) {
                strbuf_printf(diff, "%s: upstream (type %s, default %s) is not in the schema\n",
                              name, type, shown(def));
                return;
        }
        o->upstream = true;
        _cleanup_free_ char *our_type = type_describe(o->opt->type);
        _cleanup_free_ char *our_words = type_words(our_type);
        _cleanup_free_ char *upstream_words = type_words(type);
        if (strcmp(our_words, upstream_words) != 0)
                strbuf_printf(diff, "%s: type is %s here, %s upstream\n", name, our_type, type);
        const char *our_def = o->opt->default_text ? o->opt->default_text : o->opt->default_nix;
        bool known = false;
        bool computed_same = o->opt->default_fn && computed_upstream(name, def, &known);
        if (known && !computed_same)
                strbuf_printf(diff, "%s: upstream's computed default is now %s\n", name,
                              shown(def));
        /* microvm.nix puts some examples in defaultText (flake, extraModules): shown as such. */
        else if (!known && !same_text(our_def, def) && !(def && same_text(o->opt->example, def)))
                strbuf_printf(diff, "%s: default is %s here, %s upstream\n", name, shown(our_def),
                              shown(def));
        _cleanup_free_ char *decl = xasprintf(UPSTREAM_PREFIX "%s>", module);
        if (!same_text(o->opt->declared_by, decl))
                strbuf_printf(diff, "%s: declared by %s here, %s upstream\n", name,
                              shown(o->opt->declared_by), decl);
}

/*
 * An option microvm.nix does not declare must say whose it is: the seed's
 * (moved or removed since), microvm's own, or a NixOS option microvm.nix sets.
 */
static void check_not_upstream(struct ours_list *l, struct strbuf *diff)
{
        for (size_t i = 0; i < l->n; i++) {
                const struct ours *o = &l->items[i];
                const char *by = o->opt->declared_by;
                if (!o->upstream && !has_prefix(by, SEED_PREFIX) &&
                    strcmp(shown(by), "<microvm>") && !has_prefix(by, "<nixpkgs/"))
                        strbuf_printf(diff, "%s: declared by %s here, not in microvm.nix\n",
                                      o->name, shown(by));
                free(o->name);
        }
        free(l->items);
}

/* Every difference between the schema and the upstream list in `json`, one a line. */
static char *differences(const char *json)
{
        struct source_set set = { 0 };
        struct mv_error *err = NULL;
        struct value *root = NULL;
        if (json_parse(source_add_text(&set, "options.json", json), &root, &err) < 0)
                fail_msg("%s", err->msg);
        struct attr *options = value_attrs_get(root, "options");
        assert_non_null(options);
        assert_int_equal(options->value->type, VALUE_LIST);

        struct ours_list host = { 0 }, guest = { 0 };
        collect(&host, &schema_host, "");
        collect(&guest, &schema_guest, "");
        struct strbuf diff = { 0 };
        for (size_t i = 0; i < options->value->n_items; i++)
                compare_one(&host, &guest, options->value->items[i], &diff);
        check_not_upstream(&host, &diff);
        check_not_upstream(&guest, &diff);
        value_free(root);
        source_set_free(&set);
        return strbuf_take(&diff);
}

static char *read_options_json(void)
{
        struct source_set set = { 0 };
        struct source *src = NULL;
        struct mv_error *err = NULL;
        if (source_load(&set, options_json, 0, &src, &err) < 0)
                fail_msg("%s", err->msg);
        char *text = xstrdup(src->text);
        source_set_free(&set);
        return text;
}

static void schema_follows_upstream(void **state)
{
        (void)state;
        _cleanup_free_ char *json = read_options_json();
        _cleanup_free_ char *diff = differences(json);
        if (*diff) {
                printf("the schema differs from microvm.nix:\n%s", diff);
                fail_msg("the schema differs from microvm.nix (listed above)");
        }
}

/* An option microvm.nix gains is found missing, with its type and default. */
static void new_upstream_option_is_missing(void **state)
{
        (void)state;
        _cleanup_free_ char *json = read_options_json();
        const char *list = strstr(json, "\"options\": [");
        assert_non_null(list);
        int at = (int)(list - json) + (int)strlen("\"options\": [");
        _cleanup_free_ char *modified = xasprintf(
                "%.*s{\"name\": \"microvm.host.fabricated\", \"type\": \"boolean\", "
                "\"default\": \"false\", \"module\": \"nixos-modules/host/options.nix\"},%s",
                at, json, json + at);
        _cleanup_free_ char *diff = differences(modified);
        const char *want = "microvm.host.fabricated: upstream (type boolean, default false) is "
                           "not in the schema\n";
        if (!strstr(diff, want))
                fail_msg("not reported:\n%s", diff);
}

/* A changed upstream default is reported with both values. */
static void changed_upstream_default_is_reported(void **state)
{
        (void)state;
        _cleanup_free_ char *json = read_options_json();
        const char *needle = "\"name\": \"microvm.stateDir\", \"type\": \"absolute path\", "
                             "\"default\": \"\\\"/var/lib/microvms\\\"\"";
        char *at = strstr(json, needle);
        assert_non_null(at);
        _cleanup_free_ char *modified =
                xasprintf("%.*s\"name\": \"microvm.stateDir\", \"type\": \"absolute path\", "
                          "\"default\": \"\\\"/srv/microvms\\\"\"%s",
                          (int)(at - json), json, at + strlen(needle));
        _cleanup_free_ char *diff = differences(modified);
        const char *want = "microvm.stateDir: default is \"/var/lib/microvms\" here, "
                           "\"/srv/microvms\" upstream\n";
        if (!strstr(diff, want))
                fail_msg("not reported:\n%s", diff);
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: %s OPTIONS_JSON\n", argv[0]);
                return 2;
        }
        options_json = argv[1];
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(schema_follows_upstream),
                cmocka_unit_test(new_upstream_option_is_missing),
                cmocka_unit_test(changed_upstream_default_is_reported),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
