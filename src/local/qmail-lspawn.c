/* SPDX-License-Identifier: ISC */
/*
 * qmail-lspawn - run qmail-local for each local delivery qmail-send asks
 * for (spawnproto.h on fds 0 and 1; defaultdelivery is the argument).
 * Each delivery is a child running qmail-local's code (no exec), or, when
 * $QMAILLOCAL names a program, that program with qmail-local's arguments.
 *
 * Root mode (running as root in an instance whose QMAIL_HOME belongs to
 * root, as qmail-setup -r makes it): each delivery runs as the user who
 * owns the address, never as uid 0.  Single-user instance: everything
 * runs as the instance's owner; started as root, qmail-lspawn first
 * becomes that owner.  Works in $QMAIL_HOME/queue.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bstr.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "lspawn.h"

int
main(int argc, char **argv)
{
    struct lspawn_conf c;
    struct bstr cdb = BSTR_INIT, alias = BSTR_INIT, local = BSTR_INIT;
    const char *home = priv_home();
    struct stat st;
    int code;

    log_init("qmail-lspawn");
    /* a Ctrl-C reaches the whole process group: qmail-send decides, and
     * qmail-lspawn ends when qmail-send closes its pipe (its deliveries
     * keep SIGINT ignored too, lspawn.c) */
    signal(SIGINT, SIG_IGN);
    if (argc != 2)
        log_die(EXIT_PERM, "usage: qmail-lspawn defaultdelivery");
    if (stat(home, &st) == -1)
        log_die_sys(EXIT_TEMP, "cannot stat %s", home);
    memset(&c, 0, sizeof c);
    if (geteuid() == 0 && st.st_uid == 0) {
        c.users.rootmode = true;
    } else if (geteuid() == 0) {
        /* a single-user instance started by root: become its owner */
        if (priv_drop(st.st_uid, st.st_gid) == -1)
            log_die_sys(EXIT_TEMP, "cannot become the owner of %s", home);
    }
    if (bstr_catf(&cdb, "%s/users/cdb", home) == -1 ||
        bstr_catf(&alias, "%s/alias", home) == -1)
        log_die(EXIT_TEMP, "out of memory");
    if (chdir(home) == -1 || chdir("queue") == -1)
        log_die_sys(EXIT_TEMP, "cannot chdir to %s/queue", home);

    c.defaultdelivery = argv[1];
    c.qmail_local = getenv("QMAILLOCAL");
    if (c.qmail_local && !*c.qmail_local)
        c.qmail_local = NULL;
    /* per-user workers (lworker.h) unless an external qmail-local is run
     * or LSPAWNWORKERS=0 asks for a fork per delivery */
    c.workers = !c.qmail_local && !(getenv("LSPAWNWORKERS") &&
                                    strcmp(getenv("LSPAWNWORKERS"), "0") == 0);
    if (bstr_catf(&local, "%s/bin/qmail-local", home) == -1)
        log_die(EXIT_TEMP, "out of memory");
    c.local_path = local.s;
    c.users.ops = &users_system;
    c.users.cdb = cdb.s;
    c.users.aliashome = alias.s;
    c.users.uid = getuid();
    c.users.gid = getgid();
    code = lspawn_run(&c, 0, 1);
    bstr_free(&cdb);
    bstr_free(&alias);
    bstr_free(&local);
    return code;
}
