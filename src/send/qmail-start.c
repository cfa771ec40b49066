/* SPDX-License-Identifier: ISC */
/*
 * qmail-start - start the queue manager and its helpers.
 *
 *   qmail-start [defaultdelivery [logger [arg...]]]
 *
 * It wires the pipes, starts qmail-lspawn (with defaultdelivery, default
 * "./Maildir/"), qmail-rspawn, qmail-clean and, when given, the logger
 * (reading qmail-send's log on its stdin), then becomes qmail-send, so
 * a supervisor's signals reach qmail-send itself.  When qmail-send
 * exits, the helpers see the end of their input and exit too.
 *
 * Privileges: in a root install (the queue belongs to qmailq) each
 * program gets qmail's account: qmail-lspawn stays root (it becomes each
 * recipient), qmail-rspawn runs as qmailr, qmail-clean as qmailq,
 * qmail-send as qmails, the logger as qmaill.  A single-user instance
 * runs everything as the instance's owner; started by root, it drops to
 * that owner first.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "outcome.h"
#include "priv.h"

struct ids {
    bool root;
    uid_t send, clean, rspawn, logger;
    gid_t gsend, gclean, grspawn, glogger;
};

static void
get_ids(struct ids *id)
{
    struct stat st;
    uid_t qmailq;

    memset(id, 0, sizeof *id);
    if (stat("queue", &st) == -1)
        log_die_sys(EXIT_TEMP, "unable to stat queue");
    if (geteuid() == 0 && priv_user("qmailq", &qmailq, NULL) == 1 &&
        st.st_uid == qmailq) {
        id->root = true;
        if (priv_user("qmails", &id->send, &id->gsend) != 1 ||
            priv_user("qmailr", &id->rspawn, &id->grspawn) != 1 ||
            priv_user("qmailq", &id->clean, &id->gclean) != 1 ||
            priv_user("qmaill", &id->logger, &id->glogger) != 1)
            log_die(EXIT_TEMP, "a qmail account is missing: run qmail-setup -r");
        return;
    }
    /* single-user: everything as the owner of the queue */
    id->send = id->clean = id->rspawn = id->logger = st.st_uid;
    id->gsend = id->gclean = id->grspawn = id->glogger = st.st_gid;
    if (geteuid() == 0 && st.st_uid == 0)
        log_die(EXIT_PERM, "refusing to run a single-user instance as root: "
                           "its queue belongs to root (use qmail-setup -u)");
}

static void
become(uid_t uid, gid_t gid)
{
    if (geteuid() != 0 || (getuid() == uid && getgid() == gid))
        return;
    if (priv_drop(uid, gid) == -1)
        log_die_sys(EXIT_TEMP, "unable to switch to uid %lu",
                    (unsigned long)uid);
}

static void
mkpipe(int p[2])
{
    if (pipe(p) == -1)
        log_die_sys(EXIT_TEMP, "unable to create pipes");
}

/*
 * place - move the descriptors in from[] to the numbers in to[] (n of
 * them), whatever overlaps, then close everything above the highest.
 */
static void
place(const int *from, const int *to, int n)
{
    int tmp[16];

    for (int i = 0; i < n; i++) {
        tmp[i] = fcntl(from[i], F_DUPFD, 64);
        if (tmp[i] == -1)
            log_die_sys(EXIT_TEMP, "unable to arrange descriptors");
    }
    for (int i = 0; i < n; i++)
        if (dup2(tmp[i], to[i]) == -1)
            log_die_sys(EXIT_TEMP, "unable to arrange descriptors");
    for (int fd = 3; fd < 256; fd++) {
        bool keep = false;

        for (int i = 0; i < n; i++)
            if (to[i] == fd)
                keep = true;
        if (!keep)
            close(fd);
    }
}

static void __attribute__((noreturn))
run(const char *prog, char *const argv[])
{
    char path[4096];

    snprintf(path, sizeof path, "%s/bin/%s", priv_home(), prog);
    execv(path, argv);
    log_die_sys(EXIT_TEMP, "unable to run %s", path);
}

static pid_t
child(void)
{
    pid_t pid = fork();
    sigset_t none;

    if (pid == -1)
        log_die_sys(EXIT_TEMP, "unable to fork");
    if (pid == 0) {
        /* The helpers get signals as usual; only qmail-send holds them.
         * But a Ctrl-C (make run, a terminal) reaches the whole process
         * group: the helpers and the logger ignore SIGINT (an ignored
         * signal stays ignored across exec) and end when qmail-send,
         * which treats it as SIGTERM, closes their pipes. */
        signal(SIGINT, SIG_IGN);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    }
    return pid;
}

int
main(int argc, char **argv)
{
    struct ids id;
    sigset_t hold;
    int lreq[2], lrep[2], rreq[2], rrep[2], creq[2], crep[2], logp[2];
    const char *deliv = argc > 1 ? argv[1] : "./Maildir/";
    bool logger = argc > 2;

    log_init("qmail-start");
    /* A signal sent to qmail-send while it is still starting is held,
     * not fatal: qmail-send reads them from a signalfd once it runs. */
    sigemptyset(&hold);
    sigaddset(&hold, SIGHUP);
    sigaddset(&hold, SIGALRM);
    sigaddset(&hold, SIGTERM);
    sigaddset(&hold, SIGINT);
    sigaddset(&hold, SIGCHLD);
    sigprocmask(SIG_BLOCK, &hold, NULL);
    if (chdir(priv_home()) == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to %s", priv_home());
    get_ids(&id);
    if (!id.root)
        become(id.send, id.gsend);
    mkpipe(lreq);
    mkpipe(lrep);
    mkpipe(rreq);
    mkpipe(rrep);
    mkpipe(creq);
    mkpipe(crep);
    if (logger) {
        mkpipe(logp);
        if (child() == 0) {
            int from[] = {logp[0]}, to[] = {0};

            place(from, to, 1);
            become(id.logger, id.glogger);
            execvp(argv[2], argv + 2);
            log_die_sys(EXIT_TEMP, "unable to run %s", argv[2]);
        }
        /* everyone else writes the log */
        if (dup2(logp[1], 1) == -1 || dup2(logp[1], 2) == -1)
            log_die_sys(EXIT_TEMP, "unable to arrange descriptors");
        close(logp[0]);
        close(logp[1]);
    }
    if (child() == 0) {
        int from[] = {lreq[0], lrep[1]}, to[] = {0, 1};
        char *av[] = {(char *)"qmail-lspawn", (char *)deliv, NULL};

        place(from, to, 2);
        run("qmail-lspawn", av);
    }
    if (child() == 0) {
        int from[] = {rreq[0], rrep[1]}, to[] = {0, 1};
        char *av[] = {(char *)"qmail-rspawn", NULL};

        place(from, to, 2);
        become(id.rspawn, id.grspawn);
        run("qmail-rspawn", av);
    }
    if (child() == 0) {
        int from[] = {creq[0], crep[1]}, to[] = {0, 1};
        char *av[] = {(char *)"qmail-clean", NULL};

        place(from, to, 2);
        become(id.clean, id.gclean);
        run("qmail-clean", av);
    }
    {
        int from[] = {lreq[1], lrep[0], rreq[1], rrep[0], creq[1], crep[0]};
        int to[] = {3, 4, 5, 6, 7, 8};
        char *av[] = {(char *)"qmail-send", NULL};
        int devnull = open("/dev/null", O_RDONLY);

        if (devnull == -1 || dup2(devnull, 0) == -1)
            log_die_sys(EXIT_TEMP, "unable to open /dev/null");
        place(from, to, 6);
        become(id.send, id.gsend);
        run("qmail-send", av);
    }
}
