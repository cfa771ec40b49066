/* SPDX-License-Identifier: ISC */
/*
 * sendmail - the Sendmail command line, on qmail-inject (sendmail(8)).
 *
 * As qmail's sendmail, this program only translates: it runs
 * $QMAIL_HOME/bin/qmail-inject with -H (for -t) or -a, the sender, and
 * the recipients after "--", so there is one implementation of the
 * message rules.  -F becomes QMAILNAME; -f also names the default From:
 * (QMAILUSER/QMAILHOST) so that a message without From: shows its
 * sender.  -bp runs qmail-qread, -bs runs qmail-smtpd on stdin/stdout as
 * a trusted local client.  A line holding a single dot never ends the
 * message, with or without -i/-oi: qmail-inject reads to end of file, as
 * qmail's always did.  Exit codes are qmail-inject's: 0, 100, 111.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inject.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"

static void __attribute__((noreturn))
die_nomem(void)
{
    log_die(EXIT_TEMP, "out of memory");
}

static void
set(const char *name, const char *value)
{
    if (setenv(name, value, 1) == -1)
        die_nomem();
}

/* runas_smtpd - qmail-smtpd refuses root: a root caller's session runs
 * as the instance's owner (single-user instance) or as qmaild. */
static void
runas_smtpd(void)
{
    struct stat st;
    uid_t uid;
    gid_t gid;
    int r;

    if (getuid() != 0 && geteuid() != 0)
        return;
    if (stat(".", &st) == 0 && st.st_uid != 0) {
        uid = st.st_uid;
        gid = st.st_gid;
    } else if ((r = priv_user("qmaild", &uid, &gid)) != 1) {
        if (r == -1)
            log_die_sys(EXIT_TEMP, "unable to look up user qmaild");
        log_die(EXIT_TEMP, "refusing to run qmail-smtpd as root, and there "
                           "is no user qmaild to run it as");
    }
    if (priv_drop(uid, gid) == -1)
        log_die_sys(EXIT_TEMP, "unable to drop privileges for qmail-smtpd");
}

static void __attribute__((noreturn))
smtpd(void)
{
    char *argv[] = {(char *)"qmail-smtpd", NULL};

    /* qmail's sendmail -bs: a local client, trusted to relay */
    if (!getenv("PROTO")) {
        set("RELAYCLIENT", "");
        set("DATABYTES", "0");
        set("PROTO", "TCP");
        set("TCPLOCALIP", "127.0.0.1");
        set("TCPLOCALHOST", "localhost");
        set("TCPREMOTEIP", "127.0.0.1");
        set("TCPREMOTEHOST", "localhost");
        set("TCPREMOTEINFO", "sendmail-bs");
    }
    runas_smtpd();
    execv("bin/qmail-smtpd", argv);
    log_die_sys(EXIT_TEMP, "unable to run qmail-smtpd");
}

static void __attribute__((noreturn))
qread(void)
{
    char *argv[] = {(char *)"qmail-qread", NULL};

    execv("bin/qmail-qread", argv);
    log_die_sys(EXIT_TEMP, "unable to run qmail-qread");
}

/* from_sender - -f a@b also makes the default From: a@b (the caller's
 * own name no longer applies to it); a bad address is qmail-inject's to
 * report. */
static void
from_sender(const char *sender)
{
    struct headeraddr a;
    const char *why;

    memset(&a, 0, sizeof a);
    if (headeraddr_one(sender, strlen(sender), &a, &why) == -1 || a.null) {
        headeraddr_free(&a);
        return;
    }
    unsetenv("QMAILNAME");
    unsetenv("MAILNAME");
    unsetenv("NAME");
    unsetenv("MAILHOST");
    set("QMAILUSER", a.local.s);
    if (a.domain.len)
        set("QMAILHOST", a.domain.s);
    else
        unsetenv("QMAILHOST");
    headeraddr_free(&a);
}

int
main(int argc, char **argv)
{
    struct sendmail_args a;
    char **qi;
    int n = 0;

    log_init("sendmail");
    if (sendmail_args(&a, argc, argv) == -1)
        log_die(EXIT_PERM, "%s", a.why);
    if (chdir(priv_home()) == -1)
        log_die_sys(EXIT_TEMP, "unable to switch to %s", priv_home());
    if (a.mode == SM_QREAD)
        qread();
    if (a.mode == SM_SMTPD)
        smtpd();
    if (!a.header && a.nrcpt == 0)
        log_die(EXIT_PERM, "no recipients: give them as arguments, or use "
                           "-t to take them from the header");
    if (a.sender && *a.sender)
        from_sender(a.sender);
    if (a.fullname && *a.fullname) {
        if (!inject_text_ok(a.fullname))
            log_die(EXIT_PERM, "the -F name contains a control character");
        set("QMAILNAME", a.fullname);
    } else if (a.fullname) {
        /* -F "": no name at all, not the caller's */
        unsetenv("QMAILNAME");
        unsetenv("MAILNAME");
        unsetenv("NAME");
    }
    qi = calloc((size_t)a.nrcpt + 6, sizeof *qi);
    if (!qi)
        die_nomem();
    qi[n++] = (char *)"qmail-inject";
    qi[n++] = (char *)(a.header ? "-H" : "-a");
    if (a.sender) {
        qi[n++] = (char *)"-f";
        qi[n++] = (char *)a.sender;
    }
    qi[n++] = (char *)"--";
    for (int i = 0; i < a.nrcpt; i++)
        qi[n++] = a.rcpt[i];
    qi[n] = NULL;
    execv("bin/qmail-inject", qi);
    log_die_sys(EXIT_TEMP, "unable to run qmail-inject");
}
