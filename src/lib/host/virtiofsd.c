#include "host/virtiofsd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/merge.h"
#include "config/value-get.h"
#include "util/accounts.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/strbuf.h"
#include "util/strv.h"
#include "util/xalloc.h"

static const char *const fallbacks[] = { "/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd" };

enum virtiofsd_flavour virtiofsd_flavour_from_help(const char *help)
{
        /* The Rust virtiofsd has --shared-dir; the C one takes -o source=. */
        return strstr(help, "--shared-dir") ? VIRTIOFSD_RUST : VIRTIOFSD_C;
}

int virtiofsd_find(const char *configured, struct virtiofsd *out, struct mv_error **err)
{
        char *path = NULL;
        int r;

        if (configured) {
                r = find_program(configured, &path, err);
                if (r < 0)
                        return mv_error_wrap(err, "microvm.virtiofsd.package");
        } else if (find_program("virtiofsd", &path, NULL) < 0) {
                for (size_t i = 0; i < ELEMENTSOF(fallbacks) && !path; i++)
                        if (access(fallbacks[i], X_OK) == 0)
                                path = xstrdup(fallbacks[i]);
                if (!path) {
                        mv_error_set(err, ENOENT, "virtiofsd not found in PATH, %s or %s",
                                     fallbacks[0], fallbacks[1]);
                        return mv_error_hint(err, "install virtiofsd (Debian: apt-get install "
                                                  "qemu-system-common), or set "
                                                  "microvm.virtiofsd.package");
                }
        }
        _cleanup_free_ char *help = NULL;
        char *argv[] = { path, (char *)"--help", NULL };
        r = spawn_collect(argv, NULL, &help, err);
        if (r < 0) {
                free(path);
                return r;
        }
        out->path = path;
        out->flavour = virtiofsd_flavour_from_help(help);
        return 0;
}

void virtiofsd_done(struct virtiofsd *v)
{
        free(v->path);
        v->path = NULL;
}

void virtiofsd_settings(const struct value *host_virtiofsd, const struct value *guest,
                        struct virtiofsd_settings *out)
{
        const struct value *g = value_lookup(guest, "microvm.virtiofsd");
        memset(out, 0, sizeof(*out));
        out->group = vget_str(g, "group");
        /* virtiofsd refuses to start with a group that does not exist (no kvm group here). */
        struct account known;
        if (out->group && !account_group_by_name(out->group, &known))
                out->group = NULL;
        out->inode_file_handles = vget_str(g, "inodeFileHandles");
        if (!out->inode_file_handles)
                out->inode_file_handles = vget_str(host_virtiofsd, "inodeFileHandles");

        /* The guest's threadPoolSize if set, else the host's; `nproc` is the CPU count. */
        const struct value *pool = value_lookup(g, "threadPoolSize");
        if (!pool || pool->type == VALUE_NULL)
                pool = value_lookup(host_virtiofsd, "threadPoolSize");
        if (pool && pool->type == VALUE_INT)
                out->thread_pool_size = pool->integer;
        else if (pool && pool->type == VALUE_STRING && strcmp(pool->str, "`nproc`") != 0)
                out->thread_pool_size = strtoll(pool->str, NULL, 10);
        else
                out->thread_pool_size = sysconf(_SC_NPROCESSORS_ONLN);

        const struct value *lists[] = { vget_list(host_virtiofsd, "extraArgs"),
                                        vget_list(g, "extraArgs") };
        for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                for (size_t i = 0; lists[l] && i < lists[l]->n_items; i++)
                        strv_push(&out->extra_args, lists[l]->items[i]->str);
}

void virtiofsd_settings_done(struct virtiofsd_settings *s)
{
        strv_free(s->extra_args);
        s->extra_args = NULL;
}

static int unsupported(const char *vm, const char *tag, const char *what, struct mv_error **err)
{
        mv_error_config(err,
                        "vm %s: share %s: %s cannot be expressed for the installed C virtiofsd "
                        "(qemu 7.2)",
                        vm, tag, what);
        return mv_error_hint(err, "install the Rust virtiofsd and point "
                                  "microvm.virtiofsd.package at it, or change the share");
}

int virtiofsd_argv(const struct virtiofsd *v, const struct virtiofsd_settings *s, const char *vm,
                   bool with_tag, const struct value *share, const char *workdir, bool root,
                   char ***argv, struct mv_error **err)
{
        const char *src = vget_str(share, "source");
        _cleanup_free_ char *source =
                src[0] == '/' || !workdir ? xstrdup(src) : xasprintf("%s/%s", workdir, src);
        const char *tag = vget_str(share, "tag"), *cache = vget_str(share, "cache");
        bool rust = v->flavour == VIRTIOFSD_RUST;
        bool read_only = vget_bool(share, "readOnly", false);
        _cleanup_strv_free_ char **a = NULL;

        if (!rust) {
                if (strcmp(cache, "metadata") == 0)
                        return unsupported(vm, tag, "cache = \"metadata\"", err);
                /*
                 * It has no file handles: it always references inodes by O_PATH
                 * descriptors, which "never" asks for and "prefer" falls back to.
                 * Only "mandatory" cannot be honoured.
                 */
                if (s->inode_file_handles && strcmp(s->inode_file_handles, "mandatory") == 0)
                        return unsupported(vm, tag, "inodeFileHandles = \"mandatory\"", err);
                if (s->inode_file_handles)
                        log_info("vm %s: share %s: the C virtiofsd has no file handles; "
                                 "inodeFileHandles = \"%s\" is honoured without them",
                                 vm, tag, s->inode_file_handles);
                if (read_only)
                        return unsupported(vm, tag, "readOnly = true", err);
                if (with_tag)
                        return unsupported(vm, tag, "crosvm's --tag", err);
        }

        strv_push(&a, v->path);
        /*
         * The listening socket is microvm's, bound by root in the VM's directory
         * and passed as descriptor 3: virtiofsd never handles a path there that
         * the VM's user could swap for a symlink between its bind() and chown().
         */
        strv_push(&a, "--fd=3");
        if (rust) {
                strv_pushf(&a, "--shared-dir=%s", source);
        } else {
                strv_push(&a, "-o");
                strv_pushf(&a, "source=%s", source);
        }
        if (root && rust) {
                strv_push(&a, "--rlimit-nofile");
                strv_push(&a, "1048576");
        } else if (root) {
                strv_push(&a, "--rlimit-nofile=1048576");
        }
        if (rust) {
                strv_push(&a, "--thread-pool-size");
                strv_pushf(&a, "%lld", s->thread_pool_size);
        } else {
                strv_pushf(&a, "--thread-pool-size=%lld", s->thread_pool_size);
        }
        if (vget_bool(share, "posixAcl", true)) {
                if (rust) {
                        strv_push(&a, "--posix-acl");
                        strv_push(&a, "--xattr");
                } else {
                        strv_push(&a, "-o");
                        strv_push(&a, "posix_acl");
                        strv_push(&a, "-o");
                        strv_push(&a, "xattr");
                }
        }
        if (rust) {
                strv_pushf(&a, "--cache=%s", cache);
        } else {
                /* The C virtiofsd calls "never" "none". */
                strv_push(&a, "-o");
                strv_pushf(&a, "cache=%s", strcmp(cache, "never") == 0 ? "none" : cache);
        }
        if (rust && s->inode_file_handles)
                strv_pushf(&a, "--inode-file-handles=%s", s->inode_file_handles);
        if (with_tag)
                strv_pushf(&a, "--tag=%s", tag);
        if (read_only)
                strv_push(&a, "--readonly");
        for (size_t i = 0; s->extra_args && s->extra_args[i]; i++)
                strv_push_words(&a, s->extra_args[i]);
        const struct value *extra = vget_list(share, "extraArgs");
        for (size_t i = 0; extra && i < extra->n_items; i++)
                strv_push_words(&a, extra->items[i]->str);
        *argv = TAKE_PTR(a);
        return 0;
}
