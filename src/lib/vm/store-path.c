#include "vm/store-path.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"

/* Nix's base32: the digits and the letters without e, o, u, t. */
static bool nix_base32(char c)
{
        return c && strchr("0123456789abcdfghijklmnpqrsvwxyz", c);
}

static bool nix_name_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("+-._?=", c));
}

bool store_path_valid(const char *path)
{
        size_t n = strlen(NIX_STORE_DIR);
        if (strncmp(path, NIX_STORE_DIR "/", n + 1) != 0)
                return false;
        const char *p = path + n + 1;
        for (size_t i = 0; i < 32; i++)
                if (!nix_base32(p[i]))
                        return false;
        if (p[32] != '-' || !p[33] || p[33] == '.')
                return false;
        for (p += 33; *p; p++)
                if (!nix_name_char(*p))
                        return false;
        return true;
}

static int untrusted(const char *what, const struct stat *st, struct mv_error **err)
{
        mv_error_fail(err, "%s is not a store only root can change (owner %u, mode %04o)", what,
                      (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777));
        return mv_error_hint(err, "runners from a Nix store are used only from a multi-user "
                                  "installation, whose store belongs to root");
}

int store_path_trusted(const char *path, struct mv_error **err)
{
        if (!store_path_valid(path))
                return mv_error_fail(err, "%s is not a Nix store path", path);
        struct stat st;
        /* Every directory above it: a user who can rename one could swap the store. */
        static const char *const parents[] = { "/", "/nix", NIX_STORE_DIR };
        for (size_t i = 0; i < sizeof(parents) / sizeof(parents[0]); i++) {
                if (lstat(parents[i], &st) < 0)
                        return mv_error_set(err, errno, "%s", parents[i]);
                bool shared_sticky = (st.st_mode & S_ISVTX) != 0;
                if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
                    ((st.st_mode & 022) && !shared_sticky))
                        return untrusted(parents[i], &st, err);
        }
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return mv_error_set(err, errno, "%s", path);
        if (fstat(fd, &st) < 0)
                return mv_error_set(err, errno, "%s", path);
        if (st.st_uid != 0 || (st.st_mode & 022))
                return untrusted(path, &st, err);
        return 0;
}
