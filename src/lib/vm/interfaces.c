#include "vm/interfaces.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/macvtap.h"
#include "host/netlink.h"
#include "host/tap.h"
#include "util/accounts.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/plan.h"

#define DEFAULT_TAP_SCRIPT "ip link set \"$id\" up\n"

/* The user's tapScript, with the interface in $id; never interpolated into the script. */
static int run_tap_script(const char *script, const char *id, struct child_waiter *w,
                          struct mv_error **err)
{
        _cleanup_strv_free_ char **env = NULL;
        const char *path = getenv("PATH");
        strv_pushf(&env, "PATH=%s",
                   path ? path
                        : "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                          "/usr/bin:/sbin:/bin");
        strv_pushf(&env, "id=%s", id);
        char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)script, NULL };
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.envp = env;
        o.stdin_fd = SPAWN_FD_NULL;
        int status;
        int r = spawn_run(&o, w, -1, &status, NULL, err);
        if (r < 0)
                return mv_error_wrap(err, "tapScript for %s", id);
        if (status != 0)
                return mv_error_fail(err, "tapScript for %s exited with status %d", id, status);
        return 0;
}

/* microvm.nix's units hand interfaces to the VM's user and the kvm group; only root can. */
static void owner_ids(const char *user, uid_t *uid, gid_t *gid)
{
        struct account u, g;
        bool root = geteuid() == 0;
        *uid = root && account_user_by_name(user, &u) ? u.id : (uid_t)-1;
        *gid = root && account_group_by_name("kvm", &g) ? g.id : (gid_t)-1;
}

static void record(struct vm_interfaces *ifs, const char *ifname, bool macvtap, bool mq)
{
        ifs->created = xreallocarray(ifs->created, ifs->n_created + 1, sizeof(*ifs->created));
        ifs->created[ifs->n_created++] = (struct vm_interface){ .ifname = xstrdup(ifname),
                                                                .macvtap = macvtap,
                                                                .multi_queue = mq };
}

/* A long id becomes the alternative name of the interface made under its kernel name. */
static int add_altname(const struct plan_interface *it, struct mv_error **err)
{
        if (strcmp(it->id, it->ifname) == 0)
                return 0;
        /* A crash here leaves the interface under its kernel name, which the teardown goes by. */
        fault_point("monitor", "interface made, its alternative name next");
        return netlink_add_altname(it->ifname, it->id, err);
}

static int create_tap(const struct plan_interface *it, struct vm_interfaces *ifs,
                      struct child_waiter *w, struct mv_error **err)
{
        struct tap_options o = { .multi_queue = it->multi_queue };
        owner_ids(it->owner, &o.owner, &o.group);
        int r = tap_create(it->ifname, &o, err);
        if (r < 0)
                return r;
        record(ifs, it->ifname, false, it->multi_queue);
        if ((r = add_altname(it, err)) < 0)
                return r;

        /* The default script only brings the link up: done here, without a shell. */
        if (!it->tap_script)
                return 0;
        /* $id is the kernel name, as in share/microvm/tap-interfaces: every tool takes it. */
        return strcmp(it->tap_script, DEFAULT_TAP_SCRIPT) == 0
                       ? link_set_up(it->ifname, err)
                       : run_tap_script(it->tap_script, it->ifname, w, err);
}

static int create_macvtap(const struct plan_interface *it, struct vm_interfaces *ifs,
                          struct mv_error **err)
{
        struct macvtap_options o = {
                .name = it->ifname,
                .link = it->link,
                .mac = it->mac,
                .mode = it->mode,
        };
        owner_ids(it->owner, &o.owner, &o.group);
        int r = macvtap_create(&o, NULL, err);
        if (r < 0)
                return r;
        record(ifs, o.name, true, false);
        return add_altname(it, err);
}

static const char *why_not_created(const struct vm_plan *plan, const struct plan_interface *it)
{
        enum vm_helper h = it->macvtap ? HELPER_MACVTAPS : HELPER_TAPS;
        if (plan->helpers_off & HELPER_BIT(h))
                return it->macvtap ? "microvm-macvtap-interfaces@ is switched off in host.nix"
                                   : "microvm-tap-interfaces@ is switched off in host.nix";
        return it->macvtap ? "microvm-macvtap-interfaces@ makes it: see its status"
                           : "microvm-tap-interfaces@ makes it: see its status";
}

int vm_interfaces_create(const struct vm_plan *plan, unsigned kinds, struct vm_interfaces *ifs,
                         struct child_waiter *w, struct mv_error **err)
{
        for (size_t i = 0; i < plan->n_interfaces; i++) {
                const struct plan_interface *it = &plan->interfaces[i];
                if (!(kinds & HELPER_BIT(it->macvtap ? HELPER_MACVTAPS : HELPER_TAPS)))
                        continue;
                if (!it->create) {
                        if (link_exists(it->ifname))
                                continue;
                        return mv_error_fail(err,
                                             "interface %s does not exist, and microvm does "
                                             "not create it: %s",
                                             it->ifname, why_not_created(plan, it));
                }
                int r = it->macvtap ? create_macvtap(it, ifs, err) : create_tap(it, ifs, w, err);
                fault_point("monitor", "interface created");
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Where descriptor `n` waits in ifs->fds (as 3 + its index), grown as needed; NULL: out of range. */
static int *fd_slot(struct vm_interfaces *ifs, int n)
{
        if (n < 3 || n > 3 + 4096)
                return NULL;
        size_t slot = (size_t)(n - 3);
        if (slot >= ifs->n_fds) {
                ifs->fds = xreallocarray(ifs->fds, slot + 1, sizeof(int));
                for (size_t k = ifs->n_fds; k <= slot; k++)
                        ifs->fds[k] = -1;
                ifs->n_fds = slot + 1;
        }
        return &ifs->fds[slot];
}

/* One queue, opened as root: a macvtap's /dev/tapN, or /dev/net/tun attached to the tap. */
static int open_queue(const struct plan_interface *it, const char *dev, struct mv_error **err)
{
        if (!it->macvtap)
                return tap_open_queue(it->ifname, it->multi_queue, err);
        int fd = open(dev, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return mv_error_set(err, errno, "open %s (macvtap %s)", dev, it->ifname);
        return fd;
}

static int open_interface_fds(const struct plan_interface *it, struct vm_interfaces *ifs,
                              struct mv_error **err)
{
        if (!it->n_fds)
                return 0; /* the hypervisor opens it by name */
        const char *kind = it->macvtap ? "macvtap" : "tap";
        _cleanup_free_ char *dev = NULL;
        if (it->macvtap) {
                int index = (int)if_nametoindex(it->ifname);
                if (!index)
                        return mv_error_set(err, errno, "macvtap %s", it->ifname);
                dev = macvtap_device_path(index);
        }
        for (size_t q = 0; q < it->n_fds; q++) {
                int *slot = fd_slot(ifs, it->fds[q]);
                if (!slot)
                        return mv_error_fail(err, "%s %s: descriptor %d is out of range", kind,
                                             it->ifname, it->fds[q]);
                /* Each open is one queue of the interface. */
                *slot = open_queue(it, dev, err);
                if (*slot < 0)
                        return *slot;
        }
        return 0;
}

int vm_interfaces_open_fds(const struct vm_plan *plan, struct vm_interfaces *ifs,
                           struct mv_error **err)
{
        for (size_t i = 0; i < plan->n_interfaces; i++) {
                int r = open_interface_fds(&plan->interfaces[i], ifs, err);
                if (r < 0)
                        return r;
        }
        for (size_t k = 0; k < ifs->n_fds; k++)
                if (ifs->fds[k] < 0)
                        return mv_error_fail(err, "no interface is passed as descriptor %zu",
                                             k + 3);
        return 0;
}

void vm_interfaces_close_fds(struct vm_interfaces *ifs)
{
        for (size_t k = 0; k < ifs->n_fds; k++)
                if (ifs->fds[k] >= 0)
                        close(ifs->fds[k]);
        free(ifs->fds);
        ifs->fds = NULL;
        ifs->n_fds = 0;
}

static void remove_one(const char *ifname, bool macvtap, bool mq)
{
        struct mv_error *e = NULL;
        if ((macvtap ? macvtap_delete(ifname, &e) : tap_delete(ifname, mq, &e)) < 0) {
                log_warning("%s", e->msg);
                mv_error_free(&e);
        }
}

void vm_interfaces_remove(struct vm_interfaces *ifs)
{
        vm_interfaces_close_fds(ifs);
        for (size_t i = ifs->n_created; i-- > 0;) {
                remove_one(ifs->created[i].ifname, ifs->created[i].macvtap,
                           ifs->created[i].multi_queue);
                free(ifs->created[i].ifname);
        }
        free(ifs->created);
        *ifs = (struct vm_interfaces){ 0 };
}

/* Each line of a runner's list file: its first word is the interface ("id mac link mode"). */
static void remove_lines_of(const char *path, bool macvtap, bool mq)
{
        _cleanup_free_ char *text = NULL;
        char *save = NULL;
        if (read_file_full(path, &text, NULL, NULL) < 0)
                return;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                line[strcspn(line, " \t")] = '\0';
                if (*line)
                        remove_one(line, macvtap, mq);
        }
}

void vm_interfaces_remove_listed(const char *runner_dir, unsigned kinds)
{
        _cleanup_free_ char *taps = xasprintf("%s/share/microvm/tap-interfaces", runner_dir);
        _cleanup_free_ char *macvtaps =
                xasprintf("%s/share/microvm/macvtap-interfaces", runner_dir);
        _cleanup_free_ char *flags_path = xasprintf("%s/share/microvm/tap-flags", runner_dir);
        _cleanup_free_ char *flags = NULL;
        bool mq =
                read_file_full(flags_path, &flags, NULL, NULL) >= 0 && strstr(flags, "multi_queue");
        if (kinds & HELPER_BIT(HELPER_MACVTAPS))
                remove_lines_of(macvtaps, true, false);
        if (kinds & HELPER_BIT(HELPER_TAPS))
                remove_lines_of(taps, false, mq);
}

void vm_interfaces_forget(struct vm_interfaces *ifs)
{
        vm_interfaces_close_fds(ifs);
        for (size_t i = 0; i < ifs->n_created; i++)
                free(ifs->created[i].ifname);
        free(ifs->created);
        *ifs = (struct vm_interfaces){ 0 };
}

char *vm_interfaces_record(const struct vm_plan *plan, unsigned kinds)
{
        struct strbuf b = { 0 };
        strbuf_puts(&b, "");
        for (size_t i = 0; i < plan->n_interfaces; i++) {
                const struct plan_interface *it = &plan->interfaces[i];
                if (!it->create ||
                    !(kinds & HELPER_BIT(it->macvtap ? HELPER_MACVTAPS : HELPER_TAPS)))
                        continue;
                if (it->macvtap)
                        strbuf_printf(&b, "macvtap %s\n", it->ifname);
                else
                        strbuf_printf(&b, "%s%s\n", it->ifname, it->multi_queue ? " mq" : "");
        }
        return strbuf_take(&b);
}

void vm_interfaces_remove_recorded(const char *record)
{
        _cleanup_free_ char *text = xstrdup(record);
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *second = strchr(line, ' ');
                if (second)
                        *second++ = '\0';
                if (second && strcmp(line, "macvtap") == 0)
                        remove_one(second, true, false);
                else if (*line)
                        remove_one(line, false, second && strcmp(second, "mq") == 0);
        }
}
