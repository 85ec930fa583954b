/*
 * Golden command lines: for each case under tests/cases/ (derived from
 * microvm.nix's own runners, see tests/cases/generate/README.md), the
 * backend of the case's hypervisor must build exactly the expected argv.
 * Usage: test-hypervisor-golden CASES_DIR
 */
#include "test-helpers.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include "config/host-config.h"
#include "config/json-read.h"
#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const char *cases_dir;

static struct value *read_json(struct source_set *set, const char *path)
{
        struct source *src = NULL;
        struct value *v = NULL;
        struct mv_error *err = NULL;
        if (source_load(set, path, 0, &src, &err) < 0 || json_parse(src, &v, &err) < 0) {
                fail_msg("%s", err->msg);
                abort();
        }
        return v;
}

/* Interface indices as the case fixes them (a macvtap's /dev/tapN). */
static int case_ifindex(const char *name, void *data)
{
        _cleanup_free_ char *path = xasprintf("ifindex.\"%s\"", name);
        return (int)vget_int(data, path, -1);
}

/* A host where KVM cannot run guests ("kvmUsable": false in env.json). */
static bool kvm_unusable(const struct hv_vm *vm)
{
        (void)vm;
        return false;
}

static void run_case(void **state)
{
        const char *name = *state;
        /* On the stack: skip() leaves by longjmp, past any cleanup. */
        char dir[PATH_MAX], host_path[PATH_MAX + 32], env_path[PATH_MAX + 32],
                want_path[PATH_MAX + 32];
        snprintf(dir, sizeof(dir), "%s/%s", cases_dir, name);
        snprintf(host_path, sizeof(host_path), "%s/host.json", dir);
        snprintf(env_path, sizeof(env_path), "%s/env.json", dir);
        snprintf(want_path, sizeof(want_path), "%s/expected-argv.json", dir);
        struct source_set set = { 0 };
        struct host_config cfg;
        struct mv_error *err = NULL;

        if (host_config_load(host_path, &cfg, &err) < 0)
                fail_msg("%s: %s", host_path, err->msg);
        const struct value *guest = value_lookup(cfg.root, "microvm.vms.vm1.config");
        const char *hv = vget_str(guest, "microvm.hypervisor");
        const struct hypervisor_ops *ops = hypervisor_find(hv);
        if (!ops || !ops->build) {
                host_config_free(&cfg);
                skip(); /* backend not written yet */
        }

        struct value *env = read_json(&set, env_path);
        _cleanup_free_ char *pkg = xasprintf("microvm.%s.package", hv);
        struct hv_vm vm = {
                .name = "vm1",
                .guest = guest,
                .binary = vget_str(guest, pkg),
                .runner_dir = "@RUNNER@",
                .env = {
                        .arch = vget_str(env, "arch"),
                        .netcat = vget_str(env, "netcat"),
                        .bridge_helper = vget_str(env, "bridgeHelper"),
                        .seccomp = vget_bool(env, "seccomp", false),
                        .unbuffer = vget_str(env, "unbuffer"),
                        .version = vget_str(env, "hypervisorVersion"),
                        .ifindex = case_ifindex,
                        .ifindex_data = env,
                        .kvm_usable = vget_bool(env, "kvmUsable", true) ? NULL : kvm_unusable,
                },
        };
        struct hv_command cmd = { 0 };
        if (ops->build(&vm, &cmd, &err) < 0)
                fail_msg("%s: %s", name, err->msg);

        struct value *want = read_json(&set, want_path);
        size_t n = strv_length(cmd.argv);
        for (size_t i = 0; i < n || i < want->n_items; i++) {
                const char *got = i < n ? cmd.argv[i] : "(end)";
                const char *exp = i < want->n_items ? want->items[i]->str : "(end)";
                if (strcmp(got, exp) != 0)
                        fail_msg("%s: argv[%zu] is\n  %s\nexpected\n  %s", name, i, got, exp);
        }

        /* Files the command line names (firecracker's configuration), byte for byte. */
        _cleanup_free_ char *files_path = xasprintf("%s/expected-files.json", dir);
        struct stat st;
        struct value *files = stat(files_path, &st) == 0 ? read_json(&set, files_path) : NULL;
        size_t nf = strv_length(cmd.file_names);
        if (nf != (files ? files->n_attrs : 0))
                fail_msg("%s: %zu files written, %zu expected", name, nf,
                         files ? files->n_attrs : 0);
        for (size_t i = 0; i < nf; i++) {
                struct attr *a = value_attrs_get(files, cmd.file_names[i]);
                if (!a)
                        fail_msg("%s: unexpected file %s", name, cmd.file_names[i]);
                if (strcmp(a->value->str, cmd.file_contents[i]) != 0)
                        fail_msg("%s: %s is\n%s\nexpected\n%s", name, cmd.file_names[i],
                                 cmd.file_contents[i], a->value->str);
        }
        value_free(files);
        hv_command_free(&cmd);
        value_free(env);
        value_free(want);
        source_set_free(&set);
        host_config_free(&cfg);
}

static int case_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: %s CASES_DIR\n", argv[0]);
                return 2;
        }
        cases_dir = argv[1];
        _cleanup_closedir_ DIR *d = opendir(cases_dir);
        if (!d) {
                perror(cases_dir);
                return 1;
        }
        char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p =
                        xasprintf("%s/%s/expected-argv.json", cases_dir, de->d_name);
                struct stat st;
                if (stat(p, &st) == 0)
                        strv_push(&names, de->d_name);
        }
        size_t n = strv_length(names);
        if (n == 0) {
                fprintf(stderr, "no cases in %s\n", cases_dir);
                return 1;
        }
        qsort(names, n, sizeof(*names), case_cmp);
        struct CMUnitTest *tests = xcalloc(n, sizeof(*tests));
        for (size_t i = 0; i < n; i++)
                tests[i] = (struct CMUnitTest){ .name = names[i],
                                                .test_func = run_case,
                                                .initial_state = names[i] };
        int r = _cmocka_run_group_tests("hypervisor-golden", tests, n, NULL, NULL);
        free(tests);
        strv_free(names);
        return r;
}
