#include "vm-helpers.h"

#include "config/value-get.h"
#include "host/virtiofsd.h"
#include "util/cleanup.h"
#include "util/strv.h"

static void flavour_from_help(void **state)
{
        (void)state;
        assert_int_equal(virtiofsd_flavour_from_help("  --shared-dir <dir>  Shared directory"),
                         VIRTIOFSD_RUST);
        assert_int_equal(virtiofsd_flavour_from_help("    -o source=PATH  shared directory tree"),
                         VIRTIOFSD_C);
}

/* The installed virtiofsd (Debian's, from qemu) is found and recognised. */
static void finds_the_installed_one(void **state)
{
        (void)state;
        struct virtiofsd v = { 0 };
        _cleanup_error_ struct mv_error *err = NULL;
        if (access("/usr/lib/qemu/virtiofsd", X_OK) != 0)
                skip();
        assert_int_equal(virtiofsd_find(NULL, &v, &err), 0);
        assert_non_null(v.path);
        virtiofsd_done(&v);
        assert_true(virtiofsd_find("/nonexistent/virtiofsd", &v, &err) < 0);
        assert_non_null(strstr(err->msg, "microvm.virtiofsd.package"));
}

struct share_case {
        struct host_config cfg;
        struct virtiofsd_settings s;
        const struct value *share;
};

static void load_share(const char *share, const char *host_extra, struct share_case *c)
{
        char *dir = scratch_dir_new();
        _cleanup_free_ char *body = xasprintf(
                "%s microvm.vms.w.config.microvm.virtiofsd.extraArgs = [ \"--g\" ]; "
                "microvm.vms.w.config.microvm.virtiofsd.group = \"root\"; "
                "microvm.vms.w.config.microvm.shares = [ { tag = \"t\"; source = \"/srv\"; "
                "mountPoint = \"/m\"; proto = \"virtiofs\"; %s } ];",
                host_extra, share);
        load_host(dir, body, &c->cfg);
        scratch_dir_remove(dir);
        const struct value *guest = value_lookup(c->cfg.root, "microvm.vms.w.config");
        virtiofsd_settings(value_lookup(c->cfg.root, "microvm.virtiofsd"), guest, &c->s);
        c->share = vget_list(guest, "microvm.shares")->items[0];
}

static void share_case_done(struct share_case *c)
{
        virtiofsd_settings_done(&c->s);
        host_config_free(&c->cfg);
}

static void rust_flags_as_microvm_nix(void **state)
{
        (void)state;
        struct share_case c;
        load_share("readOnly = true; cache = \"metadata\"; extraArgs = [ \"--a --b\" ];",
                   "microvm.virtiofsd.threadPoolSize = 3; microvm.virtiofsd.extraArgs = [ "
                   "\"--h\" ]; microvm.virtiofsd.inodeFileHandles = \"prefer\";",
                   &c);
        struct virtiofsd v = { .path = (char *)"/bin/virtiofsd", .flavour = VIRTIOFSD_RUST };
        char **argv = NULL;
        assert_int_equal(virtiofsd_argv(&v, &c.s, "w", false, c.share, "/st/w", true, &argv, NULL),
                         0);
        _cleanup_free_ char *line = strv_join(argv, " ");
        assert_string_equal(line, "/bin/virtiofsd --fd=3 --shared-dir=/srv --rlimit-nofile 1048576 "
                                  "--thread-pool-size 3 --posix-acl --xattr --cache=metadata "
                                  "--inode-file-handles=prefer --readonly --h --g --a --b");
        strv_free(argv);
        share_case_done(&c);
}

static void c_flags_translated(void **state)
{
        (void)state;
        struct share_case c;
        load_share("cache = \"never\"; posixAcl = false;", "", &c);
        struct virtiofsd v = { .path = (char *)"/q/virtiofsd", .flavour = VIRTIOFSD_C };
        char **argv = NULL;
        assert_int_equal(virtiofsd_argv(&v, &c.s, "w", false, c.share, "/st/w", false, &argv, NULL),
                         0);
        _cleanup_free_ char *line = strv_join(argv, "|");
        _cleanup_free_ char *want = xasprintf("/q/virtiofsd|--fd=3|-o|source=/srv|"
                                              "--thread-pool-size=%ld|-o|cache=none|--g",
                                              sysconf(_SC_NPROCESSORS_ONLN));
        assert_string_equal(line, want);
        strv_free(argv);
        share_case_done(&c);
}

/* crosvm's vhost-user-fs needs the tag; the C virtiofsd has no such flag. */
static void tag_for_crosvm(void **state)
{
        (void)state;
        struct share_case c;
        load_share("", "", &c);
        struct virtiofsd rust = { .path = (char *)"/v", .flavour = VIRTIOFSD_RUST };
        struct virtiofsd cv = { .path = (char *)"/q", .flavour = VIRTIOFSD_C };
        char **argv = NULL;
        assert_int_equal(
                virtiofsd_argv(&rust, &c.s, "w", true, c.share, "/st/w", false, &argv, NULL), 0);
        assert_true(strv_contains(argv, "--tag=t"));
        strv_free(argv);
        argv = NULL;
        _cleanup_error_ struct mv_error *err = NULL;
        assert_true(virtiofsd_argv(&cv, &c.s, "w", true, c.share, "/st/w", false, &argv, &err) < 0);
        share_case_done(&c);
}

static void c_flavour_refuses_what_it_cannot_do(void **state)
{
        (void)state;
        const char *shares[] = { "readOnly = true;", "cache = \"metadata\";" };
        for (size_t i = 0; i < ELEMENTSOF(shares); i++) {
                struct share_case c;
                load_share(shares[i], "", &c);
                struct virtiofsd v = { .path = (char *)"/q", .flavour = VIRTIOFSD_C };
                char **argv = NULL;
                _cleanup_error_ struct mv_error *err = NULL;
                assert_true(virtiofsd_argv(&v, &c.s, "w", false, c.share, "/st/w", false, &argv,
                                           &err) < 0);
                assert_non_null(strstr(err->msg, "cannot be expressed for the installed C "
                                                 "virtiofsd"));
                assert_non_null(err->hint);
                assert_int_equal(mv_error_exit_status(err), 2);
                share_case_done(&c);
        }
}

/*
 * The C virtiofsd has no file handles: "never" and "prefer" are honoured
 * without the flag (upstream's default is "prefer"); "mandatory" cannot be.
 */
static void c_flavour_falls_back_from_preferred_file_handles(void **state)
{
        (void)state;
        const char *modes[] = { "never", "prefer", "mandatory" };
        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                _cleanup_free_ char *host =
                        xasprintf("microvm.virtiofsd.inodeFileHandles = \"%s\";", modes[i]);
                struct share_case c;
                load_share("", host, &c);
                struct virtiofsd v = { .path = (char *)"/q", .flavour = VIRTIOFSD_C };
                _cleanup_strv_free_ char **argv = NULL;
                _cleanup_error_ struct mv_error *err = NULL;
                int r = virtiofsd_argv(&v, &c.s, "w", false, c.share, "/st/w", false, &argv, &err);
                if (strcmp(modes[i], "mandatory") == 0) {
                        assert_true(r < 0);
                        assert_non_null(strstr(err->msg, "inodeFileHandles = \"mandatory\""));
                } else {
                        assert_int_equal(r, 0);
                        for (size_t k = 0; argv[k]; k++)
                                assert_null(strstr(argv[k], "inode-file-handles"));
                }
                share_case_done(&c);
        }
}

/* A relative source is relative to the VM's directory, and passed absolute. */
static void relative_source(void **state)
{
        (void)state;
        struct share_case c;
        load_share("", "", &c);
        struct value *src = (struct value *)value_lookup(c.share, "source");
        src->str = (char *)"data/files";
        src->len = strlen(src->str);
        struct virtiofsd v = { .path = (char *)"/v", .flavour = VIRTIOFSD_RUST };
        char **argv = NULL;
        assert_int_equal(virtiofsd_argv(&v, &c.s, "w", false, c.share, "/st/w", false, &argv, NULL),
                         0);
        assert_true(strv_contains(argv, "--shared-dir=/st/w/data/files"));
        strv_free(argv);
        share_case_done(&c);
}

/* virtiofsd refuses to start for a group that does not exist: it is left out. */
static void missing_group_is_left_out(void **state)
{
        (void)state;
        char *dir = scratch_dir_new();
        struct host_config cfg;
        load_host(dir, "microvm.vms.w.config.microvm.virtiofsd.group = \"no-such-group-x\";", &cfg);
        struct virtiofsd_settings s;
        virtiofsd_settings(value_lookup(cfg.root, "microvm.virtiofsd"),
                           value_lookup(cfg.root, "microvm.vms.w.config"), &s);
        assert_null(s.group);
        virtiofsd_settings_done(&s);
        host_config_free(&cfg);
        scratch_dir_remove(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(flavour_from_help),
                cmocka_unit_test(finds_the_installed_one),
                cmocka_unit_test(rust_flags_as_microvm_nix),
                cmocka_unit_test(c_flags_translated),
                cmocka_unit_test(tag_for_crosvm),
                cmocka_unit_test(c_flavour_refuses_what_it_cannot_do),
                cmocka_unit_test(c_flavour_falls_back_from_preferred_file_handles),
                cmocka_unit_test(missing_group_is_left_out),
                cmocka_unit_test(relative_source),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
