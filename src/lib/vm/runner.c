#include "vm/runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/ifname.h"
#include "config/json-write.h"
#include "config/merge.h"
#include "config/value-get.h"
#include "hypervisor/hypervisor.h"
#include "util/atomic-file.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "vm/plan.h"

/* Bumped when the layout of a runner changes, so old and new never share a name. */
#define RUNNER_FORMAT 2

char *runner_spec_json(const struct value *host, const char *name)
{
        _cleanup_free_ char *vm_path = xasprintf("microvm.vms.\"%s\"", name);
        const struct value *vm = value_lookup(host, vm_path);
        struct strbuf b = { 0 };

        /*
         * Written directly, keys in sorted order, rather than built as a tree and
         * copied: apply does this for every VM, and an unchanged host must be quick.
         * Host-wide virtiofsd settings shape the VM's shares: a change restarts it.
         */
        strbuf_puts(&b, "{\"config\":");
        json_write_value(&b, value_lookup(vm, "config"), false);
        strbuf_printf(&b, ",\"format\":%d,\"name\":", RUNNER_FORMAT);
        json_write_string(&b, name, strlen(name));
        strbuf_puts(&b, ",\"virtiofsd\":");
        json_write_value(&b, value_lookup(host, "microvm.virtiofsd"), false);
        strbuf_putc(&b, '}');
        return strbuf_take(&b);
}

char *runner_dir_name(const char *spec_json, const char *name)
{
        char hex[65];
        sha256_hex(spec_json, strlen(spec_json), hex);
        return xasprintf("%.32s-%s", hex, name);
}

static int put(const char *dir, const char *rel, const char *content, struct mv_error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);
        _cleanup_free_ char *parent = xstrdup(path);
        *strrchr(parent, '/') = '\0';
        int r = mkdir_p(parent, 0755, err);
        if (r < 0)
                return r;
        return write_file_atomic(path, content, strlen(content), 0644, err);
}

/* Append the words (up to four, NULLs skipped) as one line, like `echo ... >>`. */
static void line(struct strbuf *b, const char *w1, const char *w2, const char *w3, const char *w4)
{
        const char *words[] = { w1, w2, w3, w4 };
        bool first = true;
        for (size_t i = 0; i < ELEMENTSOF(words); i++) {
                if (!words[i])
                        continue;
                if (!first)
                        strbuf_putc(b, ' ');
                strbuf_puts(b, words[i]);
                first = false;
        }
        strbuf_putc(b, '\n');
}

/* The files under share/microvm that the host services read, in microvm.nix's layout. */
static int write_metadata(const char *dir, const struct hypervisor_ops *ops, const struct hv_vm *vm,
                          struct mv_error **err)
{
        const struct value *g = vm->guest;
        const struct value *ifaces = vget_list(g, "microvm.interfaces");
        const struct value *shares = vget_list(g, "microvm.shares");
        const struct value *devices = vget_list(g, "microvm.devices");
        struct strbuf taps = { 0 }, macvtaps = { 0 }, pci = { 0 }, usb = { 0 };
        int r;

        for (size_t i = 0; ifaces && i < ifaces->n_items; i++) {
                const struct value *it = ifaces->items[i];
                const char *type = vget_str(it, "type");
                /*
                 * Kernel names: what a tool of microvm.nix reading these lists
                 * creates (`ip tuntap add name ID`), and what the hypervisor attaches to.
                 */
                ifname_buf buf;
                const char *id = interface_kernel_name(vget_str(it, "id"), buf);
                if (strcmp(type, "tap") == 0)
                        line(&taps, id, NULL, NULL, NULL);
                else if (strcmp(type, "macvtap") == 0)
                        line(&macvtaps, id, vget_str(it, "mac"), vget_str(it, "macvtap.link"),
                             vget_str(it, "macvtap.mode"));
        }
        for (size_t i = 0; devices && i < devices->n_items; i++)
                line(strcmp(vget_str(devices->items[i], "bus"), "pci") == 0 ? &pci : &usb,
                     vget_str(devices->items[i], "path"), NULL, NULL, NULL);

        _cleanup_free_ char *hv = xasprintf("%s\n", ops->name);
        bool mq = ops->tap_multi_queue && ops->tap_multi_queue(vm);
        r = put(dir, "share/microvm/hypervisor", hv, err);
        if (r >= 0)
                r = put(dir, "share/microvm/tap-flags",
                        mq ? "vnet_hdr\nmulti_queue\n" : "vnet_hdr\n", err);
        const struct {
                const char *name;
                struct strbuf *b;
        } lists[] = {
                { "share/microvm/tap-interfaces", &taps },
                { "share/microvm/macvtap-interfaces", &macvtaps },
                { "share/microvm/pci-devices", &pci },
                { "share/microvm/usb-devices", &usb },
        };
        for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                /* Like `echo >>`, a list file exists only when it has lines. */
                if (r >= 0 && lists[i].b->len)
                        r = put(dir, lists[i].name, lists[i].b->data, err);
                strbuf_free(lists[i].b);
        }
        for (size_t i = 0; r >= 0 && shares && i < shares->n_items; i++) {
                const struct value *s = shares->items[i];
                if (strcmp(vget_str(s, "proto"), "virtiofs") != 0)
                        continue;
                const char *tag = vget_str(s, "tag");
                _cleanup_free_ char *sock_rel = xasprintf("share/microvm/virtiofs/%s/socket", tag);
                _cleanup_free_ char *src_rel = xasprintf("share/microvm/virtiofs/%s/source", tag);
                _cleanup_free_ char *sock = xasprintf("%s\n", vget_str(s, "socket"));
                _cleanup_free_ char *src = xasprintf("%s\n", vget_str(s, "source"));
                r = put(dir, sock_rel, sock, err);
                if (r >= 0)
                        r = put(dir, src_rel, src, err);
        }
        int64_t cid = vget_int(g, "microvm.vsock.cid", -1);
        if (r >= 0 && cid >= 0) {
                _cleanup_free_ char *c = xasprintf("%lld\n", (long long)cid);
                r = put(dir, "share/microvm/vsock-cid", c, err);
        }
        return r;
}

/*
 * At install only the files of the command are kept, not its argv, and a
 * macvtap is created at start: an interface that does not exist yet must
 * not fail the install (kvmtool names /dev/tapN in its argv).
 */
static int ifindex_at_install(const char *iface, void *data)
{
        (void)data;
        struct hv_vm lookup = { 0 };
        int index = hv_ifindex(&lookup, iface);
        return index < 0 ? 0 : index;
}

/*
 * bin/microvm-run and bin/microvm-shutdown, as microvm.nix's runners have
 * them: links to this microvm binary, which acts on the VM of the runner
 * it was called from (cmd/runner-entry.h). Nothing else is in them.
 */
static int write_entry_points(const char *tmp, struct mv_error **err)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0)
                return mv_error_set(err, errno, "readlink /proc/self/exe");
        self[n] = '\0';
        _cleanup_free_ char *bin = xasprintf("%s/bin", tmp);
        if (mkdir(bin, 0755) < 0)
                return mv_error_set(err, errno, "create %s", bin);
        static const char *const names[] = { "microvm-run", "microvm-shutdown" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *link = xasprintf("%s/%s", bin, names[i]);
                if (symlink(self, link) < 0)
                        return mv_error_set(err, errno, "create %s", link);
        }
        return 0;
}

/*
 * microvm.binScripts other than those a start runs (tap-up, ... see
 * vm/plan.h): bin/NAME, as microvm.nix's writeShellScript makes them.
 */
static int write_bin_scripts(const char *tmp, const struct value *guest, struct mv_error **err)
{
        const struct value *scripts = value_lookup(guest, "microvm.binScripts");
        for (size_t i = 0; scripts && scripts->type == VALUE_ATTRS && i < scripts->n_attrs; i++) {
                const char *key = scripts->attrs[i].key;
                _cleanup_free_ char *option = xasprintf("microvm.binScripts.%s", key);
                bool run_by_start = false;
                for (size_t j = 0; j < N_PLAN_SNIPPETS; j++)
                        run_by_start |= strcmp(plan_snippet_options[j], option) == 0;
                if (run_by_start)
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/bin/%s", tmp, key);
                _cleanup_free_ char *text =
                        xasprintf("#!/bin/bash\n%s", scripts->attrs[i].value->str);
                int r = write_file_atomic(path, text, strlen(text), 0755, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_runner(const char *tmp, const char *final, const char *spec,
                        const struct value *host, const char *name, struct mv_error **err)
{
        _cleanup_free_ char *vm_path = xasprintf("microvm.vms.\"%s\".config", name);
        const struct value *guest = value_lookup(host, vm_path);
        const char *hv_name = vget_str(guest, "microvm.hypervisor");
        const struct hypervisor_ops *ops = hypervisor_find(hv_name);
        if (!ops || !ops->build)
                return mv_error_fail(err, "vm %s: the %s backend is not available in this build",
                                     name, hv_name);

        /* Build the command line now: a VM that cannot start fails here, not at boot. */
        struct hv_vm vm = { .name = name,
                            .guest = guest,
                            .binary = ops->binary_name,
                            .runner_dir = final,
                            /*
                             * The host's programs are looked up at start, not here: an
                             * install does not depend on what this host has installed.
                             */
                            .env = { .arch = "x86_64",
                                     .netcat = "nc",
                                     .bridge_helper = "qemu-bridge-helper",
                                     .unbuffer = "unbuffer",
                                     .ifindex = ifindex_at_install } };
        struct hv_command cmd = { 0 };
        int r = ops->build(&vm, &cmd, err);
        for (size_t i = 0; r >= 0 && cmd.file_names && cmd.file_names[i]; i++)
                r = put(tmp, cmd.file_names[i], cmd.file_contents[i], err);
        hv_command_free(&cmd);
        if (r >= 0)
                r = write_metadata(tmp, ops, &vm, err);
        if (r >= 0)
                r = write_entry_points(tmp, err);
        if (r >= 0)
                r = write_bin_scripts(tmp, guest, err);
        if (r >= 0)
                r = put(tmp, RUNNER_SPEC, spec, err);
        return r;
}

bool runner_complete(const char *runners_dir, const char *runner)
{
        _cleanup_close_ int dir = open(runners_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int fd =
                dir < 0 ? -1 : openat(dir, runner, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022))
                return false;
        return fstatat(fd, RUNNER_COMPLETE, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

char *runner_move_aside(const char *runners_dir, const char *runner, struct mv_error **err)
{
        _cleanup_free_ char *from = xasprintf("%s/%s", runners_dir, runner);
        for (int attempt = 0; attempt < 16; attempt++) {
                uint64_t r = 0;
                (void)!getrandom(&r, sizeof(r), 0);
                char *to = xasprintf("%s/.#%s.%016llx", runners_dir, runner, (unsigned long long)r);
                if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) {
                        fault_point("state", "runner moved aside");
                        return to;
                }
                int e = errno;
                free(to);
                if (e != EEXIST) {
                        mv_error_set(err, e, "move %s out of the way", from);
                        return NULL;
                }
        }
        mv_error_set(err, EEXIST, "move %s out of the way", from);
        return NULL;
}

/* fsync every directory of a tree: the files are synced as they are written, their names not. */
static int sync_tree(int fd, const char *shown, struct mv_error **err)
{
        int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        _cleanup_closedir_ DIR *d = dup < 0 ? NULL : fdopendir(dup);
        if (!d) {
                if (dup >= 0)
                        close(dup);
                return mv_error_set(err, errno, "read directory %s", shown);
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_close_ int sub =
                        openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_free_ char *sub_shown = xasprintf("%s/%s", shown, de->d_name);
                if (sub < 0)
                        return mv_error_set(err, errno, "open %s", sub_shown);
                int r = sync_tree(sub, sub_shown, err);
                if (r < 0)
                        return r;
        }
        if (fsync(fd) < 0)
                return mv_error_set(err, errno, "fsync %s", shown);
        return 0;
}

/* Everything on disk, then the mark: a runner with the mark is whole after any crash. */
static int mark_complete(const char *tmp, struct mv_error **err)
{
        _cleanup_close_ int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return mv_error_set(err, errno, "open %s", tmp);
        int r = sync_tree(fd, tmp, err);
        fault_point("state", "runner synced");
        return r < 0 ? r : put(tmp, RUNNER_COMPLETE, "", err);
}

int runner_commit(const char *runners, const char *tmp, const char *dirname, bool *created,
                  struct mv_error **err)
{
        _cleanup_free_ char *final = xasprintf("%s/%s", runners, dirname);
        *created = false;
        /* Left incomplete by a crash: never taken for a runner, written again. */
        struct stat st;
        if (lstat(final, &st) == 0) {
                _cleanup_free_ char *aside = runner_move_aside(runners, dirname, err);
                if (!aside)
                        return mv_error_return(*err);
                log_notice("runner %s was incomplete; writing it again", dirname);
        }
        /* mkdtemp made it private; the hypervisor user reads the files in it. */
        int r = chmod(tmp, 0755) < 0 ? mv_error_set(err, errno, "chmod %s", tmp) : 0;
        if (r >= 0)
                r = mark_complete(tmp, err);
        /* The apply lock is held: nobody else installs, so the name is free. */
        if (r >= 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) < 0)
                r = mv_error_set(err, errno, "rename %s to %s", tmp, final);
        else if (r >= 0)
                *created = true;
        fault_point("state", "runner renamed into place");
        if (r >= 0)
                r = fsync_dir(runners, err);
        return r;
}

int runner_install(const char *state_dir, const struct value *host, const char *name, char **runner,
                   bool *created, struct mv_error **err)
{
        _cleanup_free_ char *spec = runner_spec_json(host, name);
        _cleanup_free_ char *dirname = runner_dir_name(spec, name);
        _cleanup_free_ char *runners = xasprintf("%s/" RUNNERS_DIR, state_dir);
        _cleanup_free_ char *final = xasprintf("%s/%s", runners, dirname);

        *created = false;
        if (runner_complete(runners, dirname)) {
                *runner = TAKE_PTR(dirname);
                return 0;
        }
        int r = mkdir_p(runners, 0755, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *tmp = make_temp_dir(runners, dirname, err);
        if (!tmp)
                return mv_error_return(*err);
        r = write_runner(tmp, final, spec, host, name, err);
        if (r >= 0)
                r = runner_commit(runners, tmp, dirname, created, err);
        if (!*created)
                remove_tree(tmp);
        if (r < 0)
                return mv_error_wrap(err, "install runner of vm %s", name);
        *runner = TAKE_PTR(dirname);
        return 0;
}
