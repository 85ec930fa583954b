#include "config-helpers.h"

#include <sys/stat.h>

#include "config/json-write.h"
#include "config/schema.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* A small schema exercising each merge rule. */
static const struct type type_sub = {
        .kind = TYPE_SUBMODULE,
        .options =
                (const struct mv_option[]){
                        { .name = "n", .type = &type_int, .default_nix = "0" },
                        { 0 },
                }
};
static const struct type type_list_of_sub = { .kind = TYPE_LIST_OF, .inner = &type_sub };
static const struct type type_attrs_of_sub = { .kind = TYPE_ATTRS_OF, .inner = &type_sub };
static const char *const colours[] = { "red", "green", NULL };
static const struct type type_colour = { .kind = TYPE_ENUM, .values = colours };
static const struct type type_null_or_colour = { .kind = TYPE_NULL_OR, .inner = &type_colour };

static const struct mv_option test_options[] = {
        { .name = "a.flag", .type = &type_bool, .default_nix = "false" },
        { .name = "a.count", .type = &type_uint, .default_nix = "1" },
        { .name = "a.list", .type = &type_list_of_str, .default_nix = "[ \"d\" ]" },
        { .name = "a.script", .type = &type_lines, .default_nix = "\"\"" },
        { .name = "a.dir", .type = &type_path, .default_nix = "\"/var/x\"" },
        { .name = "a.colour", .type = &type_null_or_colour, .default_nix = "null" },
        { .name = "a.items", .type = &type_list_of_sub, .default_nix = "[ ]" },
        { .name = "a.named", .type = &type_attrs_of_sub, .default_nix = "{ }" },
        { .name = "a.pool", .type = &type_thread_pool, .default_nix = "\"`nproc`\"" },
        { .name = "a.\"dotted.name\".on", .type = &type_bool, .default_nix = "true" },
        { 0 },
};
static const struct type schema_test = { .kind = TYPE_SUBMODULE,
                                         .options = test_options,
                                         .module = true };

struct fixture {
        char *dir;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        f->dir = scratch_dir_new();
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        scratch_dir_remove(f->dir);
        free(f);
        return 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644, NULL), 0);
}

/* Evaluate main.nix in `dir` against `t`: JSON of the result, or NULL with *err set. */
static char *eval_dir(const char *dir, const struct type *t, const char *select,
                      struct mv_error **err)
{
        struct merge_ctx ctx = { .sources = xcalloc(1, sizeof(struct source_set)) };
        _cleanup_free_ char *path = xasprintf("%s/main.nix", dir);
        struct value *mod = NULL, *out = NULL;
        char *json = NULL;

        if (config_load_file(&ctx, path, NULL, &mod, err) >= 0 &&
            merge_type(&ctx, t, NULL, &mod, 1, &out, err) >= 0) {
                struct strbuf b = { 0 };
                value_sort_attrs(out);
                const struct value *v = select ? value_lookup(out, select) : out;
                assert_non_null(v);
                json_write_value(&b, v, false);
                json = strbuf_take(&b);
        }
        value_free(out);
        merge_ctx_free(&ctx);
        free(ctx.sources);
        return json;
}

static void expect_eval(const char *dir, const char *main_nix, const char *select, const char *want)
{
        struct mv_error *err = NULL;
        write_file(dir, "main.nix", main_nix);
        _cleanup_free_ char *got = eval_dir(dir, &schema_test, select, &err);
        if (!got)
                fail_msg("evaluation failed: %s", err->msg);
        if (strcmp(got, want) != 0)
                fail_msg("%s\n  got  %s\n  want %s", main_nix, got, want);
}

static void expect_error(const char *dir, const char *main_nix, const char *needle)
{
        struct mv_error *err = NULL;
        write_file(dir, "main.nix", main_nix);
        _cleanup_free_ char *got = eval_dir(dir, &schema_test, NULL, &err);
        if (got)
                fail_msg("%s evaluated to %s; expected an error with '%s'", main_nix, got, needle);
        if (!strstr(err->msg, needle))
                fail_msg("error '%s' lacks '%s'", err->msg, needle);
        assert_int_equal(mv_error_exit_status(err), 2);
        mv_error_free(&err);
}

static void lookup_by_dotted_name(void **state)
{
        (void)state;
        char long_key[151];
        memset(long_key, 'k', 150);
        long_key[150] = '\0';
        _cleanup_free_ char *text =
                xasprintf("{ a.b.c = 1; a.\"x.y\".z = 2; a.\"\".e = 3; a.%s = 4; }", long_key);
        _cleanup_free_ char *long_path = xasprintf("a.%s", long_key);
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, text);
        assert_ptr_equal(value_lookup(v, ""), v);
        assert_int_equal(value_lookup(v, "a.b.c")->integer, 1);
        assert_ptr_equal(value_lookup(v, "a.b."), value_lookup(v, "a.b"));
        assert_int_equal(value_lookup(v, "a.\"x.y\".z")->integer, 2);
        assert_int_equal(value_lookup(v, "a..e")->integer, 3);
        assert_int_equal(value_lookup(v, long_path)->integer, 4);
        assert_null(value_lookup(v, "a.b.c.d"));
        assert_null(value_lookup(v, "a.x"));
        value_free(v);
        source_set_free(&set);
}

static void defaults_fill_everything(void **state)
{
        struct fixture *f = *state;
        expect_eval(
                f->dir, "{ }", "a",
                "{\"colour\":null,\"count\":1,\"dir\":\"/var/x\",\"dotted.name\":{\"on\":true},"
                "\"flag\":false,\"items\":[],\"list\":[\"d\"],\"named\":{},\"pool\":\"`nproc`\","
                "\"script\":\"\"}");
}

static void definitions_replace_defaults(void **state)
{
        struct fixture *f = *state;
        expect_eval(f->dir, "{ a.flag = true; a.list = [ \"x\" ]; }", "a.list", "[\"x\"]");
        expect_eval(f->dir, "{ a.pool = 4; }", "a.pool", "4");
        expect_eval(f->dir, "{ a.\"dotted.name\".on = false; }", "a.\"dotted.name\".on", "false");
}

static void imports_merge_by_type(void **state)
{
        struct fixture *f = *state;
        write_file(f->dir, "one.nix",
                   "{ a.list = [ \"one\" ]; a.script = \"echo one\"; a.named.x.n = 1; "
                   "a.items = [ { n = 1; } ]; }");
        write_file(f->dir, "two.nix",
                   "{ lib, ... }: { a.list = [ \"two\" ]; a.named.y = { }; "
                   "imports = [ ./one.nix ]; }");
        expect_eval(f->dir,
                    "{ imports = [ ./two.nix ./one.nix ]; a.list = [ \"main\" ]; "
                    "a.script = \"echo main\"; a.items = [ { } ]; }",
                    "a",
                    "{\"colour\":null,\"count\":1,\"dir\":\"/var/x\",\"dotted.name\":{\"on\":true},"
                    "\"flag\":false,\"items\":[{\"n\":0},{\"n\":1}],\"list\":[\"main\",\"two\","
                    "\"one\"],\"named\":{\"x\":{\"n\":1},\"y\":{\"n\":0}},\"pool\":\"`nproc`\","
                    "\"script\":\"echo main\\necho one\"}");
}

static void full_form_module(void **state)
{
        struct fixture *f = *state;
        expect_eval(f->dir, "{ imports = [ ]; config = { a.count = 5; }; }", "a.count", "5");
}

static void priorities_decide(void **state)
{
        struct fixture *f = *state;
        write_file(f->dir, "low.nix",
                   "{ lib, ... }: { a.count = lib.mkDefault 7; a.flag = lib.mkForce true; }");
        expect_eval(f->dir, "{ imports = [ ./low.nix ]; a.count = 3; a.flag = false; }", "a",
                    "{\"colour\":null,\"count\":3,\"dir\":\"/var/x\",\"dotted.name\":{\"on\":true},"
                    "\"flag\":true,\"items\":[],\"list\":[\"d\"],\"named\":{},\"pool\":\"`nproc`\","
                    "\"script\":\"\"}");
        /* The priority of a set reaches the definitions inside it. */
        write_file(f->dir, "forced.nix", "{ lib, ... }: { a = lib.mkForce { count = 9; }; }");
        expect_eval(f->dir, "{ imports = [ ./forced.nix ]; a.count = 2; }", "a.count", "9");
        /* Equal definitions agree. */
        write_file(f->dir, "same.nix", "{ a.count = 4; }");
        expect_eval(f->dir, "{ imports = [ ./same.nix ]; a.count = 4; }", "a.count", "4");
}

static void conflicts_name_both_places(void **state)
{
        struct fixture *f = *state;
        write_file(f->dir, "other.nix", "{ a.count = 4; }");
        expect_error(f->dir, "{ imports = [ ./other.nix ]; a.count = 3; }",
                     "a.count has conflicting definitions: 4 here and 3 at ");
        write_file(f->dir, "other.nix", "{ a.colour = \"red\"; }");
        expect_error(f->dir, "{ imports = [ ./other.nix ]; a.colour = null; }",
                     "a.colour has conflicting definitions");
}

static void type_errors(void **state)
{
        struct fixture *f = *state;
        expect_error(f->dir, "{ a.flag = 1; }", "a.flag: expected boolean, got integer 1");
        expect_error(f->dir, "{ a.count = -1; }", "expected unsigned integer, meaning >=0");
        expect_error(f->dir, "{ a.list = [ 1 ]; }", "a.list[0]: expected string, got integer");
        expect_error(f->dir, "{ a.list = \"x\"; }", "a.list: expected list of string, got string");
        expect_error(f->dir, "{ a.dir = \"relative\"; }", "expected path");
        expect_error(f->dir, "{ a.colour = \"gren\"; }", "did you mean \"green\"?");
        expect_error(f->dir, "{ a.pool = true; }", "a.pool: expected string or (unsigned");
        expect_error(f->dir, "{ a.items = [ { n = \"x\"; } ]; }", "a.items[0].n: expected signed");
        expect_error(f->dir, "{ a = 5; }", "a: expected an attribute set of options");
        expect_error(f->dir, "[ ]", "a module must be an attribute set");
}

static void unknown_options_suggest(void **state)
{
        struct fixture *f = *state;
        expect_error(f->dir, "{ a.cuont = 1; }", "unknown option a.cuont; did you mean count?");
        expect_error(f->dir, "{ a.named.x.m = 1; }", "unknown option a.named.x.m; did you mean n?");
        expect_error(f->dir, "{ zzz = 1; }", "unknown option zzz; options here are: a");
        expect_error(f->dir, "{ options.a = 1; }", "declaring options needs the Nix module system");
}

static void import_errors(void **state)
{
        struct fixture *f = *state;
        expect_error(f->dir, "{ imports = [ ./missing.nix ]; }", "missing.nix: No such file");
        expect_error(f->dir, "{ imports = [ \"relative.nix\" ]; }", "expected a path");
        expect_error(f->dir, "{ imports = ./x.nix; }", "imports: expected list");
        write_file(f->dir, "bad.nix", "{ a.count = ; }");
        expect_error(f->dir, "{ imports = [ ./bad.nix ]; }",
                     "bad.nix:1:13: unexpected ';', expected a value");
}

/* An import that is not a readable regular file: an error at the import, never a hang. */
static void imports_of_what_is_not_a_file(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *fifo = xasprintf("%s/fifo", f->dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        expect_error(f->dir, "{\n  imports = [ /dev/zero ];\n}",
                     "main.nix:2:15: import /dev/zero: is a character device, not a regular file");
        expect_error(f->dir, "{ imports = [ ./fifo ]; }", "main.nix:1:15: import ");
        expect_error(f->dir, "{ imports = [ ./fifo ]; }", "/fifo: is a pipe, not a regular file");
        expect_error(f->dir, "{ imports = [ ./. ]; }", "main.nix:1:15: import ");
        expect_error(f->dir, "{ imports = [ ./. ]; }", ": is a directory, not a regular file");
}

static void import_cycles_terminate(void **state)
{
        struct fixture *f = *state;
        write_file(f->dir, "x.nix", "{ imports = [ ./y.nix ]; a.list = [ \"x\" ]; }");
        write_file(f->dir, "y.nix", "{ imports = [ ./x.nix ]; a.list = [ \"y\" ]; }");
        expect_eval(f->dir, "{ imports = [ ./x.nix ]; }", "a.list", "[\"x\",\"y\"]");
}

static void json_modules(void **state)
{
        struct fixture *f = *state;
        write_file(f->dir, "main.json", "{\"a\": {\"count\": 8, \"list\": [\"j\"]}}");
        struct merge_ctx ctx = { .sources = xcalloc(1, sizeof(struct source_set)) };
        _cleanup_free_ char *path = xasprintf("%s/main.json", f->dir);
        struct value *mod = NULL, *out = NULL;
        assert_int_equal(config_load_file(&ctx, path, NULL, &mod, NULL), 0);
        assert_int_equal(merge_type(&ctx, &schema_test, NULL, &mod, 1, &out, NULL), 0);
        assert_int_equal(value_lookup(out, "a.count")->integer, 8);
        value_free(out);
        merge_ctx_free(&ctx);
        free(ctx.sources);
}

static void brief_renderings(void **state)
{
        (void)state;
        struct source_set set = { 0 };
        struct value *v = parse_ok(&set, "[ true 3 \"s\" [ ] { } null ./p ]");
        const char *want[] = { "true", "3", "\"s\"", "[ ]", "{ }", "null", "/test/p" };
        for (size_t i = 0; i < v->n_items; i++) {
                _cleanup_free_ char *b = value_brief(v->items[i]);
                assert_string_equal(b, want[i]);
        }
        value_free(v);
        source_set_free(&set);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(lookup_by_dotted_name),
                cmocka_unit_test_setup_teardown(defaults_fill_everything, setup, teardown),
                cmocka_unit_test_setup_teardown(definitions_replace_defaults, setup, teardown),
                cmocka_unit_test_setup_teardown(imports_merge_by_type, setup, teardown),
                cmocka_unit_test_setup_teardown(full_form_module, setup, teardown),
                cmocka_unit_test_setup_teardown(priorities_decide, setup, teardown),
                cmocka_unit_test_setup_teardown(conflicts_name_both_places, setup, teardown),
                cmocka_unit_test_setup_teardown(type_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(unknown_options_suggest, setup, teardown),
                cmocka_unit_test_setup_teardown(import_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(imports_of_what_is_not_a_file, setup, teardown),
                cmocka_unit_test_setup_teardown(import_cycles_terminate, setup, teardown),
                cmocka_unit_test_setup_teardown(json_modules, setup, teardown),
                cmocka_unit_test(brief_renderings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
