#include "vm/runner-copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/io.h"
#include "util/sha256.h"
#include "util/strv.h"
#include "util/xalloc.h"
#include "vm/runner.h"

struct copy {
        struct sha256 hash;
        size_t bytes, entries;
        const char *src; /* for messages */
};

/* What the hash covers of an entry before its bytes: kind, mode, size and name. */
static void hash_head(struct copy *c, char kind, const char *rel, mode_t mode, size_t len)
{
        char head[48];
        int n = snprintf(head, sizeof(head), "%c %04o %zu ", kind, (unsigned)(mode & 07777), len);
        sha256_update(&c->hash, head, (size_t)n);
        sha256_update(&c->hash, rel, strlen(rel) + 1);
}

static void hash_record(struct copy *c, char kind, const char *rel, mode_t mode, const void *data,
                        size_t len)
{
        hash_head(c, kind, rel, mode, len);
        sha256_update(&c->hash, data, len);
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of directory `fd`, sorted: the hash must not depend on readdir's order. */
static char **sorted_entries(int fd)
{
        int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        DIR *d = dup < 0 ? NULL : fdopendir(dup);
        if (!d) {
                if (dup >= 0)
                        close(dup);
                return NULL;
        }
        char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        strv_push(&names, de->d_name);
        closedir(d);
        size_t n = strv_length(names);
        if (n)
                qsort(names, n, sizeof(*names), name_cmp);
        return names;
}

static int copy_file(struct copy *c, int from_dir, int to_dir, const char *name, const char *rel,
                     struct mv_error **err)
{
        _cleanup_close_ int in =
                openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct stat st;
        if (in < 0 || fstat(in, &st) < 0)
                return mv_error_set(err, errno, "%s/%s", c->src, rel);
        if (!S_ISREG(st.st_mode))
                return mv_error_fail(err, "%s/%s changed while it was copied", c->src, rel);
        /* The hypervisor's user reads it; a file root alone may read is no runner's. */
        if (!(st.st_mode & S_IROTH))
                return mv_error_fail(err, "%s/%s is not readable by everyone (mode %04o)", c->src,
                                     rel, (unsigned)(st.st_mode & 07777));
        if ((uint64_t)st.st_size > RUNNER_COPY_MAX_BYTES - c->bytes)
                return mv_error_fail(err, "%s/%s: a runner holds at most %d MiB", c->src, rel,
                                     RUNNER_COPY_MAX_BYTES >> 20);
        mode_t mode = (st.st_mode & 0111) ? 0755 : 0644;
        _cleanup_close_ int out =
                openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (out < 0 || fchmod(out, mode) < 0)
                return mv_error_set(err, errno, "create a copy of %s/%s", c->src, rel);
        hash_head(c, 'f', rel, mode, (size_t)st.st_size);
        /* Exactly the size fstat saw: a file that grows meanwhile cannot stretch the copy. */
        off_t left = st.st_size;
        char buf[65536];
        while (left > 0) {
                ssize_t got = read(in, buf, left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf));
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        return got < 0 ? mv_error_set(err, errno, "read %s/%s", c->src, rel)
                                       : mv_error_fail(err, "%s/%s shrank while it was copied",
                                                       c->src, rel);
                sha256_update(&c->hash, buf, (size_t)got);
                if (write_all(out, buf, (size_t)got) < 0)
                        return mv_error_set(err, errno, "write a copy of %s/%s", c->src, rel);
                left -= got;
        }
        c->bytes += (size_t)st.st_size;
        if (fsync(out) < 0)
                return mv_error_set(err, errno, "write a copy of %s/%s", c->src, rel);
        return 0;
}

static int copy_dir(struct copy *c, int from, int to, const char *rel, int depth,
                    struct mv_error **err)
{
        if (depth > RUNNER_COPY_MAX_DEPTH)
                return mv_error_fail(err, "%s/%s: nested deeper than %d directories", c->src, rel,
                                     RUNNER_COPY_MAX_DEPTH);
        _cleanup_strv_free_ char **names = sorted_entries(from);
        for (size_t i = 0; names && names[i]; i++) {
                const char *name = names[i];
                _cleanup_free_ char *sub = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
                if (++c->entries > RUNNER_COPY_MAX_ENTRIES)
                        return mv_error_fail(err, "%s has more than %d entries", c->src,
                                             RUNNER_COPY_MAX_ENTRIES);
                struct stat st;
                if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return mv_error_set(err, errno, "%s/%s", c->src, sub);
                int r = 0;
                if (S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t n = readlinkat(from, name, target, sizeof(target) - 1);
                        if (n < 0)
                                return mv_error_set(err, errno, "%s/%s", c->src, sub);
                        target[n] = '\0';
                        hash_record(c, 'l', sub, 0777, target, (size_t)n);
                        if (symlinkat(target, to, name) < 0)
                                return mv_error_set(err, errno, "copy link %s/%s", c->src, sub);
                } else if (S_ISREG(st.st_mode)) {
                        r = copy_file(c, from, to, name, sub, err);
                } else if (S_ISDIR(st.st_mode)) {
                        hash_record(c, 'd', sub, 0755, "", 0);
                        _cleanup_close_ int in =
                                openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (in < 0)
                                return mv_error_set(err, errno, "%s/%s", c->src, sub);
                        if (mkdirat(to, name, 0755) < 0)
                                return mv_error_set(err, errno, "copy %s/%s", c->src, sub);
                        _cleanup_close_ int out =
                                openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (out < 0)
                                return mv_error_set(err, errno, "copy %s/%s", c->src, sub);
                        r = copy_dir(c, in, out, sub, depth + 1, err);
                } else {
                        return mv_error_fail(err,
                                             "%s/%s is not a file, directory or symlink: a "
                                             "runner holds nothing else",
                                             c->src, sub);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* share/microvm/hypervisor in the copy, where the original has none. */
static int add_hypervisor(struct copy *c, int to, const char *hypervisor, struct mv_error **err)
{
        if (faccessat(to, "share/microvm/hypervisor", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        _cleanup_free_ char *text = xasprintf("%s\n", hypervisor);
        hash_record(c, 'h', "share/microvm/hypervisor", 0644, text, strlen(text));
        static const char *const dirs[] = { "share", "share/microvm" };
        for (size_t i = 0; i < 2; i++)
                if (mkdirat(to, dirs[i], 0755) < 0 && errno != EEXIST)
                        return mv_error_set(err, errno, "create %s in the copy", dirs[i]);
        _cleanup_close_ int fd = openat(to, "share/microvm/hypervisor",
                                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0)
                return mv_error_set(err, errno, "write share/microvm/hypervisor in the copy");
        return 0;
}

int runner_copy_in(const char *state_dir, const char *name, const char *src, const char *hypervisor,
                   char **runner, bool *created, struct mv_error **err)
{
        *created = false;
        _cleanup_close_ int from = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (from < 0)
                return mv_error_set(err, errno, "open runner %s", src);
        _cleanup_free_ char *runners = xasprintf("%s/" RUNNERS_DIR, state_dir);
        int r = mkdir_p(runners, 0755, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *tmp = make_temp_dir(runners, name, err);
        if (!tmp)
                return mv_error_return(*err);
        _cleanup_close_ int to = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct copy c = { .src = src };
        sha256_init(&c.hash);
        r = to < 0 ? mv_error_set(err, errno, "open %s", tmp) : copy_dir(&c, from, to, "", 0, err);
        if (r >= 0 && hypervisor)
                r = add_hypervisor(&c, to, hypervisor, err);
        _cleanup_free_ char *dirname = NULL;
        if (r >= 0) {
                uint8_t digest[32];
                sha256_final(&c.hash, digest);
                char hex[33];
                for (size_t i = 0; i < 16; i++)
                        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
                dirname = xasprintf("%s-%s", hex, name);
                if (runner_complete(runners, dirname))
                        ; /* the same runner is installed already */
                else
                        r = runner_commit(runners, tmp, dirname, created, err);
        }
        if (!*created)
                remove_tree(tmp);
        if (r < 0)
                return mv_error_wrap(err, "install runner %s as vm %s", src, name);
        *runner = TAKE_PTR(dirname);
        return 0;
}
