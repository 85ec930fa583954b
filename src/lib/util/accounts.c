#include "util/accounts.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/xalloc.h"

enum kind {
        USER_BY_NAME,
        USER_BY_ID,
        GROUP_BY_NAME,
        GROUP_BY_ID
};

/* What the child sends back: fixed size, so one read of a pipe carries it whole. */
struct answer {
        int found;
        unsigned id, gid;
        char name[256];
};

struct entry {
        enum kind kind;
        char *key_name;
        unsigned key_id;
        struct answer answer;
        struct entry *next;
};

static struct entry *cache;
/* Names asked with any first lookup, so that one child answers what a command needs. */
static const char *expected_user, *expected_group;

void accounts_expect(const char *user, const char *group)
{
        expected_user = user;
        expected_group = group;
}

static void look_up(enum kind kind, const char *name, unsigned id, struct answer *a)
{
        const char *found = NULL;
        memset(a, 0, sizeof(*a));
        if (kind == USER_BY_NAME || kind == USER_BY_ID) {
                struct passwd *pw = kind == USER_BY_NAME ? getpwnam(name) : getpwuid(id);
                if (pw) {
                        a->id = pw->pw_uid;
                        a->gid = pw->pw_gid;
                        found = pw->pw_name;
                }
        } else {
                struct group *gr = kind == GROUP_BY_NAME ? getgrnam(name) : getgrgid(id);
                if (gr) {
                        a->id = gr->gr_gid;
                        found = gr->gr_name;
                }
        }
        /* A name too long for the answer is treated as absent rather than cut. */
        size_t len = found ? strlen(found) : 0;
        if (found && len < sizeof(a->name)) {
                a->found = 1;
                memcpy(a->name, found, len + 1);
        }
}

static bool read_whole(int fd, void *buf, size_t len)
{
        char *p = buf;
        while (len > 0) {
                ssize_t n = read(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return false;
                p += n;
                len -= (size_t)n;
        }
        return true;
}

struct key {
        enum kind kind;
        const char *name;
        unsigned id;
};

static struct entry *find(const struct key *k)
{
        for (struct entry *e = cache; e; e = e->next)
                if (e->kind == k->kind &&
                    (k->name ? e->key_name && strcmp(e->key_name, k->name) == 0
                             : !e->key_name && e->key_id == k->id))
                        return e;
        return NULL;
}

/* Answer `keys` in a child, in order, into `answers`; here if there can be no child. */
static void look_up_in_child(const struct key *keys, size_t n, struct answer *answers)
{
        int p[2] = { -1, -1 };
        bool piped = pipe2(p, O_CLOEXEC) == 0;
        pid_t pid = piped ? fork() : -1;
        if (pid == 0) {
                close(p[0]);
                for (size_t i = 0; i < n; i++) {
                        struct answer mine;
                        look_up(keys[i].kind, keys[i].name, keys[i].id, &mine);
                        if (write(p[1], &mine, sizeof(mine)) != (ssize_t)sizeof(mine))
                                _exit(1);
                }
                _exit(0);
        }
        bool ok = false;
        if (pid > 0) {
                close(p[1]);
                ok = read_whole(p[0], answers, n * sizeof(*answers));
                close(p[0]);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        } else if (piped) {
                close(p[0]);
                close(p[1]);
        }
        for (size_t i = 0; !ok && i < n; i++)
                look_up(keys[i].kind, keys[i].name, keys[i].id, &answers[i]);
}

static struct entry *remember(const struct key *k, const struct answer *a)
{
        struct entry *e = xcalloc(1, sizeof(*e));
        e->kind = k->kind;
        e->key_name = k->name ? xstrdup(k->name) : NULL;
        e->key_id = k->id;
        e->answer = *a;
        e->next = cache;
        cache = e;
        return e;
}

static bool lookup(enum kind kind, const char *name, unsigned id, struct account *out)
{
        struct key want = { kind, name, id };
        struct entry *e = find(&want);
        if (!e) {
                /* One child for what a command asks anyway: the caller and the expected names. */
                struct key keys[5] = { want };
                size_t n = 1;
                const struct key usual[] = {
                        { USER_BY_ID, NULL, geteuid() },
                        { GROUP_BY_ID, NULL, getegid() },
                        { USER_BY_NAME, expected_user, 0 },
                        { GROUP_BY_NAME, expected_group, 0 },
                };
                for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++) {
                        const struct key *u = &usual[i];
                        if ((u->kind == USER_BY_NAME || u->kind == GROUP_BY_NAME) && !u->name)
                                continue;
                        bool same = u->kind == kind && (name ? u->name && strcmp(u->name, name) == 0
                                                             : !u->name && u->id == id);
                        if (!same && !find(u))
                                keys[n++] = *u;
                }
                struct answer answers[5];
                look_up_in_child(keys, n, answers);
                for (size_t i = n; i-- > 1;)
                        remember(&keys[i], &answers[i]);
                e = remember(&keys[0], &answers[0]);
        }
        if (!e->answer.found)
                return false;
        *out = (struct account){ .name = e->answer.name, .id = e->answer.id, .gid = e->answer.gid };
        return true;
}

bool account_user_by_name(const char *name, struct account *out)
{
        return lookup(USER_BY_NAME, name, 0, out);
}

bool account_user_by_id(uid_t uid, struct account *out)
{
        return lookup(USER_BY_ID, NULL, uid, out);
}

bool account_group_by_name(const char *name, struct account *out)
{
        return lookup(GROUP_BY_NAME, name, 0, out);
}

bool account_group_by_id(gid_t gid, struct account *out)
{
        return lookup(GROUP_BY_ID, NULL, gid, out);
}
