#include "nix/nix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/json-read.h"
#include "config/source.h"
#include "config/value-get.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/io.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/store-path.h"

#define LOG_TAIL_LINES 20
#define OUTPUT_MAX     (4 << 20)

int nix_find(char **path, struct mv_error **err)
{
        if (find_program("nix", path, NULL) >= 0)
                return 0;
        mv_error_fail(err, "Nix is not installed: flake VMs are built with the nix command");
        return mv_error_hint(err, "apt-get install " NIX_PACKAGE " (or install Nix), or give the "
                                  "VM a config instead of a flake");
}

int flake_ref_check(const char *ref, bool absolute_paths, struct mv_error **err)
{
        size_t n = strlen(ref);
        if (n == 0 || n > 4096)
                return mv_error_usage(err, "a flake reference must be 1 to 4096 bytes long");
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)ref[i] < 0x20 || ref[i] == 0x7f)
                        return mv_error_usage(err, "the flake reference holds a control "
                                                   "character");
        if (strchr(ref, '#')) {
                mv_error_usage(err, "flake reference '%s' names an attribute", ref);
                return mv_error_hint(err, "give the flake only: microvm builds its "
                                          "nixosConfigurations.NAME.config.microvm.declaredRunner");
        }
        /* Without a scheme it is a path; microvm.nix's -f wants those absolute. */
        if (absolute_paths && !strchr(ref, ':') && ref[0] != '/') {
                mv_error_usage(err, "flake '%s' is a local path that is not absolute", ref);
                return mv_error_hint(err, "give it from the root, e.g. /home/me/infra, or as a "
                                          "flake URL (git+file:///home/me/infra)");
        }
        return 0;
}

char *flake_vm_attr(const char *flake, const char *vm, const char *attr)
{
        /* VM names are letters, digits and "-_.": quoted, a dot stays in the name. */
        return xasprintf("%s#nixosConfigurations.\"%s\".config.%s", flake, vm, attr);
}

/* The last `n` lines of `text`. */
static const char *tail_lines(const char *text, int n)
{
        const char *end = text + strlen(text);
        while (end > text && end[-1] == '\n')
                end--;
        const char *p = end;
        while (p > text && n > 0)
                if (*--p == '\n')
                        n--;
        return p == text ? p : p + 1;
}

static int read_memfd(int fd, char **out, struct mv_error **err)
{
        if (lseek(fd, 0, SEEK_SET) < 0)
                return mv_error_set(err, errno, "read nix's output");
        return read_fd_full(fd, out, OUTPUT_MAX, err);
}

/*
 * Run nix with `args` after the features flag; `*out` gets its stdout,
 * and on failure the error has the tail of its stderr.
 */
static int run_nix(const char *what, const char *const *args, char **out, struct mv_error **err)
{
        _cleanup_free_ char *nix = NULL;
        int r = nix_find(&nix, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **argv = NULL;
        strv_push(&argv, nix);
        strv_push(&argv, "--extra-experimental-features");
        strv_push(&argv, "nix-command flakes");
        for (size_t i = 0; args[i]; i++)
                strv_push(&argv, args[i]);
        _cleanup_close_ int out_fd = memfd_create("nix-stdout", MFD_CLOEXEC);
        _cleanup_close_ int err_fd = memfd_create("nix-stderr", MFD_CLOEXEC);
        if (out_fd < 0 || err_fd < 0)
                return mv_error_set(err, errno, "memfd_create");
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.stdin_fd = SPAWN_FD_NULL;
        o.stdout_fd = out_fd;
        o.stderr_fd = err_fd;
        int status = 0;
        r = spawn_run(&o, NULL, -1, &status, NULL, err);
        if (r < 0)
                return mv_error_wrap(err, "run %s", nix);
        _cleanup_free_ char *log = NULL;
        if (status != 0) {
                if (read_memfd(err_fd, &log, NULL) < 0)
                        log = xstrdup("");
                mv_error_fail(err, "%s failed (nix exited with status %d)%s%s", what, status,
                              log[0] ? "; the end of its log:\n" : "",
                              tail_lines(log, LOG_TAIL_LINES));
                return -1;
        }
        return read_memfd(out_fd, out, err);
}

int nix_build_runner(const char *flake, const char *vm, char **store_path, struct mv_error **err)
{
        _cleanup_free_ char *installable = flake_vm_attr(flake, vm, "microvm.declaredRunner");
        const char *const args[] = { "build", "--no-link", "--json", installable, NULL };
        _cleanup_free_ char *what = xasprintf("building vm %s from %s", vm, flake);
        _cleanup_free_ char *json = NULL;
        int r = run_nix(what, args, &json, err);
        if (r < 0)
                return r;
        struct source_set set = { 0 };
        struct value *v = NULL;
        r = json_parse(source_add_text(&set, "(nix build --json)", json), &v, err);
        const char *out = NULL;
        if (r >= 0 && v->type == VALUE_LIST && v->n_items == 1)
                out = vget_str(v->items[0], "outputs.out");
        if (r >= 0 && (!out || !store_path_valid(out)))
                r = mv_error_fail(err, "%s: nix build did not name the runner's store path", what);
        if (r >= 0)
                *store_path = xstrdup(out);
        value_free(v);
        source_set_free(&set);
        return r;
}

int nix_eval_runner_path(const char *flake, const char *vm, char **out, struct mv_error **err)
{
        _cleanup_free_ char *installable =
                flake_vm_attr(flake, vm, "microvm.declaredRunner.outPath");
        const char *const args[] = { "eval", "--raw", installable, NULL };
        _cleanup_free_ char *what = xasprintf("evaluating vm %s of %s", vm, flake);
        _cleanup_free_ char *text = NULL;
        int r = run_nix(what, args, &text, err);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        if (!store_path_valid(text))
                return mv_error_fail(err, "%s: not a store path: %s", what, text);
        *out = TAKE_PTR(text);
        return 0;
}

void nix_diff_closures(const char *old_path, const char *new_path)
{
        _cleanup_free_ char *nix = NULL;
        if (nix_find(&nix, NULL) < 0)
                return;
        _cleanup_strv_free_ char **argv = NULL;
        const char *const words[] = { nix,
                                      "--extra-experimental-features",
                                      "nix-command flakes",
                                      "store",
                                      "diff-closures",
                                      old_path,
                                      new_path };
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                strv_push(&argv, words[i]);
        fflush(stdout);
        struct spawn_options o = SPAWN_OPTIONS(argv);
        o.stdin_fd = SPAWN_FD_NULL;
        int status = 0;
        struct mv_error *e = NULL;
        if (spawn_run(&o, NULL, -1, &status, NULL, &e) < 0 || status != 0)
                log_warning("nix store diff-closures %s %s failed%s%s", old_path, new_path,
                            e ? ": " : "", e ? e->msg : "");
        mv_error_free(&e);
}
