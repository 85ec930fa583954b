#include "vm/foreign.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/devices.h"
#include "config/host-config.h"
#include "config/json-read.h"
#include "config/json-write.h"
#include "config/source.h"
#include "config/value-get.h"
#include "host/virtiofsd.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/plan.h"
#include "vm/runner.h"
#include "vm/settings.h"

/* The metadata files are a few lines each; anything larger is not microvm.nix's. */
#define METADATA_MAX (64 * 1024)

/* The file at dir/rel, whole; -ENOENT quietly when it is not there. */
static int read_meta(const char *dir, const char *rel, char **text, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return mv_error_set(err, errno, "read %s", path);
        if (!S_ISREG(st.st_mode))
                return mv_error_fail(err, "%s is not a regular file", path);
        int r = read_fd_full(fd, text, METADATA_MAX, err);
        return r < 0 ? mv_error_wrap(err, "read %s", path) : 0;
}

/* The first line of dir/rel, or NULL with an error. */
static char *first_line(const char *dir, const char *rel, struct mv_error **err)
{
        char *text = NULL;
        int r = read_meta(dir, rel, &text, err);
        if (r == -ENOENT)
                mv_error_fail(err, "%s/%s is missing", dir, rel);
        if (r < 0)
                return NULL;
        text[strcspn(text, "\n")] = '\0';
        return text;
}

bool runner_is_foreign(const char *dir)
{
        _cleanup_free_ char *spec = xasprintf("%s/" RUNNER_SPEC, dir);
        return access(spec, F_OK) < 0 && errno == ENOENT;
}

char *runner_hypervisor(const char *dir)
{
        char *text = NULL;
        if (read_meta(dir, "share/microvm/hypervisor", &text, NULL) >= 0) {
                text[strcspn(text, "\n")] = '\0';
                return text;
        }
        /* "<hash>-microvm-HYPERVISOR-HOSTNAME": the hypervisor may have dashes itself. */
        _cleanup_free_ char *copy = xstrdup(dir);
        const char *base = basename(copy);
        const char *dash = strchr(base, '-');
        if (!dash || strncmp(dash + 1, "microvm-", 8) != 0)
                return NULL;
        const char *rest = dash + 1 + 8;
        for (size_t i = 0; hypervisors[i]; i++) {
                size_t n = strlen(hypervisors[i]->name);
                if (strncmp(rest, hypervisors[i]->name, n) == 0 && rest[n] == '-')
                        return xstrdup(hypervisors[i]->name);
        }
        return NULL;
}

static int bad_line(const char *dir, const char *rel, const char *line, const char *why,
                    struct mv_error **err)
{
        return mv_error_fail(err, "%s/%s: '%s': %s", dir, rel, line, why);
}

static struct plan_interface *new_interface(struct vm_plan *plan, const char *id, bool macvtap)
{
        plan->interfaces =
                xreallocarray(plan->interfaces, plan->n_interfaces + 1, sizeof(*plan->interfaces));
        struct plan_interface *p = &plan->interfaces[plan->n_interfaces++];
        *p = (struct plan_interface){ .id = xstrdup(id),
                                      .ifname = xstrdup(id), /* kernel names: listed so */
                                      .macvtap = macvtap,
                                      .create = plan_creates_interface(plan, macvtap),
                                      .owner = xstrdup(RUN_AS_USER) };
        return p;
}

int foreign_parse_interfaces(struct vm_plan *plan, const struct host_settings *hs, const char *dir,
                             const char *flags, char *taps, char *macvtaps, struct mv_error **err)
{
        bool mq = flags && strstr(flags, "multi_queue");
        for (char *save = NULL, *l = taps ? strtok_r(taps, "\n", &save) : NULL; l;
             l = strtok_r(NULL, "\n", &save)) {
                if (!interface_name_valid(l))
                        return bad_line(dir, "share/microvm/tap-interfaces", l,
                                        "not an interface name", err);
                struct plan_interface *p = new_interface(plan, l, false);
                p->multi_queue = mq;
                p->tap_script = hs->tap_script ? xstrdup(hs->tap_script) : NULL;
        }
        for (char *save = NULL, *l = macvtaps ? strtok_r(macvtaps, "\n", &save) : NULL; l;
             l = strtok_r(NULL, "\n", &save)) {
                _cleanup_free_ char *shown = xstrdup(l);
                char *w[5] = { 0 }, *wsave = NULL;
                size_t n = 0;
                for (char *t = strtok_r(l, " ", &wsave); t && n < 5;
                     t = strtok_r(NULL, " ", &wsave))
                        w[n++] = t;
                if (n != 4 || !interface_name_valid(w[0]) || !interface_name_valid(w[2]))
                        return bad_line(dir, "share/microvm/macvtap-interfaces", shown,
                                        "not \"ID MAC LINK MODE\"", err);
                struct plan_interface *p = new_interface(plan, w[0], true);
                p->mac = xstrdup(w[1]);
                p->link = xstrdup(w[2]);
                p->mode = xstrdup(w[3]);
        }
        return 0;
}

/* tap-interfaces (one name per line, tap-flags for all) and macvtap-interfaces. */
static int interfaces(struct vm_plan *plan, const struct host_settings *hs, const char *dir,
                      struct mv_error **err)
{
        _cleanup_free_ char *flags = NULL, *taps = NULL, *macvtaps = NULL;
        static const char *const files[] = { "share/microvm/tap-flags",
                                             "share/microvm/tap-interfaces",
                                             "share/microvm/macvtap-interfaces" };
        char **texts[] = { &flags, &taps, &macvtaps };
        for (size_t i = 0; i < 3; i++) {
                int r = read_meta(dir, files[i], texts[i], err);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return foreign_parse_interfaces(plan, hs, dir, flags, taps, macvtaps, err);
}

/*
 * Today's microvm.nix runners create their interfaces with bin/tap-up and
 * bin/macvtap-up (and whatever lines the guest's binScripts added, such as
 * joining a bridge) and remove them with the -down scripts: run as its
 * units run them. The interfaces they make are only checked, not created.
 */
static void interface_scripts(struct vm_plan *plan, const char *dir)
{
        static const struct {
                enum plan_snippet which;
                const char *bin;
        } scripts[] = {
                { SNIPPET_TAP_UP, "bin/tap-up" },
                { SNIPPET_TAP_DOWN, "bin/tap-down" },
                { SNIPPET_MACVTAP_UP, "bin/macvtap-up" },
                { SNIPPET_MACVTAP_DOWN, "bin/macvtap-down" },
        };
        for (size_t i = 0; i < ELEMENTSOF(scripts); i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", dir, scripts[i].bin);
                if (access(path, X_OK) == 0)
                        plan->snippet_programs[scripts[i].which] = TAKE_PTR(path);
        }
        bool taps = plan->snippet_programs[SNIPPET_TAP_UP] != NULL;
        bool macvtaps = plan->snippet_programs[SNIPPET_MACVTAP_UP] != NULL;
        for (size_t i = 0; i < plan->n_interfaces; i++) {
                struct plan_interface *it = &plan->interfaces[i];
                if (it->macvtap ? !macvtaps : !taps)
                        continue;
                it->create = false;
                free(TAKE_PTR(it->tap_script));
        }
}

/*
 * A share as the guest options would have it, for virtiofsd_argv: what
 * microvm.nix's host runs virtiofsd with for every share of such a runner
 * (posix ACLs and xattrs, virtiofsd's default cache).
 */
static struct value *share_value(const char *tag, const char *socket, const char *source,
                                 struct source_set *set, struct mv_error **err)
{
        struct strbuf b = { 0 };
        strbuf_puts(&b, "{\"cache\":\"auto\",\"posixAcl\":true,\"proto\":\"virtiofs\",\"tag\":");
        json_write_string(&b, tag, strlen(tag));
        strbuf_puts(&b, ",\"socket\":");
        json_write_string(&b, socket, strlen(socket));
        strbuf_puts(&b, ",\"source\":");
        json_write_string(&b, source, strlen(source));
        strbuf_putc(&b, '}');
        _cleanup_free_ char *json = strbuf_take(&b);
        struct value *v = NULL;
        return json_parse(source_add_text(set, "(share)", json), &v, err) < 0 ? NULL : v;
}

/* The host's microvm.virtiofsd settings, as the start was handed them. */
static struct value *host_virtiofsd(const struct host_settings *hs, struct source_set *set)
{
        struct value *v = NULL;
        if (hs->virtiofsd_json &&
            json_parse(source_add_text(set, "(virtiofsd)", hs->virtiofsd_json), &v, NULL) < 0)
                v = NULL;
        return v;
}

static int one_share(struct vm_plan *plan, const char *dir, const char *tag,
                     const struct virtiofsd *vfs, const struct virtiofsd_settings *settings,
                     struct source_set *set, struct mv_error **err)
{
        _cleanup_free_ char *sock_rel = xasprintf("share/microvm/virtiofs/%s/socket", tag);
        _cleanup_free_ char *src_rel = xasprintf("share/microvm/virtiofs/%s/source", tag);
        _cleanup_free_ char *socket = first_line(dir, sock_rel, err);
        _cleanup_free_ char *source = socket ? first_line(dir, src_rel, err) : NULL;
        if (!source)
                return mv_error_return(*err);
        if (!socket[0] || !source[0])
                return mv_error_fail(err, "%s/share/microvm/virtiofs/%s: an empty socket or source",
                                     dir, tag);
        _cleanup_value_ struct value *share = share_value(tag, socket, source, set, err);
        if (!share)
                return mv_error_return(*err);
        char **argv = NULL;
        int r = virtiofsd_argv(vfs, settings, plan->vm, plan->hypervisor->virtiofs_tag, share,
                               plan->working_directory, geteuid() == 0, &argv, err);
        if (r < 0)
                return r;
        plan->virtiofsd =
                xreallocarray(plan->virtiofsd, plan->n_virtiofsd + 1, sizeof(*plan->virtiofsd));
        vm_plan_add_share(plan, tag, source);
        plan->virtiofsd[plan->n_virtiofsd++] = (struct plan_virtiofsd){
                .tag = xstrdup(tag),
                .socket = xstrdup(socket),
                .socket_group = settings->group ? xstrdup(settings->group) : NULL,
                .flavour = vfs->flavour,
                .argv = argv,
        };
        return 0;
}

static int tag_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One virtiofsd per share/microvm/virtiofs/TAG, with the host's virtiofsd settings. */
static int shares(struct vm_plan *plan, const struct host_settings *hs, const char *dir,
                  struct mv_error **err)
{
        _cleanup_free_ char *top = xasprintf("%s/share/microvm/virtiofs", dir);
        _cleanup_closedir_ DIR *d = opendir(top);
        if (!d)
                return errno == ENOENT ? 0 : mv_error_set(err, errno, "read %s", top);
        _cleanup_strv_free_ char **tags = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        strv_push(&tags, de->d_name);
        size_t n = strv_length(tags);
        if (!n)
                return 0;
        qsort(tags, n, sizeof(*tags), tag_cmp);

        struct source_set set = { 0 };
        struct value *host = host_virtiofsd(hs, &set);
        struct virtiofsd vfs = { 0 };
        struct virtiofsd_settings settings;
        virtiofsd_settings(host, NULL, &settings);
        int r = virtiofsd_find(NULL, &vfs, err);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = one_share(plan, dir, tags[i], &vfs, &settings, &set, err);
        virtiofsd_settings_done(&settings);
        virtiofsd_done(&vfs);
        value_free(host);
        source_set_free(&set);
        return r;
}

/* share/microvm/pci-devices, one address per line: bound natively, bin/pci-setup is not run. */
static int pci_devices(struct vm_plan *plan, const char *dir, struct mv_error **err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_meta(dir, "share/microvm/pci-devices", &text, err);
        if (r == -ENOENT)
                return 0;
        for (char *save = NULL, *l = r >= 0 ? strtok_r(text, "\n", &save) : NULL; l;
             l = strtok_r(NULL, "\n", &save)) {
                if (!l[strspn(l, " ")])
                        continue;
                if (!pci_address_valid(l))
                        return bad_line(dir, "share/microvm/pci-devices", l,
                                        "not a full PCI address DDDD:BB:DD.F", err);
                if ((r = vm_plan_add_pci_device(plan, l, err)) < 0)
                        return mv_error_wrap(err, "%s/share/microvm/pci-devices", dir);
        }
        return r;
}

static int unknown_hypervisor(const char *dir, const char *hv, struct mv_error **err)
{
        mv_error_fail(err,
                      hv ? "runner %s is for hypervisor '%s', which microvm does not know"
                         : "runner %s does not say which hypervisor it is for%s",
                      dir, hv ? hv : " (no share/microvm/hypervisor)");
        return mv_error_hint(err, "microvm runs runners for qemu, cloud-hypervisor, "
                                  "firecracker, crosvm, kvmtool, stratovirt and alioth");
}

int runner_check_usable(const char *dir, struct mv_error **err)
{
        if (!runner_is_foreign(dir))
                return 0;
        _cleanup_free_ char *run = xasprintf("%s/" RUNNER_RUN, dir);
        if (access(run, X_OK) < 0) {
                mv_error_set(err, errno, "%s has neither " RUNNER_RUN " nor " RUNNER_SPEC, dir);
                return mv_error_hint(err,
                                     "give the directory of a runner: microvm.nix's "
                                     "declaredRunner, or STATE/.runners/... of a microvm host");
        }
        _cleanup_free_ char *hv = runner_hypervisor(dir);
        return hv && hypervisor_find(hv) ? 0 : unknown_hypervisor(dir, hv, err);
}

int foreign_plan(struct vm_plan *plan, const struct host_settings *hs, const char *dir,
                 struct mv_error **err)
{
        _cleanup_free_ char *hv = runner_hypervisor(dir);
        plan->hypervisor = hv ? hypervisor_find(hv) : NULL;
        if (!plan->hypervisor)
                return unknown_hypervisor(dir, hv, err);
        plan->foreign = true;
        _cleanup_free_ char *run = xasprintf("%s/" RUNNER_RUN, dir);
        if (access(run, X_OK) < 0) {
                mv_error_set(err, errno, "runner %s has no " RUNNER_RUN, dir);
                return mv_error_hint(err, "install a runner built by microvm.nix, whose "
                                          "bin/microvm-run starts the hypervisor");
        }
        strv_push(&plan->argv, run);
        _cleanup_free_ char *shutdown = xasprintf("%s/" RUNNER_SHUTDOWN, dir);
        if (access(shutdown, X_OK) == 0) {
                plan->shutdown = HV_SHUTDOWN_RUNNER_SCRIPT;
                plan->shutdown_command = TAKE_PTR(shutdown);
        }
        _cleanup_free_ char *reg = xasprintf("%s/bin/microvm-register", dir);
        plan->register_with_machined = access(reg, X_OK) == 0;
        if (plan->register_with_machined)
                plan->register_program = TAKE_PTR(reg);
        int r = pci_devices(plan, dir, err);
        if (r < 0)
                return r;
        run_as_resolve(NULL, &plan->run_as);
        if ((r = interfaces(plan, hs, dir, err)) < 0 || (r = shares(plan, hs, dir, err)) < 0)
                return r;
        interface_scripts(plan, dir);
        /*
         * As microvm.nix's units: a hypervisor whose runner has a vsock CID and
         * that hands the guest the notify address itself (cloud-hypervisor)
         * is ready on READY=1, which arrives on its hybrid socket's port 8888.
         */
        plan->readiness = READY_WHEN_RUNNING;
        _cleanup_free_ char *cid = NULL;
        r = read_meta(dir, "share/microvm/vsock-cid", &cid, err);
        if (r < 0 && r != -ENOENT)
                return r;
        const struct hypervisor_ops *ops = plan->hypervisor;
        if (cid && ops->supports_notify_socket && ops->hybrid_vsock) {
                plan->readiness = READY_ON_NOTIFY;
                plan->notify_socket = xasprintf("%s_%u", ops->hybrid_vsock, NOTIFY_PORT);
        }
        return 0;
}
