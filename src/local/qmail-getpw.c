/* SPDX-License-Identifier: ISC */
/*
 * qmail-getpw - which passwd account controls a local address.
 *
 * qmail-getpw local prints user, uid, gid, homedir, dash and ext, each
 * ended by a NUL, by qmail-getpw(8)'s rules (users.h): the account whose
 * name is the local part or its longest prefix before a '-', else the
 * alias user with the whole local part as ext.  It does not read
 * users/cdb.  Exit 0; 100 for a usage error; 111, printing nothing on
 * stdout, when the answer is not certain.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bstr.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "users.h"

/* field - one NUL-ended field (an empty bstr may have no storage). */
static int
field(struct bstr *out, const struct bstr *f)
{
    if (f->len && bstr_catb(out, f->s, f->len) == -1)
        return -1;
    return bstr_catc(out, '\0');
}

int
main(int argc, char **argv)
{
    struct users_conf c;
    struct local_user u;
    struct bstr alias = BSTR_INIT, out = BSTR_INIT;
    const char *home = priv_home();
    struct stat st;
    int r;

    log_init("qmail-getpw");
    if (argc != 2)
        log_die(EXIT_PERM, "usage: qmail-getpw local");
    memset(&c, 0, sizeof c);
    c.ops = &users_system;
    c.rootmode = stat(home, &st) == 0 && st.st_uid == 0;
    c.uid = getuid();
    c.gid = getgid();
    if (bstr_catf(&alias, "%s/alias", home) == -1)
        log_die(EXIT_TEMP, "out of memory");
    c.aliashome = alias.s;
    local_user_init(&u);
    r = users_passwd(c.ops, argv[1], strlen(argv[1]), &u);
    if (r == -1)
        log_die_sys(EXIT_TEMP, "cannot read the passwd database");
    if (r == 0) {
        r = users_alias(&c, argv[1], strlen(argv[1]), &u);
        if (r == 0)
            log_die(EXIT_TEMP, "unable to find alias user");
        if (r == -1)
            log_die_sys(EXIT_TEMP, "cannot look up the alias user");
    }
    if (field(&out, &u.user) == -1 || bstr_catu(&out, u.uid) == -1 ||
        bstr_catc(&out, '\0') == -1 || bstr_catu(&out, u.gid) == -1 ||
        bstr_catc(&out, '\0') == -1 || field(&out, &u.home) == -1 ||
        field(&out, &u.dash) == -1 || field(&out, &u.ext) == -1)
        log_die(EXIT_TEMP, "out of memory");
    if (fwrite(out.s, 1, out.len, stdout) != out.len || fflush(stdout) == EOF)
        log_die_sys(EXIT_TEMP, "cannot write output");
    local_user_free(&u);
    bstr_free(&alias);
    bstr_free(&out);
    return 0;
}
