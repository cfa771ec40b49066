/* SPDX-License-Identifier: ISC */
/*
 * priv - instance home and privilege dropping (see priv.h).
 *
 * Order of a drop (Postfix chroot_uid, OpenSMTPD queue()): supplementary
 * groups, then gid, then uid; then prove that uid 0 is gone for good.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf_home.h"
#include "priv.h"

/* priv_elevated - true when running setuid or setgid. */
bool
priv_elevated(void)
{
    return getuid() != geteuid() || getgid() != getegid();
}

/* priv_home - the instance's QMAIL_HOME (never NULL). */
const char *
priv_home(void)
{
    const char *h;

    if (priv_elevated())
        return QMAIL_HOME_DEFAULT;
    h = getenv("QMAIL_HOME");
    if (h && h[0] == '/')
        return h;
    return QMAIL_HOME_DEFAULT;
}

/* priv_user - uid and primary gid of a user: 1 found, 0 absent, -1 error. */
int
priv_user(const char *name, uid_t *uid, gid_t *gid)
{
    struct passwd *pw;

    errno = 0;
    pw = getpwnam(name);
    if (!pw)
        return errno && errno != ENOENT && errno != ESRCH ? -1 : 0;
    *uid = pw->pw_uid;
    if (gid)
        *gid = pw->pw_gid;
    return 1;
}

/* priv_group - gid of a group: 1 found, 0 absent, -1 error. */
int
priv_group(const char *name, gid_t *gid)
{
    struct group *gr;

    errno = 0;
    gr = getgrnam(name);
    if (!gr)
        return errno && errno != ENOENT && errno != ESRCH ? -1 : 0;
    *gid = gr->gr_gid;
    return 1;
}

/* priv_drop - become uid/gid for good: 0, or -1 with errno set. */
int
priv_drop(uid_t uid, gid_t gid)
{
    if (geteuid() == 0 && setgroups(1, &gid) == -1)
        return -1;
    if (setresgid(gid, gid, gid) == -1)
        return -1;
    if (setresuid(uid, uid, uid) == -1)
        return -1;
    if (getuid() != uid || geteuid() != uid || getgid() != gid ||
        getegid() != gid) {
        errno = EPERM;
        return -1;
    }
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        errno = EPERM;
        return -1;
    }
    return 0;
}
