/* SPDX-License-Identifier: ISC */
/*
 * users - users/cdb, then passwd by qmail-getpw's rules, then alias (see
 * users.h).
 */
#include <errno.h>
#include <string.h>

#include "outcome.h"
#include "users.h"

static struct passwd *
sys_getpwnam(const char *name)
{
    return getpwnam(name);
}

static int
sys_stat(const char *path, struct stat *st)
{
    return stat(path, st);
}

const struct users_ops users_system = {sys_getpwnam, sys_stat};


static bool
has_upper(const char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            return true;
    return false;
}

static int
fill(struct local_user *u, const struct passwd *pw, const char *dash,
     const char *ext, size_t extlen)
{
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    if (bstr_copys(&u->user, pw->pw_name) == -1 ||
        bstr_copys(&u->home, pw->pw_dir) == -1 ||
        bstr_copys(&u->dash, dash) == -1 ||
        bstr_copyb(&u->ext, ext, extlen) == -1)
        return -1;
    return 0;
}

/*
 * users_passwd - qmail-getpw's search of the passwd database.  Returns 1
 * (u filled: dash "" and ext "" for the bare user name, dash "-" and the
 * rest as ext for user-rest), 0 when no account qualifies, -1 with errno
 * when the database or a home directory could not be checked.
 */
int
users_passwd(const struct users_ops *ops, const char *local, size_t len,
             struct local_user *u)
{
    char name[USERS_NAME_MAX + 1];

    for (size_t k = len + 1; k-- > 0;) {
        struct passwd *pw;
        struct stat st;

        if (k > USERS_NAME_MAX || (k < len && local[k] != '-'))
            continue;
        if (k == 0)
            break; /* no account has an empty name */
        memcpy(name, local, k);
        name[k] = '\0';
        if (memchr(name, '\0', k))
            continue;
        for (size_t i = 0; i < k; i++)
            if (name[i] >= 'A' && name[i] <= 'Z')
                name[i] = (char)(name[i] - 'A' + 'a');
        errno = 0;
        pw = ops->getpwnam(name);
        if (!pw) {
            if (errno && outcome_errno_temp(errno))
                return -1;
            continue;
        }
        /* a case-blind name service may hand back "Joe" for "joe" */
        if (pw->pw_uid == 0 || has_upper(pw->pw_name) || !pw->pw_dir ||
            pw->pw_dir[0] != '/')
            continue;
        if (ops->stat(pw->pw_dir, &st) == -1) {
            if (outcome_errno_temp(errno))
                return -1;
            continue;
        }
        if (st.st_uid != pw->pw_uid)
            continue;
        if (k == len)
            return fill(u, pw, "", "", 0) == -1 ? -1 : 1;
        return fill(u, pw, "-", local + k + 1, len - k - 1) == -1 ? -1 : 1;
    }
    return 0;
}

/*
 * users_alias - the alias user for local: ext is all of local, dash "-",
 * home $QMAIL_HOME/alias.  In root mode its ids come from the passwd
 * entry "alias"; in a single-user instance they are the instance's.
 * Returns 1, 0 when root mode has no alias account, -1 with errno.
 */
int
users_alias(const struct users_conf *c, const char *local, size_t len,
            struct local_user *u)
{
    u->uid = c->uid;
    u->gid = c->gid;
    if (c->rootmode) {
        struct passwd *pw;

        errno = 0;
        pw = c->ops->getpwnam(USERS_ALIAS);
        if (!pw)
            return errno && outcome_errno_temp(errno) ? -1 : 0;
        u->uid = pw->pw_uid;
        u->gid = pw->pw_gid;
    }
    if (bstr_copys(&u->user, USERS_ALIAS) == -1 ||
        bstr_copys(&u->home, c->aliashome) == -1 ||
        bstr_copys(&u->dash, "-") == -1 ||
        bstr_copyb(&u->ext, local, len) == -1)
        return -1;
    return 1;
}

/*
 * users_find - the whole search for one local part.  Returns 1 with u
 * filled, or -1 with *why naming the trouble (always temporary: a map
 * that cannot be read or a missing alias user is the admin's to fix, and
 * mail waits meanwhile).
 */
int
users_find(const struct users_conf *c, const char *local, size_t len,
           struct local_user *u, const char **why)
{
    int r;

    *why = NULL;
    if (c->cdb) {
        r = assign_lookup(c->cdb, local, len, u);
        if (r == -1) {
            *why = "Trouble reading users/cdb in qmail-lspawn.";
            return -1;
        }
        if (r == 1)
            return 1;
    }
    r = users_passwd(c->ops, local, len, u);
    if (r == -1) {
        *why = "Temporary failure reading the passwd database.";
        return -1;
    }
    if (r == 1)
        return 1;
    r = users_alias(c, local, len, u);
    if (r == 1)
        return 1;
    *why = r == 0 ? "Unable to find alias user!"
                  : "Temporary failure looking up the alias user.";
    return -1;
}
