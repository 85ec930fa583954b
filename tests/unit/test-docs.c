#include "config-helpers.h"

#include "config/docs.h"
#include "config/json-read.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

static char *render(enum docs_format f, const char *filter, struct mv_error **err)
{
        struct strbuf b = { 0 };
        if (docs_render(&b, f, filter, err) < 0) {
                strbuf_free(&b);
                return NULL;
        }
        return strbuf_take(&b);
}

/* The layout of microvm.nix's option reference, as in the seed. */
static void text_layout(void **state)
{
        (void)state;
        _cleanup_free_ char *s = render(DOCS_TEXT, "microvm.autostart", NULL);
        assert_string_equal(s, "microvm.autostart\n\nMicroVMs to start by default.\n\n"
                               "This includes declarative config.microvm.vms as well as MicroVMs "
                               "that are managed through the microvm command.\n\n"
                               "Type: list of string\n\nDefault: [ ]\n\nDeclared by:\n\n"
                               "<microvm.nix/nixos-modules/host/options.nix>\n\n"
                               "Origin: microvm.nix's, as at 71beea0\n\n");
}

static void seed_types_and_defaults(void **state)
{
        (void)state;
        const char *want[][2] = {
                { "microvm.virtiofsd.threadPoolSize",
                  "Type: string or (unsigned integer, meaning >=0)\n\nDefault: \"`nproc`\"" },
                { "microvm.virtiofsd.inodeFileHandles",
                  "Type: null or one of \"never\", \"prefer\", \"mandatory\"\n\nDefault: null" },
                { "microvm.host.tapScript", "Type: strings concatenated with \"\\n\"" },
                { "microvm.stateDir", "Type: absolute path\n\nDefault: \"/var/lib/microvms\"" },
                { "microvm.vms.<name>.flake", "Type: null or (absolute path)\n\nDefault: "
                                              "null\n\nExample:\n\nflakeInputs.my-infra" },
                { "microvm.host.tapScript",
                  "Origin: from microvm.nix 77f0b82's host module; moved or changed in microvm.nix "
                  "by 71beea0 (see above)" },
                { "microvm.host.restartDelay", "Origin: microvm's own, not in microvm.nix" },
                { "microvm.vms.<name>.config.microvm.virtiofsd.inodeFileHandles",
                  "Default: \"prefer\"" },
                { "microvm.vms.<name>.evaluatedConfig",
                  "Type: null or unspecified value\n\nDefault: null" },
                { "microvm.vms.<name>.extraModules", "Type: list of module\n\nDefault: [ ]" },
                { "microvm.vms.<name>.updateFlake",
                  "Default: null\n\nExample:\n\n\"git+file:///home/user/my-infra\"" },
                { "microvm.vms.<name>.pkgs", "Type: null or unspecified value\n\nDefault: pkgs" },
        };
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                _cleanup_free_ char *s = render(DOCS_TEXT, want[i][0], NULL);
                if (!s || !strstr(s, want[i][1]))
                        fail_msg("%s:\n%s\nlacks\n%s", want[i][0], s, want[i][1]);
        }
}

static void prefix_filter_and_guest_options(void **state)
{
        (void)state;
        _cleanup_free_ char *s = render(DOCS_TEXT, "microvm.interfaces", NULL);
        assert_non_null(
                strstr(s, "\nmicrovm.vms.<name>.config.microvm.interfaces.*.macvtap.mode\n"));
        assert_null(strstr(s, "microvm.shares"));
        _cleanup_free_ char *full =
                render(DOCS_TEXT, "microvm.vms.<name>.config.microvm.vcpu", NULL);
        _cleanup_free_ char *brief = render(DOCS_TEXT, "microvm.vcpu", NULL);
        assert_string_equal(full, brief);
}

static void json_is_valid_and_complete(void **state)
{
        (void)state;
        _cleanup_free_ char *s = render(DOCS_JSON, NULL, NULL);
        struct source_set set = { 0 };
        struct value *v = NULL;
        struct mv_error *err = NULL;
        if (json_parse(source_add_text(&set, "options.json", s), &v, &err) < 0)
                fail_msg("options JSON does not parse: %s", err->msg);
        struct attr *a = value_attrs_get(v, "microvm.host.useNotifySockets");
        assert_non_null(a);
        assert_string_equal(value_attrs_get(a->value, "type")->value->str, "boolean");
        assert_string_equal(
                value_attrs_get(value_attrs_get(a->value, "default")->value, "text")->value->str,
                "false");
        assert_non_null(value_attrs_get(v, "microvm.vms.<name>.config.microvm.shares.*.tag"));
        assert_non_null(value_attrs_get(v, "microvm.virtiofsd.extraArgs"));
        value_free(v);
        source_set_free(&set);
}

static void man_page(void **state)
{
        (void)state;
        _cleanup_free_ char *s = render(DOCS_MAN, NULL, NULL);
        assert_memory_equal(s, ".TH MICROVM-OPTIONS 5", 20);
        assert_non_null(strstr(s, ".B microvm.stateDir\n"));
        assert_non_null(strstr(s, "\\-"));
}

static void unknown_filter_suggests(void **state)
{
        (void)state;
        struct mv_error *err = NULL;
        assert_null(render(DOCS_TEXT, "microvm.stateDri", &err));
        assert_string_equal(err->msg, "unknown option microvm.stateDri; did you mean "
                                      "microvm.stateDir?");
        assert_int_equal(mv_error_exit_status(err), 2);
        mv_error_free(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(text_layout),
                cmocka_unit_test(seed_types_and_defaults),
                cmocka_unit_test(prefix_filter_and_guest_options),
                cmocka_unit_test(json_is_valid_and_complete),
                cmocka_unit_test(man_page),
                cmocka_unit_test(unknown_filter_suggests),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
