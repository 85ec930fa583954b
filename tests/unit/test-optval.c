#include "config-helpers.h"

#include "hypervisor/hypervisor.h"
#include "hypervisor/optval.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static void qemu_doubles_commas(void **state)
{
        (void)state;
        static const char *const cases[][2] = {
                { "", "" },        { "plain", "plain" },  { ",", ",," },
                { "a,b", "a,,b" }, { ",,a,", ",,,,a,," }, { "/p/x=1,y", "/p/x=1,,y" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = optval_qemu(cases[i][0]);
                assert_string_equal(got, cases[i][1]);
        }
        assert_null(optval_qemu(NULL));
        struct strbuf b = { 0 };
        strbuf_puts(&b, "file=");
        optval_put_qemu(&b, "a,b");
        strbuf_puts(&b, ",if=none");
        assert_string_equal(b.data, "file=a,,b,if=none");
        strbuf_free(&b);
}

/* Check `guest` (Nix text) with one table entry; returns the message, or NULL when it passes. */
static char *check(const char *guest, const char *path, enum optval_rule rule, const char *when)
{
        struct source_set set = { 0 };
        struct value *g = parse_ok(&set, guest);
        struct hv_vm vm = { .name = "t", .guest = g };
        const struct optval_check c = { path, rule, when };
        struct mv_error *err = NULL;
        char *msg = NULL;
        if (optval_check(&vm, "hv", &c, 1, &err) < 0) {
                assert_int_equal(mv_error_exit_status(err), 2);
                assert_non_null(err->hint);
                msg = xstrdup(err->msg);
        } else {
                assert_null(err);
        }
        mv_error_free(&err);
        value_free(g);
        source_set_free(&set);
        return msg;
}

static void assert_refused(const char *guest, const char *path, enum optval_rule rule,
                           const char *when, const char *needle)
{
        _cleanup_free_ char *msg = check(guest, path, rule, when);
        if (!msg)
                fail_msg("<%s> %s passed; expected '%s'", guest, path, needle);
        if (!strstr(msg, needle))
                fail_msg("'%s' lacks '%s'", msg, needle);
}

static void assert_passes(const char *guest, const char *path, enum optval_rule rule,
                          const char *when)
{
        _cleanup_free_ char *msg = check(guest, path, rule, when);
        if (msg)
                fail_msg("<%s> %s refused: %s", guest, path, msg);
}

static void rules(void **state)
{
        (void)state;
        /* qemu escapes ',': only what it cannot take at all is refused. */
        assert_passes("{ a = \"x,y=z\"; }", "a", OPTVAL_QEMU, NULL);
        assert_refused("{ a = \"x\\ny\"; }", "a", OPTVAL_QEMU, NULL,
                       "/test/host.nix:1:7: microvm.vms.t.config.a contains a control character "
                       "(byte 0x0a)");
        assert_refused("{ a = \"x\\ty\"; }", "a", OPTVAL_QEMU, NULL, "(byte 0x09)");
        assert_passes("{ a = \"x,y\"; }", "a", OPTVAL_QEMU_IMPLIED, NULL);
        assert_refused("{ a = \"x=y\"; }", "a", OPTVAL_QEMU_IMPLIED, NULL,
                       "microvm.vms.t.config.a = \"x=y\" contains '='");
        assert_refused("{ a = \"x,y\"; }", "a", OPTVAL_QEMU_KEY, NULL, "contains ','");
        assert_refused("{ a = \"\"; }", "a", OPTVAL_QEMU_KEY, NULL, "cannot be empty");
        assert_passes("{ a = \"net0.x-y_z\"; }", "a", OPTVAL_QEMU_ID, NULL);
        assert_refused("{ a = \"0net\"; }", "a", OPTVAL_QEMU_ID, NULL, "is not an id");
        assert_refused("{ a = \"\"; }", "a", OPTVAL_QEMU_ID, NULL, "is not an id");
        assert_refused("{ a = \"a b\"; }", "a", OPTVAL_QEMU_ID, NULL, "is not an id");
        /* Without an escape, anything that splits or groups options is refused. */
        assert_passes("{ a = \"/x/y=z:1\"; }", "a", OPTVAL_PLAIN, NULL);
        static const char *const plain_bad[] = { "{ a = \"x,y\"; }", "{ a = \"x\\\"y\"; }",
                                                 "{ a = \"x[y\"; }", "{ a = \"x]y\"; }" };
        for (size_t i = 0; i < ELEMENTSOF(plain_bad); i++)
                assert_refused(plain_bad[i], "a", OPTVAL_PLAIN, NULL, "with no way to escape");
        assert_refused("{ a = \"x=y\"; }", "a", OPTVAL_PLAIN_IMPLIED, NULL, "contains '='");
        assert_refused("{ a = \"x:y\"; }", "a", OPTVAL_PLAIN_COLON, NULL, "contains ':'");
        /* Absent, null and non-string values are not this check's business. */
        assert_passes("{ }", "a", OPTVAL_PLAIN, NULL);
        assert_passes("{ a = null; b = 1; }", "a", OPTVAL_PLAIN, NULL);
}

/* A NUL inside a value would cut it short in the command line. */
static void embedded_nul_is_refused(void **state)
{
        (void)state;
        struct value *g = value_new(VALUE_ATTRS, (struct srcpos){ 0 });
        value_attrs_append(g, "a", (struct srcpos){ 0 },
                           value_new_string(VALUE_STRING, "x\0y", 3, (struct srcpos){ 0 }));
        struct hv_vm vm = { .name = "t", .guest = g };
        const struct optval_check c = { "a", OPTVAL_QEMU, NULL };
        struct mv_error *err = NULL;
        assert_true(optval_check(&vm, "qemu", &c, 1, &err) < 0);
        assert_non_null(strstr(err->msg, "(built-in): microvm.vms.t.config.a contains a control "
                                         "character (byte 0x00)"));
        mv_error_free(&err);
        value_free(g);
}

static void paths_with_wildcards(void **state)
{
        (void)state;
        const char *g = "{ vols = [ { image = \"/a\"; } { image = \"/b,c\"; } ]; "
                        "creds = { ok = \"/x\"; \"n,1\" = \"/y\"; }; }";
        assert_refused(g, "vols.*.image", OPTVAL_PLAIN, NULL,
                       "microvm.vms.t.config.vols[1].image = \"/b,c\" contains ','");
        assert_refused(g, "creds.<name>", OPTVAL_PLAIN, NULL,
                       "microvm.vms.t.config.creds.\"n,1\" = \"n,1\" contains ','");
        assert_passes(g, "creds.*", OPTVAL_PLAIN, NULL);
        /* The position is the value's own, in a list item too. */
        assert_refused(g, "vols.*.image", OPTVAL_PLAIN, NULL, "/test/host.nix:1:40:");
        /* `when` looks at the list item, or at the guest without a `*`. */
        const char *shares = "{ on = false; s = \"a,b\"; shares = [ { proto = \"9p\"; socket = "
                             "\"x,y\"; } { proto = \"virtiofs\"; socket = \"p,q\"; } ]; }";
        assert_refused(shares, "shares.*.socket", OPTVAL_PLAIN, "proto=virtiofs",
                       "shares[1].socket");
        assert_passes(shares, "shares.*.socket", OPTVAL_PLAIN, "proto=nothing");
        assert_passes(shares, "s", OPTVAL_PLAIN, "on");
        assert_passes(shares, "s", OPTVAL_PLAIN, "shares"); /* not a boolean */
        assert_refused("{ on = true; s = \"a,b\"; }", "s", OPTVAL_PLAIN, "on", "contains ','");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(qemu_doubles_commas),
                cmocka_unit_test(rules),
                cmocka_unit_test(embedded_nul_is_refused),
                cmocka_unit_test(paths_with_wildcards),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
