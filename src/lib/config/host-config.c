#include "config/host-config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config/devices.h"
#include "config/schema.h"
#include "util/arena.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/strmap.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/helper-units.h"

#define VM_NAME_MAX 64

const char *host_config_path(const char *explicit_path)
{
        if (explicit_path && *explicit_path)
                return explicit_path;
        const char *env = getenv("MICROVM_CONFIG");
        if (env && *env)
                return env;
        return MICROVM_DEFAULT_CONFIG;
}

bool vm_name_valid(const char *name)
{
        size_t n = strlen(name);
        if (n == 0 || n > VM_NAME_MAX || !isalnum((unsigned char)name[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
                        return false;
        return true;
}

static bool mac_valid(const char *mac)
{
        if (strlen(mac) != 17)
                return false;
        for (int i = 0; i < 17; i++) {
                if (i % 3 == 2 ? mac[i] != ':' : !isxdigit((unsigned char)mac[i]))
                        return false;
        }
        return true;
}

/*
 * Options that make Nix evaluate `config` as a NixOS module (or stand for
 * such an evaluation: evaluatedConfig). microvm reads a config as data, so
 * they could only be ignored: refused instead, unless left at their
 * defaults (null, { }, [ ]).
 */
static int check_module_options(const char *name, const struct value *vm, struct mv_error **err)
{
        static const char *const options[] = { "nixpkgs", "pkgs", "specialArgs", "extraModules",
                                               "evaluatedConfig" };
        for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
                const struct value *v = value_lookup(vm, options[i]);
                if (!v || v->type == VALUE_NULL || (v->type == VALUE_ATTRS && !v->n_attrs) ||
                    (v->type == VALUE_LIST && !v->n_items))
                        continue;
                _cleanup_free_ char *shown = option_segment_display(name);
                srcpos_error(err, v->pos,
                             "vm %s: microvm.vms.%s.%s evaluates config as a NixOS module, which "
                             "microvm does not do: it reads config as data",
                             name, shown, options[i]);
                return mv_error_hint(err,
                                     "remove microvm.vms.%s.%s, or build the VM from a "
                                     "flake (microvm.vms.%s.flake) with Nix",
                                     shown, options[i], shown);
        }
        return 0;
}

/* microvm.nix's assertions on a VM declaration. */
static int check_vm_assertions(const char *name, const struct value *vm, struct mv_error **err)
{
        int r = check_module_options(name, vm, err);
        if (r < 0)
                return r;
        const struct value *config = value_lookup(vm, "config");
        if (!config || config->type == VALUE_NULL)
                return 0;
        const struct value *flake = value_lookup(vm, "flake");
        if (flake && flake->type != VALUE_NULL)
                return srcpos_error(err, flake->pos,
                                    "vm %s: Fully-declarative VMs cannot also set a flake! Remove "
                                    "either microvm.vms.%s.flake or microvm.vms.%s.config",
                                    name, name, name);
        const struct value *update = value_lookup(vm, "updateFlake");
        if (update && update->type != VALUE_NULL)
                return srcpos_error(err, update->pos,
                                    "vm %s: Fully-declarative VMs cannot set an updateFlake! "
                                    "Remove microvm.vms.%s.updateFlake or microvm.vms.%s.config",
                                    name, name, name);
        return 0;
}

char *guest_option_path(const char *vm, const char *rel)
{
        _cleanup_free_ char *name = option_segment_display(vm);
        return xasprintf("microvm.vms.%s.config.%s", name, rel);
}

static bool ascii_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Dot-separated labels of 1 to 63 letters, digits and '-', with no '-' at either end. */
static bool host_name_valid(const char *s)
{
        if (strlen(s) > 253)
                return false;
        for (;;) {
                size_t len = 0;
                while (ascii_alnum(s[len]) || s[len] == '-')
                        len++;
                /* A leading '-' would also make netcat read the name as an option. */
                if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
                        return false;
                if (s[len] == '\0')
                        return true;
                if (s[len] != '.')
                        return false;
                s += len + 1;
        }
}

bool host_address_valid(const char *s)
{
        unsigned char addr[sizeof(struct in6_addr)];
        return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1 ||
               host_name_valid(s);
}

/* No control characters: safe to repeat in a message. */
static bool printable(const struct value *v)
{
        for (size_t i = 0; i < v->len; i++)
                if ((unsigned char)v->str[i] < 0x20 || v->str[i] == 0x7f)
                        return false;
        return true;
}

/* One address of forward `i`; `required`: it may not be left empty. */
static int check_forward_address(const char *vm, const struct value *fwd, size_t i, const char *key,
                                 bool required, struct mv_error **err)
{
        const struct value *a = value_lookup(fwd, key);
        if (!a)
                return 0;
        bool text = a->type == VALUE_STRING && strlen(a->str) == a->len;
        if (text && (a->len == 0 ? !required : host_address_valid(a->str)))
                return 0;
        _cleanup_free_ char *rel = xasprintf("microvm.forwardPorts[%zu].%s", i, key);
        _cleanup_free_ char *path = guest_option_path(vm, rel);
        if (text && a->len == 0) {
                /* The default, not written anywhere: point at the forward itself. */
                srcpos_error(err, fwd->pos,
                             "%s is not set; a forward from the guest needs the host address "
                             "to connect to",
                             path);
                return mv_error_hint(err, "set it to an IP address such as 127.0.0.1, or a "
                                          "host name");
        }
        if (text && printable(a))
                srcpos_error(err, a->pos, "%s = \"%s\" is not an IP address or a host name", path,
                             a->str);
        else
                srcpos_error(err, a->pos, "%s is not an IP address or a host name", path);
        return mv_error_hint(err, "use an IPv4 or IPv6 address such as 10.0.2.10 or fd00::2, or "
                                  "a host name of letters, digits, '-' and '.'");
}

/* The enums and ports of forward `i`: the merge checks them, a runner's spec is re-read as is. */
static int check_forward_fields(const char *vm, const struct value *fwd, size_t i,
                                struct mv_error **err)
{
        static const char *const ports[] = { "host.port", "guest.port" };
        const struct value *from = value_lookup(fwd, "from"), *proto = value_lookup(fwd, "proto");
        const struct value *bad = NULL;
        if (!from || from->type != VALUE_STRING ||
            (strcmp(from->str, "host") != 0 && strcmp(from->str, "guest") != 0))
                bad = from ? from : fwd;
        else if (!proto || proto->type != VALUE_STRING ||
                 (strcmp(proto->str, "tcp") != 0 && strcmp(proto->str, "udp") != 0))
                bad = proto ? proto : fwd;
        for (size_t p = 0; !bad && p < ELEMENTSOF(ports); p++) {
                const struct value *port = value_lookup(fwd, ports[p]);
                if (!port || port->type != VALUE_INT || port->integer < 0 || port->integer > 65535)
                        bad = port ? port : fwd;
        }
        if (!bad)
                return 0;
        _cleanup_free_ char *rel = xasprintf("microvm.forwardPorts[%zu]", i);
        _cleanup_free_ char *path = guest_option_path(vm, rel);
        return srcpos_error(err, bad->pos,
                            "%s: from must be \"host\" or \"guest\", proto \"tcp\" or "
                            "\"udp\", and ports numbers from 0 to 65535",
                            path);
}

int check_forward_ports(const char *vm, const struct value *guest, struct mv_error **err)
{
        const struct value *fwd = value_lookup(guest, "microvm.forwardPorts");
        for (size_t i = 0; fwd && fwd->type == VALUE_LIST && i < fwd->n_items; i++) {
                const struct value *f = fwd->items[i];
                int r = check_forward_fields(vm, f, i, err);
                if (r < 0)
                        return r;
                bool from_guest = strcmp(value_lookup(f, "from")->str, "guest") == 0;
                if ((r = check_forward_address(vm, f, i, "host.address", from_guest, err)) < 0 ||
                    (r = check_forward_address(vm, f, i, "guest.address", false, err)) < 0)
                        return r;
        }
        return 0;
}

/* What one host interface name is already used by, for collision messages. */
/* What one host-wide interface name or MAC address is already used by, for collision messages. */
struct claim {
        const char *owner; /* VM name */
        const struct value *value;
        size_t index; /* the interface's place in the VM's microvm.interfaces */
};

struct claims {
        struct claim *v;
        size_t n;
        struct strmap map;
        char **keys; /* normalised keys the map borrows */
};

static void claims_free(struct claims *c)
{
        free(c->v);
        strmap_free(&c->map);
        strv_free(c->keys);
}

/* Claim `key` (which must outlive `c`) for `new`: NULL when it was free, else the earlier claim. */
static const struct claim *claim(struct claims *c, const char *key, struct claim new)
{
        size_t first;
        if (!strmap_put(&c->map, key, c->n, &first))
                return &c->v[first];
        c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
        c->v[c->n++] = new;
        return NULL;
}

/* "microvm.vms.VM.config.microvm.interfaces[I].LEAF", the option a message is about. */
static char *iface_option(const char *vm, size_t i, const char *leaf)
{
        _cleanup_free_ char *name = option_segment_display(vm);
        return xasprintf("microvm.vms.%s.config.microvm.interfaces[%zu].%s", name, i, leaf);
}

#define MAC_HINT                                                                                   \
        "use a locally administered unicast address (the first octet's second digit 2, 6, a or "   \
        "e), e.g. \"02:00:00:00:00:01\""

/* A unicast address that is not all zero: what a network interface can have. */
static int check_mac_kind(const char *vm, size_t i, const struct value *mac, struct mv_error **err)
{
        const char *why = NULL;
        unsigned first = (unsigned)strtoul((char[]){ mac->str[0], mac->str[1], 0 }, NULL, 16);
        if (first & 1)
                why = "is a multicast address (the lowest bit of its first octet is set); an "
                      "interface needs a unicast one";
        else if (strspn(mac->str, "0:") == strlen(mac->str))
                why = "is the all-zero address, which no interface can have";
        if (!why)
                return 0;
        _cleanup_free_ char *opt = iface_option(vm, i, "mac");
        int r = srcpos_error(err, mac->pos, "%s: \"%s\" %s", opt, mac->str, why);
        mv_error_hint(err, MAC_HINT);
        return r;
}

static int duplicate_mac(const char *vm, size_t i, const struct value *mac, const struct claim *by,
                         struct mv_error **err)
{
        _cleanup_free_ char *opt = iface_option(vm, i, "mac");
        _cleanup_free_ char *other = iface_option(by->owner, by->index, "mac");
        _cleanup_free_ char *where = srcpos_format(by->value->pos);
        int r = srcpos_error(err, mac->pos,
                             "%s: \"%s\" is already the address of %s (%s); MAC addresses must be "
                             "unique on a host",
                             opt, mac->str, other, where);
        mv_error_hint(err, "give each interface an address of its own, e.g. count up the last "
                           "octet: \"02:00:00:00:00:01\", \"02:00:00:00:00:02\", ...");
        return r;
}

/*
 * Two interfaces of one VM never share a MAC address; interfaces of
 * different VMs do not either, except user networking, where each VM has a
 * network of its own.
 */
static int claim_mac(const char *vm, const struct value *ifaces, size_t i, struct claims *macs,
                     struct mv_error **err)
{
        const struct value *mac = value_lookup(ifaces->items[i], "mac");
        for (size_t j = 0; j < i; j++) {
                const struct value *other = value_lookup(ifaces->items[j], "mac");
                if (strcasecmp(mac->str, other->str) == 0)
                        return duplicate_mac(vm, i, mac, &(struct claim){ vm, other, j }, err);
        }
        if (strcmp(value_lookup(ifaces->items[i], "type")->str, "user") == 0)
                return 0;
        char *key = xstrdup(mac->str);
        for (char *p = key; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        strv_push(&macs->keys, key);
        free(key);
        const struct claim *by =
                claim(macs, macs->keys[strv_length(macs->keys) - 1], (struct claim){ vm, mac, i });
        return by ? duplicate_mac(vm, i, mac, by, err) : 0;
}

/* How a message names interface `id` of `vm`: its id, and the kernel name derived from a long one. */
static char *interface_display(const char *vm, const char *id)
{
        ifname_buf buf;
        if (!interface_id_is_altname(id))
                return xasprintf("interface id \"%s\" of vm %s", id, vm);
        return xasprintf("interface id \"%s\" of vm %s (kernel name \"%s\")", id, vm,
                         interface_kernel_name(id, buf));
}

/*
 * Each interface claims its kernel name, so that two ids deriving the same
 * name, or one deriving another VM's plain id, are refused here rather
 * than at a start. Long ids need no claim of their own: two equal ones
 * derive the same kernel name, and none equals a kernel name.
 */
static int claim_interface(struct claims *names, const char *vm, const struct value *id, size_t i,
                           struct mv_error **err)
{
        ifname_buf buf;
        const char *kernel = interface_kernel_name(id->str, buf);
        if (kernel == buf) {
                strv_push(&names->keys, kernel);
                kernel = names->keys[strv_length(names->keys) - 1];
        }
        const struct claim *by = claim(names, kernel, (struct claim){ vm, id, i });
        if (!by)
                return 0;
        _cleanup_free_ char *where = srcpos_format(by->value->pos);
        if (!interface_id_is_altname(id->str) && !interface_id_is_altname(by->value->str))
                return srcpos_error(err, id->pos,
                                    "interface id \"%s\" of vm %s is already used by vm %s (%s); "
                                    "host interface names must be unique",
                                    id->str, vm, by->owner, where);
        _cleanup_free_ char *mine = interface_display(vm, id->str);
        _cleanup_free_ char *theirs = interface_display(by->owner, by->value->str);
        srcpos_error(err, id->pos,
                     "%s: kernel name \"%s\" is already that of %s (%s); host interface names "
                     "must be unique",
                     mine, kernel, theirs, where);
        return mv_error_hint(err, "an id longer than 15 bytes gets the kernel name of its first "
                                  "8 bytes, '-' and 6 hex digits of its SHA-256: change either id");
}

static int check_interfaces(const char *vm, const struct value *guest, struct claims *names,
                            struct claims *macs, struct mv_error **err)
{
        const struct value *ifaces = value_lookup(guest, "microvm.interfaces");
        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                const struct value *type = value_lookup(it, "type");
                const struct value *id = value_lookup(it, "id");
                const struct value *mac = value_lookup(it, "mac");
                if (!interface_id_valid(id->str))
                        return srcpos_error(err, id->pos,
                                            "vm %s: interface id \"%s\" is not a valid interface "
                                            "name: use 1 to 127 letters, digits, '-', '_' or '.', "
                                            "not starting with '-' or '.'",
                                            vm, id->str);
                if (!mac_valid(mac->str))
                        return srcpos_error(err, mac->pos,
                                            "vm %s: interface %s: mac \"%s\" is not a MAC address "
                                            "like \"02:00:00:00:00:01\"",
                                            vm, id->str, mac->str);
                int r = check_mac_kind(vm, i, mac, err);
                if (r < 0)
                        return r;
                if (strcmp(type->str, "macvtap") == 0) {
                        const char *missing = !value_lookup(it, "macvtap.link")   ? "link"
                                              : !value_lookup(it, "macvtap.mode") ? "mode"
                                                                                  : NULL;
                        if (missing)
                                return srcpos_error(err, it->pos,
                                                    "vm %s: macvtap interface %s needs "
                                                    "macvtap.%s",
                                                    vm, id->str, missing);
                        const struct value *link = value_lookup(it, "macvtap.link");
                        if (!interface_name_valid(link->str))
                                return srcpos_error(err, link->pos,
                                                    "vm %s: macvtap interface %s: link \"%s\" is "
                                                    "not a valid interface name: use 1 to 15 "
                                                    "letters, digits, '-', '_' or '.', not "
                                                    "starting with '-' or '.'",
                                                    vm, id->str, link->str);
                }
                /* user networking creates no host interface; everything else does. */
                if (strcmp(type->str, "user") != 0 &&
                    (r = claim_interface(names, vm, id, i, err)) < 0)
                        return r;
                if ((r = claim_mac(vm, ifaces, i, macs, err)) < 0)
                        return r;
        }
        return 0;
}

static int check_shares(const char *vm, const struct value *guest, struct mv_error **err)
{
        const struct value *shares = value_lookup(guest, "microvm.shares");
        for (size_t i = 0; shares && i < shares->n_items; i++) {
                const struct value *tag = value_lookup(shares->items[i], "tag");
                for (size_t j = 0; j < i; j++) {
                        const struct value *other = value_lookup(shares->items[j], "tag");
                        if (strcmp(tag->str, other->str) != 0)
                                continue;
                        _cleanup_free_ char *first = srcpos_format(other->pos);
                        return srcpos_error(err, tag->pos,
                                            "vm %s: share tag \"%s\" is used twice (also at %s); "
                                            "tags must be unique within a VM",
                                            vm, tag->str, first);
                }
        }
        return 0;
}

/*
 * binScripts become files in the runner's bin/. The runner makes some of
 * them itself, and microvm.nix puts its own over the user's: refused
 * rather than dropped.
 */
static int check_bin_scripts(const char *vm, const struct value *guest, struct mv_error **err)
{
        static const char *const generated[] = { "microvm-run",        "microvm-shutdown",
                                                 "microvm-balloon",    "microvm-register",
                                                 "microvm-unregister", "virtiofsd-run" };
        const struct value *scripts = value_lookup(guest, "microvm.binScripts");
        for (size_t i = 0; scripts && scripts->type == VALUE_ATTRS && i < scripts->n_attrs; i++) {
                const char *key = scripts->attrs[i].key;
                struct srcpos pos = scripts->attrs[i].key_pos;
                _cleanup_free_ char *option = guest_option_path(vm, "microvm.binScripts");
                size_t n = strlen(key);
                bool ok = n > 0 && n <= 64 && key[0] != '.' && key[0] != '-';
                for (size_t j = 0; ok && j < n; j++)
                        ok = ascii_alnum(key[j]) || strchr("-_.", key[j]);
                if (!ok) {
                        srcpos_error(err, pos, "%s.\"%s\": not a file name for the runner's bin/",
                                     option, key);
                        return mv_error_hint(err, "use letters, digits, '-', '_' and '.' (at "
                                                  "most 64, not starting with '.' or '-')");
                }
                for (size_t j = 0; j < ELEMENTSOF(generated); j++) {
                        if (strcmp(key, generated[j]) != 0)
                                continue;
                        srcpos_error(err, pos,
                                     "%s.%s: the runner's bin/%s is generated, and microvm.nix "
                                     "replaces these lines with its own",
                                     option, key, key);
                        return mv_error_hint(err, "use microvm.preStart for commands before the "
                                                  "hypervisor, or another name");
                }
        }
        return 0;
}

/* 16 TiB in MiB: more memory than a host could give one VM; a unit mistake, or a typo. */
#define GUEST_MEM_MAX_MIB (INT64_C(16) << 20)
/* KVM's most vCPUs per VM on x86 (KVM_MAX_VCPUS). */
#define GUEST_VCPU_MAX 4096

/* Guest sizes beyond what their types say: the types take any positive number. */
static const struct guest_bound {
        const char *option;
        int64_t max;
        const char *what;  /* the value's meaning, after the number */
        const char *limit; /* max, for people */
        const char *hint;
} guest_bounds[] = {
        { "microvm.mem", GUEST_MEM_MAX_MIB, "MiB is more memory than a host could give a VM",
          "16777216 MiB (16 TiB)",
          "microvm.mem is in MiB (megabytes), not bytes: 512 is half a GiB, 4096 is 4 GiB" },
        { "microvm.hotplugMem", GUEST_MEM_MAX_MIB, "MiB is more memory than a host could give a VM",
          "16777216 MiB (16 TiB)",
          "microvm.hotplugMem is in MiB (megabytes), not bytes: 4096 is 4 GiB" },
        { "microvm.vcpu", GUEST_VCPU_MAX, "virtual CPUs are more than a VM can have", "4096",
          "microvm.vcpu counts the VM's virtual CPU cores, e.g. 2" },
};

static int check_guest_sizes(const char *vm, const struct value *guest, struct mv_error **err)
{
        for (size_t i = 0; i < ELEMENTSOF(guest_bounds); i++) {
                const struct guest_bound *b = &guest_bounds[i];
                const struct value *v = value_lookup(guest, b->option);
                if (!v || v->type != VALUE_INT || v->integer <= b->max)
                        continue;
                _cleanup_free_ char *name = option_segment_display(vm);
                int r = srcpos_error(err, v->pos,
                                     "microvm.vms.%s.config.%s: %lld %s; the most is %s", name,
                                     b->option, (long long)v->integer, b->what, b->limit);
                mv_error_hint(err, "%s", b->hint);
                return r;
        }
        return 0;
}

/* microvm.nix's vfkit runs VMs on macOS; there is no backend for it here. */
static int check_hypervisor(const char *vm, const struct value *guest, struct mv_error **err)
{
        const struct value *hv = value_lookup(guest, "microvm.hypervisor");
        if (!hv || hv->type != VALUE_STRING || strcmp(hv->str, "vfkit") != 0)
                return 0;
        _cleanup_free_ char *name = option_segment_display(vm);
        int r = srcpos_error(err, hv->pos,
                             "microvm.vms.%s.config.microvm.hypervisor: vfkit runs VMs on macOS "
                             "(Apple's Virtualization framework); microvm runs them on Linux",
                             name);
        mv_error_hint(err, "choose one of qemu, cloud-hypervisor, firecracker, crosvm, kvmtool, "
                           "stratovirt, alioth");
        return r;
}

static int check_vsock(const char *vm, const struct value *guest, const struct value **cids,
                       const char **owners, size_t *n, struct mv_error **err)
{
        const struct value *cid = value_lookup(guest, "microvm.vsock.cid");
        if (!cid || cid->type == VALUE_NULL)
                return 0;
        /* 0 to 2 are the hypervisor, the local loopback and the host. */
        if (cid->integer < 3 || cid->integer > UINT32_MAX - 1)
                return srcpos_error(err, cid->pos,
                                    "vm %s: vsock CID %lld is reserved; use a number from 3 up", vm,
                                    (long long)cid->integer);
        cids[*n] = cid;
        owners[(*n)++] = vm;
        return 0;
}

struct cid_entry {
        int64_t cid;
        size_t index; /* order in the configuration, so the later one is reported */
};

static int cid_cmp(const void *a, const void *b)
{
        const struct cid_entry *x = a, *y = b;
        if (x->cid != y->cid)
                return x->cid < y->cid ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Sorting finds duplicates in n log n: a thousand VMs must not cost a million comparisons. */
static int check_vsock_unique(const struct value **cids, const char **owners, size_t n,
                              struct mv_error **err)
{
        if (n < 2)
                return 0;
        _cleanup_free_ struct cid_entry *e = xcalloc(n, sizeof(*e));
        for (size_t i = 0; i < n; i++)
                e[i] = (struct cid_entry){ .cid = cids[i]->integer, .index = i };
        qsort(e, n, sizeof(*e), cid_cmp);
        for (size_t i = 1; i < n; i++) {
                if (e[i].cid != e[i - 1].cid)
                        continue;
                const struct value *first = cids[e[i - 1].index], *dup = cids[e[i].index];
                _cleanup_free_ char *where = srcpos_format(first->pos);
                return srcpos_error(err, dup->pos,
                                    "vm %s: vsock CID %lld is already used by vm %s (%s); CIDs "
                                    "must be unique on a host",
                                    owners[e[i].index], (long long)dup->integer,
                                    owners[e[i - 1].index], where);
        }
        return 0;
}

/* The names of microvm.autostart become paths in the state directory: "../x" must not. */
static int check_autostart(const struct value *root, struct mv_error **err)
{
        const struct value *list = value_lookup(root, "microvm.autostart");
        for (size_t i = 0; list && i < list->n_items; i++) {
                const struct value *name = list->items[i];
                if (vm_name_valid(name->str))
                        continue;
                int r = srcpos_error(
                        err, name->pos,
                        "microvm.autostart: \"%s\" is not a VM name: a VM name is " VM_NAME_RULE,
                        name->str);
                mv_error_hint(err,
                              "list the names of VMs, as in microvm.vms.NAME or 'microvm list'");
                return r;
        }
        return 0;
}

static int check_host(const struct value *root, struct mv_error **err)
{
        const struct value *vms = value_lookup(root, "microvm.vms");
        size_t n_vms = vms ? vms->n_attrs : 0;
        _cleanup_(claims_free) struct claims names = { 0 }, macs = { 0 };
        _cleanup_(pci_claims_free) struct pci_claims pci = { 0 };
        _cleanup_(strmap_free) struct strmap autostart = { 0 };
        const struct value *starts = value_lookup(root, "microvm.autostart");
        for (size_t i = 0; starts && i < starts->n_items; i++)
                strmap_put(&autostart, starts->items[i]->str, 0, NULL);
        _cleanup_free_ const struct value **cids = xcalloc(n_vms + 1, sizeof(*cids));
        _cleanup_free_ const char **owners = xcalloc(n_vms + 1, sizeof(*owners));
        size_t n_cids = 0;
        int r = 0;

        for (size_t i = 0; i < n_vms; i++) {
                const char *name = vms->attrs[i].key;
                const struct value *vm = vms->attrs[i].value;
                if (!vm_name_valid(name))
                        return srcpos_error(err, vms->attrs[i].key_pos,
                                            "vm name \"%s\" is not allowed: use " VM_NAME_RULE,
                                            name);
                if ((r = check_vm_assertions(name, vm, err)) < 0)
                        return r;
                const struct value *guest = value_lookup(vm, "config");
                if (!guest || guest->type == VALUE_NULL)
                        continue;
                if ((r = check_hypervisor(name, guest, err)) < 0 ||
                    (r = check_interfaces(name, guest, &names, &macs, err)) < 0 ||
                    (r = check_shares(name, guest, err)) < 0 ||
                    (r = check_bin_scripts(name, guest, err)) < 0 ||
                    (r = check_devices(name, guest,
                                       strmap_get(&autostart, name, NULL) ? &pci : NULL, err)) <
                            0 ||
                    (r = check_forward_ports(name, guest, err)) < 0 ||
                    (r = check_guest_sizes(name, guest, err)) < 0 ||
                    (r = check_vsock(name, guest, cids, owners, &n_cids, err)) < 0)
                        return r;
        }
        if ((r = check_vsock_unique(cids, owners, n_cids, err)) < 0 ||
            (r = helpers_check_switches(root, err)) < 0)
                return r;
        return check_autostart(root, err);
}

/*
 * The seed's host-wide microvm.virtiofsd.inodeFileHandles and threadPoolSize
 * (77f0b82's host module) stand in for a guest's default of the same option,
 * which microvm.nix moved into the guest: a value the guest writes wins.
 */
static void apply_host_virtiofsd(struct value *root)
{
        static const char *const options[] = { "inodeFileHandles", "threadPoolSize" };
        const struct value *host = value_lookup(root, "microvm.virtiofsd");
        const struct value *vms = value_lookup(root, "microvm.vms");
        for (size_t i = 0; vms && i < vms->n_attrs; i++) {
                const struct value *guest_virtiofsd =
                        value_lookup(vms->attrs[i].value, "config.microvm.virtiofsd");
                for (size_t k = 0; guest_virtiofsd && k < ELEMENTSOF(options); k++) {
                        const struct value *setting = value_lookup(host, options[k]);
                        struct attr *a = value_attrs_get(guest_virtiofsd, options[k]);
                        /* A computed default has no position; a written value has one. */
                        if (!setting || setting->type == VALUE_NULL || !a || a->value->pos.src)
                                continue;
                        value_free(a->value);
                        a->value = value_copy(setting);
                }
        }
}

/* microvm.autostart: the user's list, then every VM with autostart = true; once each. */
static void complete_autostart(struct value *root)
{
        struct attr *mv = value_attrs_get(root, "microvm");
        struct attr *list = value_attrs_get(mv->value, "autostart");
        const struct value *vms = value_lookup(root, "microvm.vms");
        _cleanup_value_ struct value *out = value_new(VALUE_LIST, list->value->pos);
        struct strmap seen = { 0 };

        for (size_t i = 0; i < list->value->n_items; i++) {
                const struct value *item = list->value->items[i];
                if (strmap_put(&seen, item->str, 0, NULL))
                        value_list_append(out, value_copy(item));
        }
        for (size_t i = 0; vms && i < vms->n_attrs; i++) {
                const struct value *autostart = value_lookup(vms->attrs[i].value, "autostart");
                const char *name = vms->attrs[i].key;
                if (autostart && autostart->boolean && strmap_put(&seen, name, 0, NULL))
                        value_list_append(out, value_new_string(VALUE_STRING, name, strlen(name),
                                                                vms->attrs[i].key_pos));
        }
        strmap_free(&seen);
        value_free(list->value);
        list->value = TAKE_PTR(out);
}

int host_config_eval(struct merge_ctx *ctx, struct value *module, struct value **root,
                     struct mv_error **err)
{
        struct value *v = NULL;
        int r = merge_type(ctx, &schema_host, NULL, &module, 1, &v, err);
        if (r < 0)
                return r;
        value_sort_attrs(v);
        complete_autostart(v);
        apply_host_virtiofsd(v);
        r = check_host(v, err);
        if (r < 0) {
                value_free(v);
                return r;
        }
        *root = v;
        return 0;
}

int host_config_load(const char *path, struct host_config *cfg, struct mv_error **err)
{
        struct host_config c = { .path = xstrdup(source_display_name(path)) };
        c.ctx.sources = xcalloc(1, sizeof(*c.ctx.sources));
        c.arena = xcalloc(1, sizeof(*c.arena));
        struct arena *saved = value_use_arena(c.arena);
        struct value *module = NULL;
        _cleanup_free_ char *real = NULL;

        int r = config_load_file(&c.ctx, path, NULL, &module, err);
        if (r < 0) {
                /* An unreadable configuration is a configuration problem: exit status 2. */
                if (err && *err)
                        (*err)->kind = MV_ERROR_CONFIG;
                if (r == -ENOENT)
                        mv_error_hint(err, "write one (see examples/host.nix and "
                                           "microvm-options(5)), or name another with --config "
                                           "FILE or MICROVM_CONFIG");
                goto fail;
        }
        /* An import of the main file is skipped as a repeat; a pipe cannot be imported anyway. */
        real = strcmp(path, "-") == 0 ? NULL : realpath(path, NULL);
        if (real)
                strv_push(&c.ctx.loaded, real);

        r = host_config_eval(&c.ctx, module, &c.root, err);
        if (r < 0)
                goto fail;
        value_use_arena(saved);
        *cfg = c;
        return 0;

fail:
        value_use_arena(saved);
        host_config_free(&c);
        return r;
}

int host_config_defaults(struct host_config *cfg, struct mv_error **err)
{
        struct host_config c = { .path = xstrdup("(defaults)") };
        c.ctx.sources = xcalloc(1, sizeof(*c.ctx.sources));
        c.arena = xcalloc(1, sizeof(*c.arena));
        struct arena *saved = value_use_arena(c.arena);
        struct value *empty = value_new(VALUE_ATTRS, (struct srcpos){ 0 });
        int r = host_config_eval(&c.ctx, empty, &c.root, err);
        value_use_arena(saved);
        if (r < 0) {
                host_config_free(&c);
                return r;
        }
        *cfg = c;
        return 0;
}

void host_config_free(struct host_config *cfg)
{
        value_free(cfg->root);
        merge_ctx_free(&cfg->ctx);
        free(cfg->ctx.sources);
        free(cfg->path);
        if (cfg->arena) {
                arena_free(cfg->arena);
                free(cfg->arena);
        }
        memset(cfg, 0, sizeof(*cfg));
}
