/*
 * cloud-hypervisor: the command line of microvm.nix's cloud-hypervisor runner
 * (lib/runners/cloud-hypervisor.nix), built as an argv vector.
 */
#include <stdlib.h>
#include <string.h>

#include "config/ifname.h"
#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "hypervisor/optval.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

extern const struct hypervisor_ops hypervisor_cloud_hypervisor;

/* What cloud-hypervisor's guest sends systemd's readiness notifications to, over vsock. */
#define NOTIFY_OEM_STRING "io.systemd.credential:vmm.notify_socket=vsock-stream:2:8888"

static bool ch_tap_multi_queue(const struct hv_vm *vm)
{
        return vget_int(vm->guest, "microvm.vcpu", 1) > 1;
}

static enum hv_shutdown ch_shutdown(const struct hv_vm *vm)
{
        return vget_str(vm->guest, "microvm.socket") ? HV_SHUTDOWN_CH_API : HV_SHUTDOWN_NONE;
}

/*
 * Take every `flag VALUE` pair out of `args`, as microvm.nix does with the
 * extraArgs it merges into its own options: a flag counts only when a word
 * follows it. Either output may be NULL.
 */
static void extract_opt(char *const *args, const char *flag, char ***values, char ***rest)
{
        size_t n = strv_length(args);
        for (size_t i = 0; i < n; i++) {
                if (strcmp(args[i], flag) == 0 && i + 1 < n) {
                        if (values)
                                strv_push(values, args[i + 1]);
                        i++;
                } else if (rest) {
                        strv_push(rest, args[i]);
                }
        }
}

/*
 * The value of `param=` in a "k=v,..." string, or NULL. microvm.nix
 * matches it with a greedy regular expression: the last occurrence with a
 * non-empty value wins, and a longer key ending in `param` matches too.
 */
static char *param_value(const char *opts, const char *param)
{
        size_t plen = strlen(param);
        if (!opts)
                return NULL;
        for (size_t p = strlen(opts); p-- > 0;) {
                const char *v = opts + p + plen + 1;
                if (strncmp(opts + p, param, plen) == 0 && opts[p + plen] == '=' && *v && *v != ',')
                        return xstrndup(v, strcspn(v, ","));
        }
        return NULL;
}

/* Keys compare up to their '=', bytewise, as Nix orders attribute names. */
static int opt_cmp(const void *a, const void *b)
{
        const char *x = *(char *const *)a, *y = *(char *const *)b;
        size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
        int c = memcmp(x, y, nx < ny ? nx : ny);
        return c ? c : (nx > ny) - (nx < ny);
}

/* "k=v" words as one "k1=v1,k2=v2" option value, keys sorted; consumes `opts`. */
static char *opts_join(char **opts)
{
        size_t n = strv_length(opts);
        struct strbuf b = { 0 };
        if (n > 1)
                qsort(opts, n, sizeof(*opts), opt_cmp);
        for (size_t i = 0; i < n; i++)
                strbuf_printf(&b, "%s%s", i ? "," : "", opts[i]);
        strv_free(opts);
        return strbuf_take(&b);
}

static bool any_virtiofs(const struct value *g)
{
        const struct value *shares = vget_list(g, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++)
                if (strcmp(vget_str(shares->items[i], "proto"), "virtiofs") == 0)
                        return true;
        return false;
}

static char *memory_opts(const struct value *g)
{
        long long mem = (long long)vget_int(g, "microvm.mem", 512);
        long long hotplug = (long long)vget_int(g, "microvm.hotplugMem", 0);
        /* virtiofsd and the GPU device map guest memory, which rules out same-page merging. */
        bool shared = any_virtiofs(g) || vget_bool(g, "microvm.graphics.enable", false);
        char **o = NULL;

        strv_pushf(&o, "shared=%s", shared ? "on" : "off");
        if (!shared)
                strv_push(&o, "mergeable=on");
        if (hotplug > 0) {
                /* microvm.nix sizes the boot memory as the hotplug area, not microvm.mem. */
                strv_pushf(&o, "size=%lldM", hotplug);
                strv_push(&o, "hotplug_method=virtio-mem");
                strv_pushf(&o, "hotplug_size=%lldM", hotplug);
                strv_pushf(&o, "hotplugged_size=%lldM",
                           (long long)vget_int(g, "microvm.hotpluggedMem", 0));
        } else {
                strv_pushf(&o, "size=%lldM", mem);
        }
        if (vget_bool(g, "microvm.hugepageMem", false))
                strv_push(&o, "hugepages=on");
        return opts_join(o);
}

/* --platform: the OEM strings, then whatever --platform values extraArgs had. */
static char *platform_opts(const struct value *g, char *const *user, bool notify)
{
        const struct value *oem = vget_list(g, "microvm.cloud-hypervisor.platformOEMStrings");
        size_t n_oem = (oem ? oem->n_items : 0) + (notify ? 1 : 0);
        struct strbuf b = { 0 };

        if (n_oem > 0) {
                strbuf_puts(&b, "oem_strings=[");
                for (size_t i = 0; oem && i < oem->n_items; i++)
                        strbuf_printf(&b, "%s%s", i ? "," : "", oem->items[i]->str);
                if (notify)
                        strbuf_printf(&b, "%s%s", oem && oem->n_items ? "," : "",
                                      NOTIFY_OEM_STRING);
                strbuf_putc(&b, ']');
        }
        for (size_t i = 0; user && user[i]; i++)
                strbuf_printf(&b, "%s%s", b.len ? "," : "", user[i]);
        return strbuf_take(&b);
}

/*
 * The kernel command line. Any --serial in extraArgs, even `--serial tty`,
 * drops the console settings: microvm.nix's test for tty never matches.
 */
static char *kernel_cmdline(const struct hv_vm *vm, bool user_serial)
{
        const char *console = user_serial ? ""
                              : strcmp(vm->env.arch, "x86_64") == 0
                                      ? "earlyprintk=ttyS0 console=ttyS0"
                                      : "console=ttyAMA0";
        _cleanup_free_ char *prefix = xasprintf("%s reboot=t panic=-1 ", console);
        return hv_kernel_cmdline(vm->guest, prefix);
}

static void push_disks(char ***argv, const struct value *g, long long vcpu)
{
        const struct value *volumes = vget_list(g, "microvm.volumes");
        bool store = has_store_disk(g);
        bool mq = vcpu > 1;

        if (!store && vget_count(g, "microvm.volumes") == 0)
                return;
        strv_push(argv, "--disk");
        if (store) {
                char **o = NULL;
                strv_pushf(&o, "path=%s", vget_str(g, "microvm.storeDisk"));
                strv_push(&o, "readonly=on");
                if (mq)
                        strv_pushf(&o, "num_queues=%lld", vcpu);
                strv_consume(argv, opts_join(o));
        }
        for (size_t i = 0; volumes && i < volumes->n_items; i++) {
                const struct value *v = volumes->items[i];
                const char *serial = vget_str(v, "serial");
                char **o = NULL;
                strv_pushf(&o, "path=%s", vget_str(v, "image"));
                strv_pushf(&o, "direct=%s", vget_bool(v, "direct", false) ? "on" : "off");
                strv_pushf(&o, "readonly=%s", vget_bool(v, "readOnly", false) ? "on" : "off");
                strv_pushf(&o, "image_type=%s", vget_str(v, "imageType"));
                if (serial)
                        strv_pushf(&o, "serial=%s", serial);
                if (mq)
                        strv_pushf(&o, "num_queues=%lld", vcpu);
                strv_consume(argv, opts_join(o));
        }
}

static void push_interfaces(char ***argv, const struct hv_vm *vm, long long vcpu)
{
        const struct value *ifaces = vget_list(vm->guest, "microvm.interfaces");
        bool mq = vcpu > 1;

        if (!ifaces || ifaces->n_items == 0)
                return;
        strv_push(argv, "--net");
        for (size_t i = 0; i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                const char *id = vget_str(it, "id");
                char **o = NULL;
                ifname_buf buf;
                const char *ifname = interface_kernel_name(id, buf); /* what TUNSETIFF takes */
                if (strcmp(vget_str(it, "type"), "tap") == 0 && !vm->env.taps_as_fds) {
                        strv_pushf(&o, "tap=%s", ifname);
                } else {
                        _cleanup_free_ int *fds = NULL;
                        size_t n = passed_fds(vm, &hypervisor_cloud_hypervisor, id, &fds);
                        _cleanup_free_ char *list = hv_fds_join(fds, n, ",");
                        strv_pushf(&o, "fd=[%s]", list);
                }
                strv_pushf(&o, "mac=%s", vget_str(it, "mac"));
                /* A receive and a transmit queue per vCPU. */
                if (mq)
                        strv_pushf(&o, "num_queues=%lld", 2 * vcpu);
                strv_consume(argv, opts_join(o));
        }
}

/*
 * The values that go into cloud-hypervisor's option strings, which it
 * splits at ',' (outside quotes and brackets) with no escape. extraArgs
 * are its option syntax on purpose and stay as written.
 */
static const struct optval_check ch_values[] = {
        { "microvm.storeDisk", OPTVAL_PLAIN, "microvm.storeOnDisk" },
        { "microvm.volumes.*.image", OPTVAL_PLAIN, NULL },
        { "microvm.volumes.*.serial", OPTVAL_PLAIN, NULL },
        { "microvm.cloud-hypervisor.platformOEMStrings.*", OPTVAL_PLAIN, NULL },
        { "microvm.graphics.socket", OPTVAL_PLAIN, "microvm.graphics.enable" },
        /* The tag first: the default socket path is made from it. */
        { "microvm.shares.*.tag", OPTVAL_PLAIN, NULL },
        { "microvm.shares.*.socket", OPTVAL_PLAIN, NULL },
        /* --api-socket takes a bare path, or path= and fd= options. */
        { "microvm.socket", OPTVAL_PLAIN_IMPLIED, NULL },
        { "microvm.devices.*.path", OPTVAL_PLAIN, NULL },
};

/* microvm.nix refuses these at evaluation time; here they are configuration errors. */
static int check_supported(const struct hv_vm *vm, struct mv_error **err)
{
        const struct value *g = vm->guest;
        int r = hv_refuse_user(vm, "cloud-hypervisor", err);
        if (r < 0)
                return r;
        const struct value *creds = vget_attrs(g, "microvm.credentialFiles");
        if (creds && creds->n_attrs > 0)
                return mv_error_config(err,
                                       "vm %s: cloud-hypervisor does not support "
                                       "microvm.credentialFiles; pass credentials as "
                                       "microvm.cloud-hypervisor.platformOEMStrings "
                                       "\"io.systemd.credential:NAME=VALUE\" instead",
                                       vm->name);
        if (strcmp(vm->env.arch, "x86_64") != 0 && strcmp(vm->env.arch, "aarch64") != 0)
                return mv_error_fail(err,
                                     "vm %s: cloud-hypervisor runner has no settings for %s hosts",
                                     vm->name, vm->env.arch);

        const struct value *shares = vget_list(g, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++)
                if (strcmp(vget_str(shares->items[i], "proto"), "virtiofs") != 0)
                        return mv_error_config(err,
                                               "vm %s: share %s (microvm.shares) uses proto "
                                               "\"%s\"; cloud-hypervisor supports only "
                                               "proto = \"virtiofs\"",
                                               vm->name, vget_str(shares->items[i], "tag"),
                                               vget_str(shares->items[i], "proto"));
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const char *type = vget_str(ifaces->items[i], "type");
                if (strcmp(type, "tap") != 0 && strcmp(type, "macvtap") != 0)
                        return mv_error_config(err,
                                               "vm %s: interface %s (microvm.interfaces) has "
                                               "type \"%s\", which cloud-hypervisor cannot do; "
                                               "use type \"tap\" or \"macvtap\"",
                                               vm->name, vget_str(ifaces->items[i], "id"), type);
        }
        const struct value *devices = vget_list(g, "microvm.devices");
        for (size_t i = 0; devices && i < devices->n_items; i++)
                if (strcmp(vget_str(devices->items[i], "bus"), "pci") != 0)
                        return mv_error_config(err,
                                               "vm %s: USB device %s (microvm.devices): "
                                               "cloud-hypervisor cannot pass USB devices through; "
                                               "remove it, or use qemu",
                                               vm->name, vget_str(devices->items[i], "path"));
        return optval_check(vm, "cloud-hypervisor", ch_values, ELEMENTSOF(ch_values), err);
}

static int ch_build(const struct hv_vm *vm, struct hv_command *out, struct mv_error **err)
{
        const struct value *g = vm->guest;
        long long vcpu = (long long)vget_int(g, "microvm.vcpu", 1);
        _cleanup_strv_free_ char **extra = NULL;
        vlist_push_strings(&extra, vget_list(g, "microvm.cloud-hypervisor.extraArgs"));
        _cleanup_strv_free_ char **user_vsock = NULL, **user_platform = NULL, **user_cpus = NULL,
                                 **user_console = NULL, **user_serial = NULL, **pass1 = NULL,
                                 **pass2 = NULL, **rest = NULL, **argv = NULL;

        int r = check_supported(vm, err);
        if (r < 0)
                return r;
        const char *kernel, *initrd;
        r = hv_boot_files(vm, &kernel, &initrd, err);
        if (r < 0)
                return r;

        /* --vsock, --platform and --cpus in extraArgs are merged into ours, not passed twice. */
        extract_opt(extra, "--vsock", &user_vsock, &pass1);
        extract_opt(pass1, "--platform", NULL, &pass2);
        extract_opt(pass2, "--cpus", NULL, &rest);
        extract_opt(extra, "--platform", &user_platform, NULL);
        extract_opt(extra, "--cpus", &user_cpus, NULL);
        extract_opt(extra, "--console", &user_console, NULL);
        extract_opt(extra, "--serial", &user_serial, NULL);

        /* Only the first --vsock is read, and only for its cid and socket. */
        const char *vsock_opts = user_vsock ? user_vsock[0] : NULL;
        _cleanup_free_ char *user_cid = param_value(vsock_opts, "cid");
        _cleanup_free_ char *user_socket = param_value(vsock_opts, "socket");
        int64_t cid = vget_int(g, "microvm.vsock.cid", -1);
        if (cid >= 0 && user_cid)
                return mv_error_config(err,
                                       "vm %s: microvm.vsock.cid and --vsock cid=%s in "
                                       "microvm.cloud-hypervisor.extraArgs both set the vsock "
                                       "CID; set only one of them",
                                       vm->name, user_cid);
        _cleanup_free_ char *cid_str = cid >= 0   ? xasprintf("%lld", (long long)cid)
                                       : user_cid ? xstrdup(user_cid)
                                                  : NULL;

        _cleanup_free_ char *user_oem =
                param_value(user_platform ? user_platform[0] : NULL, "oem_strings");
        if (user_oem)
                return mv_error_config(err,
                                       "vm %s: --platform oem_strings=... in "
                                       "microvm.cloud-hypervisor.extraArgs: use "
                                       "microvm.cloud-hypervisor.platformOEMStrings instead",
                                       vm->name);
        _cleanup_free_ char *cpus_joined = strv_join(user_cpus, ",");
        _cleanup_free_ char *user_boot = param_value(cpus_joined, "boot");
        if (user_boot)
                return mv_error_config(err,
                                       "vm %s: --cpus boot=%s in "
                                       "microvm.cloud-hypervisor.extraArgs conflicts with "
                                       "microvm.vcpu; set the number of vCPUs with microvm.vcpu "
                                       "only",
                                       vm->name, user_boot);

        strv_push(&argv, vm->binary);
        strv_push(&argv, "--cpus");
        strv_pushf(&argv, "boot=%lld%s%s", vcpu, user_cpus ? "," : "",
                   user_cpus ? cpus_joined : "");
        strv_push(&argv, "--watchdog");
        strv_push(&argv, "--kernel");
        strv_push(&argv, kernel);
        strv_push(&argv, "--initramfs");
        strv_push(&argv, initrd);
        strv_push(&argv, "--cmdline");
        strv_consume(&argv, kernel_cmdline(vm, user_serial != NULL));
        strv_push(&argv, "--seccomp");
        strv_push(&argv, "true");
        strv_push(&argv, "--memory");
        strv_consume(&argv, memory_opts(g));
        /* Always passed, even when there is nothing to say (an empty word). */
        strv_push(&argv, "--platform");
        strv_consume(&argv, platform_opts(g, user_platform, cid_str != NULL));
        if (!user_console) {
                strv_push(&argv, "--console");
                strv_push(&argv, "null");
        }
        if (!user_serial) {
                strv_push(&argv, "--serial");
                strv_push(&argv, "tty");
        }
        if (cid_str) {
                strv_push(&argv, "--vsock");
                strv_pushf(&argv, "cid=%s,socket=%s", cid_str,
                           user_socket ? user_socket : "notify.vsock");
        }
        if (vget_bool(g, "microvm.graphics.enable", false)) {
                strv_push(&argv, "--gpu");
                strv_pushf(&argv, "socket=%s", vget_str(g, "microvm.graphics.socket"));
        }
        if (vget_bool(g, "microvm.balloon", false)) {
                char **o = NULL;
                strv_pushf(&o, "size=%lldM",
                           (long long)vget_int(g, "microvm.initialBalloonMem", 0));
                strv_push(&o, "free_page_reporting=on");
                if (vget_bool(g, "microvm.deflateOnOOM", true))
                        strv_push(&o, "deflate_on_oom=on");
                strv_push(&argv, "--balloon");
                strv_consume(&argv, opts_join(o));
        }
        push_disks(&argv, g, vcpu);

        const struct value *shares = vget_list(g, "microvm.shares");
        if (shares && shares->n_items > 0) {
                strv_push(&argv, "--fs");
                for (size_t i = 0; i < shares->n_items; i++)
                        strv_pushf(&argv, "socket=%s,tag=%s", vget_str(shares->items[i], "socket"),
                                   vget_str(shares->items[i], "tag"));
        }
        const char *socket = vget_str(g, "microvm.socket");
        if (socket) {
                strv_push(&argv, "--api-socket");
                strv_push(&argv, socket);
        }
        push_interfaces(&argv, vm, vcpu);

        const struct value *devices = vget_list(g, "microvm.devices");
        if (devices && devices->n_items > 0) {
                strv_push(&argv, "--device");
                /* microvm.nix splices these unquoted: the shell splits them at spaces. */
                for (size_t i = 0; i < devices->n_items; i++) {
                        _cleanup_free_ char *arg = xasprintf("path=/sys/bus/pci/devices/%s",
                                                             vget_str(devices->items[i], "path"));
                        strv_push_words(&argv, arg);
                }
        }
        strv_extend(&argv, rest);

        out->argv = TAKE_PTR(argv);
        return 0;
}

const struct hypervisor_ops hypervisor_cloud_hypervisor = {
        .name = "cloud-hypervisor",
        .binary_name = "cloud-hypervisor",
        .build = ch_build,
        .shutdown = ch_shutdown,
        .balloon = HV_BALLOON_CH_API,
        /* Through vsock, when microvm.vsock.cid (or a --vsock cid=) is set. */
        .supports_notify_socket = true,
        .hybrid_vsock = "notify.vsock",
        .tap_multi_queue = ch_tap_multi_queue,
        .macvtap_as_fds = true,
        .control_socket = true,
};
