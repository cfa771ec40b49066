/* SPDX-License-Identifier: ISC */
/*
 * vconf - where the virtual domains live (see vconf.h).
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "vconf.h"

/* strip_slashes - "/a/b//" is "/a/b"; "/" stays. */
static void
strip_slashes(struct bstr *b)
{
    while (b->len > 1 && b->s[b->len - 1] == '/')
        bstr_truncate(b, b->len - 1);
}

/*
 * vconf_load - read the settings (see vconf.h).  0, or -1 with errno and
 * *badfile naming what could not be read: a control file, or the user
 * "vpopmail" (ENOENT: root needs it to own the domains when ~vpopmail
 * is not there or is root's).
 */
int
vconf_load(struct vconf *c, const char **badfile)
{
    struct bstr backend = BSTR_INIT;
    struct passwd *pw;
    struct stat st;
    char cwd[PATH_MAX];
    int r;

    *c = (struct vconf){0};
    *badfile = "control/vpopmailhome";
    r = ctl_readline("control/vpopmailhome", &c->home);
    if (r == -1)
        goto fail;
    errno = 0;
    pw = getpwnam(VCONF_USER);
    if (!pw && errno != 0 && errno != ENOENT && errno != ESRCH)
        goto fail;
    if (r == 0 || c->home.len == 0) {
        const char *h = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir
                                                        : VCONF_HOME_DEFAULT;

        if (bstr_copys(&c->home, h) == -1)
            goto fail;
    }
    if (c->home.s[0] != '/') {
        errno = EINVAL;
        goto fail;
    }
    strip_slashes(&c->home);
    c->root = geteuid() == 0;
    if (c->root && stat(c->home.s, &st) == 0 && S_ISDIR(st.st_mode) &&
        st.st_uid != 0) {
        /* ~vpopmail's owner: vpopmail:vchkpw on a server, the instance's
         * owner in a single-user tree (the demo) that root looks after */
        c->uid = st.st_uid;
        c->gid = st.st_gid;
    } else if (c->root) {
        struct group *gr;

        *badfile = "user " VCONF_USER;
        if (!pw) {
            errno = ENOENT;
            goto fail;
        }
        c->uid = pw->pw_uid;
        c->gid = pw->pw_gid;
        errno = 0;
        gr = getgrnam(VCONF_GROUP);
        if (gr)
            c->gid = gr->gr_gid;
    } else {
        c->uid = getuid();
        c->gid = getgid();
    }
    *badfile = "control/vpopbackend";
    r = ctl_readline("control/vpopbackend", &backend);
    if (r == -1)
        goto fail;
    if (r == 0 || backend.len == 0 || strcmp(backend.s, "cdb") == 0)
        c->backend = VCONF_CDB;
    else if (strcmp(backend.s, "pgsql") == 0)
        c->backend = VCONF_PGSQL;
    else {
        errno = EINVAL;
        goto fail;
    }
    if (c->backend == VCONF_PGSQL) {
        *badfile = "control/vpoppgsql";
        r = ctl_readline("control/vpoppgsql", &c->pgconn);
        if (r == -1)
            goto fail;
        if (r == 0) {
            errno = ENOENT;
            goto fail;
        }
    }
    *badfile = "the current directory";
    if (!getcwd(cwd, sizeof cwd) || bstr_copys(&c->qmailhome, cwd) == -1)
        goto fail;
    bstr_free(&backend);
    *badfile = NULL;
    return 0;
fail:
    r = errno ? errno : EINVAL;
    bstr_free(&backend);
    vconf_free(c);
    errno = r;
    return -1;
}

void
vconf_free(struct vconf *c)
{
    bstr_free(&c->home);
    bstr_free(&c->qmailhome);
    if (c->pgconn.s)
        explicit_bzero(c->pgconn.s, c->pgconn.len);
    bstr_free(&c->pgconn);
}

/* vconf_domains_dir - ~vpopmail/domains into out.  0, or -1 (ENOMEM). */
int
vconf_domains_dir(const struct vconf *c, struct bstr *out)
{
    bstr_truncate(out, 0);
    return bstr_catf(out, "%s/domains", c->home.s);
}
