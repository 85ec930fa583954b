/* The option tables themselves: every default valid for its type, every option documented. */
#include "config-helpers.h"

#include "config/schema-tree.h"
#include "config/schema.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const struct type *submodule_inside(const struct type *t)
{
        while (t->kind == TYPE_NULL_OR || t->kind == TYPE_LIST_OF || t->kind == TYPE_ATTRS_OF)
                t = t->inner;
        return t->kind == TYPE_SUBMODULE ? t : NULL;
}

static size_t check_table(const struct type *module, const char *prefix)
{
        size_t checked = 0;
        _cleanup_strv_free_ char **seen = NULL;
        struct merge_ctx ctx = { .sources = xcalloc(1, sizeof(struct source_set)), .name = "test" };

        for (const struct mv_option *o = module->options; o->name; o++, checked++) {
                _cleanup_free_ char *full = xasprintf("%s%s", prefix, o->name);
                if (strv_contains(seen, o->name))
                        fail_msg("%s is declared twice", full);
                strv_push(&seen, o->name);
                if (!o->description || !*o->description)
                        fail_msg("%s has no description", full);
                if (!o->declared_by)
                        fail_msg("%s does not say where it is declared", full);
                if (o->default_nix && o->default_fn)
                        fail_msg("%s has two defaults", full);

                struct value *d = schema_option_default(&ctx, o);
                if (d) {
                        struct mv_error *err = NULL;
                        struct value *out = NULL;
                        struct opt_path at = { .segment = full };
                        if (merge_type(&ctx, o->type, &at, &d, 1, &out, &err) < 0)
                                fail_msg("default of %s does not fit its type: %s", full, err->msg);
                        value_free(out);
                } else if (!o->default_fn && !(o->flags & OPTION_OMIT_DEFAULT)) {
                        /* Required: fine only inside list items (an interface's id, ...). */
                        if (!strstr(prefix, "*"))
                                fail_msg("%s has no default and is not marked as omitted", full);
                }
                const struct type *sub = submodule_inside(o->type);
                if (sub && sub != &schema_guest) {
                        _cleanup_free_ char *p = xasprintf("%s%s.*.", prefix, o->name);
                        checked += check_table(sub, p);
                }
        }
        merge_ctx_free(&ctx);
        free(ctx.sources);
        return checked;
}

static void tables_are_sound(void **state)
{
        (void)state;
        assert_true(check_table(&schema_host, "") >= 18);
        assert_true(check_table(&schema_guest, "") >= 100);
}

static void seed_host_options_exist(void **state)
{
        (void)state;
        const char *seed[] = {
                "microvm.autostart",
                "microvm.host.enable",
                "microvm.host.tapScript",
                "microvm.host.useNotifySockets",
                "microvm.stateDir",
                "microvm.virtiofsd.extraArgs",
                "microvm.virtiofsd.inodeFileHandles",
                "microvm.virtiofsd.threadPoolSize",
                "microvm.vms",
        };
        const struct schema_node *root = schema_tree_for(&schema_host);
        for (size_t i = 0; i < sizeof(seed) / sizeof(seed[0]); i++) {
                _cleanup_strv_free_ char **segs = NULL;
                size_t n = option_name_split(seed[i], &segs);
                const struct schema_node *node = root;
                for (size_t j = 0; j < n && node; j++)
                        node = schema_node_child(node, segs[j]);
                if (!node || !node->option)
                        fail_msg("%s missing from the host schema", seed[i]);
        }
        const char *vm[] = { "autostart", "config",           "flake",       "nixpkgs",
                             "pkgs",      "restartIfChanged", "specialArgs", "updateFlake" };
        const struct schema_node *vmroot = schema_tree_for(&schema_vm);
        for (size_t i = 0; i < sizeof(vm) / sizeof(vm[0]); i++)
                assert_non_null(schema_node_child(vmroot, vm[i]));
}

static void guest_hypervisors(void **state)
{
        (void)state;
        const struct schema_node *root = schema_tree_for(&schema_guest);
        const struct schema_node *mv = schema_node_child(root, "microvm");
        const struct schema_node *h = schema_node_child(mv, "hypervisor");
        assert_non_null(h);
        _cleanup_free_ char *d = type_describe(h->option->type);
        assert_string_equal(d, "one of \"qemu\", \"cloud-hypervisor\", \"firecracker\", "
                               "\"crosvm\", \"kvmtool\", \"stratovirt\", \"alioth\", \"vfkit\"");
        /* networking.hostName is merged first: other defaults read it. */
        assert_string_equal(root->children[0]->segment, "networking");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(tables_are_sound),
                cmocka_unit_test(seed_host_options_exist),
                cmocka_unit_test(guest_hypervisors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
