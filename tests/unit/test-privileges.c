#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>

#include "host/privileges.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/xalloc.h"

static struct passwd microvm_user = { .pw_name = "microvm", .pw_uid = 990, .pw_gid = 991 };
static struct group kvm_group = { .gr_name = "kvm", .gr_gid = 992 };

static struct run_as_facts root_facts(void)
{
        return (struct run_as_facts){
                .euid = 0,
                .egid = 0,
                .caller_user = "root",
                .caller_group = "root",
                .user = &microvm_user,
                .group = &kvm_group,
                .cap_sys_resource = true,
                .memlock = { 8 << 20, 8 << 20 },
        };
}

/* The group is kvm, not the user's primary group: microvm.nix's Group=kvm. */
static void root_with_user_and_group_switches(void **state)
{
        (void)state;
        struct run_as_facts f = root_facts();
        struct run_as id;
        run_as_decide(&f, &id);
        assert_true(id.switch_ids);
        assert_int_equal(id.uid, 990);
        assert_int_equal(id.gid, 992);
        assert_string_equal(id.user, "microvm");
        assert_string_equal(id.group, "kvm");
        assert_null(id.reason);
        assert_true(id.set_memlock);
        assert_true(id.memlock.rlim_cur == RLIM_INFINITY && id.memlock.rlim_max == RLIM_INFINITY);
        assert_null(id.memlock_note);
        run_as_done(&id);
}

static void missing_user_or_group_keeps_root(void **state)
{
        (void)state;
        struct {
                bool user, group;
                const char *reason;
        } cases[] = {
                { false, true, "there is no user microvm" },
                { true, false, "there is no group kvm" },
                { false, false, "there is no user microvm and no group kvm" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct run_as_facts f = root_facts();
                f.user = cases[i].user ? &microvm_user : NULL;
                f.group = cases[i].group ? &kvm_group : NULL;
                struct run_as id;
                run_as_decide(&f, &id);
                assert_false(id.switch_ids);
                assert_int_equal(id.uid, 0);
                assert_string_equal(id.user, "root");
                assert_string_equal(id.reason, cases[i].reason);
                /* microvm.nix's unit raises it whoever the hypervisor runs as. */
                assert_true(id.set_memlock && id.memlock.rlim_max == RLIM_INFINITY);
                run_as_done(&id);
        }
}

static void not_root_runs_as_the_caller(void **state)
{
        (void)state;
        struct run_as_facts f = root_facts();
        f.euid = 1000;
        f.egid = 1001;
        f.caller_user = "alice";
        f.caller_group = NULL; /* a group without a name */
        struct run_as id;
        run_as_decide(&f, &id);
        assert_false(id.switch_ids);
        assert_string_equal(id.user, "alice");
        assert_string_equal(id.group, "1001");
        assert_string_equal(id.reason, "not started as root");
        assert_false(id.set_memlock); /* raising it needs root */
        run_as_done(&id);
}

/* qemu's -run-with user= switches by itself, and needs root to. */
static void guest_user_leaves_the_switch_to_qemu(void **state)
{
        (void)state;
        struct run_as_facts f = root_facts();
        f.guest_user = "alice";
        struct run_as id;
        run_as_decide(&f, &id);
        assert_false(id.switch_ids);
        assert_string_equal(id.user, "root");
        assert_non_null(strstr(id.reason, "microvm.user is set"));
        run_as_done(&id);
}

static void memlock_without_cap_sys_resource(void **state)
{
        (void)state;
        struct run_as_facts f = root_facts();
        f.cap_sys_resource = false;
        f.memlock = (struct rlimit){ 4096, 8192 };
        struct run_as id;
        run_as_decide(&f, &id);
        assert_true(id.set_memlock);
        assert_int_equal(id.memlock.rlim_cur, 8192);
        assert_int_equal(id.memlock.rlim_max, 8192);
        assert_non_null(strstr(id.memlock_note, "CAP_SYS_RESOURCE"));
        run_as_done(&id);

        /* An unlimited hard limit needs no capability to be reached. */
        f.memlock = (struct rlimit){ 4096, RLIM_INFINITY };
        run_as_decide(&f, &id);
        assert_true(id.memlock.rlim_cur == RLIM_INFINITY);
        assert_null(id.memlock_note);
        run_as_done(&id);
}

static void nofile_is_raised_as_far_as_allowed(void **state)
{
        (void)state;
        /* Without the capability: the soft limit up to the hard one. */
        struct rlimit r = service_nofile_decide((struct rlimit){ 1024, 4096 }, false);
        assert_int_equal(r.rlim_cur, 4096);
        assert_int_equal(r.rlim_max, 4096);
        r = service_nofile_decide((struct rlimit){ 1024, 2 * SERVICE_NOFILE }, false);
        assert_int_equal(r.rlim_cur, SERVICE_NOFILE);
        assert_int_equal(r.rlim_max, 2 * SERVICE_NOFILE);
        /* With it: both to SERVICE_NOFILE. */
        r = service_nofile_decide((struct rlimit){ 1024, 4096 }, true);
        assert_int_equal(r.rlim_cur, SERVICE_NOFILE);
        assert_int_equal(r.rlim_max, SERVICE_NOFILE);
        /* Never lowered. */
        r = service_nofile_decide((struct rlimit){ 4 * SERVICE_NOFILE, RLIM_INFINITY }, true);
        assert_int_equal(r.rlim_cur, 4 * SERVICE_NOFILE);
        assert_true(r.rlim_max == RLIM_INFINITY);
        r = service_nofile_decide((struct rlimit){ 1024, RLIM_INFINITY }, false);
        assert_int_equal(r.rlim_cur, SERVICE_NOFILE);
}

/* The facts of this very process: whatever they are, the decision follows them. */
static void resolve_reads_this_process(void **state)
{
        (void)state;
        struct run_as id;
        run_as_resolve(NULL, &id);
        bool exists = getpwnam(RUN_AS_USER) && getgrnam(RUN_AS_GROUP);
        assert_int_equal(id.switch_ids, geteuid() == 0 && exists);
        if (!id.switch_ids)
                assert_int_equal(id.uid, geteuid());
        assert_int_equal(id.set_memlock, geteuid() == 0);
        run_as_done(&id);
}

static void capability_matches_proc_status(void **state)
{
        (void)state;
        FILE *f = fopen("/proc/self/status", "re");
        assert_non_null(f);
        char line[256];
        unsigned long long eff = 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "CapEff: %llx", &eff) == 1)
                        break;
        fclose(f);
        assert_int_equal(capability_effective(CAP_SYS_RESOURCE), (eff >> CAP_SYS_RESOURCE) & 1);
        assert_int_equal(capability_effective(CAP_CHOWN), (eff >> CAP_CHOWN) & 1);
        assert_false(capability_effective(-1));
}

/*
 * As root: a file only its owner may read, checked as another user, is
 * refused; relative paths are taken from the directory given.
 */
static void access_is_checked_as_the_identity(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        char *dir = scratch_dir_new();
        _cleanup_free_ char *secret = xasprintf("%s/secret", dir);
        _cleanup_free_ char *open_file = xasprintf("%s/open", dir);
        close(open(secret, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        close(open(open_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        chmod(dir, 0755);

        struct run_as id = {
                .switch_ids = true, .uid = 4242, .gid = 4243, .user = "u", .group = "g"
        };
        const char *paths[] = { secret, "open", "open", "/nonexistent" };
        int modes[] = { R_OK, R_OK, R_OK | W_OK, R_OK };
        int results[4] = { -1, -1, -1, -1 };
        _cleanup_error_ struct mv_error *err = NULL;
        assert_int_equal(run_as_access(&id, dir, paths, modes, 4, results, &err), 0);
        assert_int_equal(results[0], EACCES);
        assert_int_equal(results[1], 0);
        assert_int_equal(results[2], EACCES);
        assert_int_equal(results[3], ENOENT);

        /* Without a switch the check runs as root. */
        id.switch_ids = false;
        assert_int_equal(run_as_access(&id, dir, paths, modes, 4, results, &err), 0);
        assert_int_equal(results[0], 0);
        assert_int_equal(results[2], 0);
        scratch_dir_remove(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(root_with_user_and_group_switches),
                cmocka_unit_test(missing_user_or_group_keeps_root),
                cmocka_unit_test(not_root_runs_as_the_caller),
                cmocka_unit_test(guest_user_leaves_the_switch_to_qemu),
                cmocka_unit_test(memlock_without_cap_sys_resource),
                cmocka_unit_test(nofile_is_raised_as_far_as_allowed),
                cmocka_unit_test(resolve_reads_this_process),
                cmocka_unit_test(capability_matches_proc_status),
                cmocka_unit_test(access_is_checked_as_the_identity),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
