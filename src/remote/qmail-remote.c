/* SPDX-License-Identifier: ISC */
/*
 * qmail-remote - deliver mail to one remote domain by SMTP.
 *
 *   qmail-remote host sender recip [recip ...]   qmail-1.03's interface:
 *       the message on fd 0, one report per recipient and one for the
 *       message on fd 1 (report.c)
 *   qmail-remote -m host                         batch mode, for
 *       qmail-rspawn: cwd the queue, requests on fd 0, reports on fd 1
 *       (batch.c), one connection for every message
 *
 * Settings come from $QMAIL_HOME/control, once.  Started as root, it
 * first becomes qmailr (root install) or the instance's owner: it talks
 * to the network.  Wrong arguments get qmail-1.03's permanent failure
 * report; trouble before any delivery (no memory, no user qmailr) exits
 * 111; everything else is reported, and the exit code is 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "dns.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "remote.h"
#include "resolve.h"
#include "writeall.h"

#define TCPTO_PATH "lock/tcpto" /* under the queue */

/*
 * misused - wrong arguments: as qmail-1.03, a permanent failure report
 * (a qmail-rspawn reads fd 1, and its fd 2 is often the same pipe), with
 * the usage on fd 2 only when that is a terminal.  Exit code 0.
 */
static int
misused(void)
{
    static const char usage[] = "usage: qmail-remote host sender recip "
                                "[recip ...] | qmail-remote -m host\n";
    struct bstr text = BSTR_INIT;
    int code;

    if (isatty(2) && write_all(2, usage, sizeof usage - 1) == -1) {
        /* nobody to tell */
    }
    /* the 'D' record, its text, and the NUL that ends a report */
    if (bstr_catc(&text, 'D') == -1 ||
        result_line(&text, RS_MISUSED, RESULT_NOARGS) == -1 ||
        bstr_catc(&text, '\0') == -1)
        return EXIT_TEMP;
    code = write_all(1, text.s, text.len) == 0 ? EXIT_OK : EXIT_TEMP;
    bstr_free(&text);
    return code;
}

/*
 * drop - started as root: become qmailr in a root install (QMAIL_HOME
 * owned by root), else the owner of QMAIL_HOME.
 */
static void
drop(const char *home)
{
    struct stat st;
    uid_t uid;
    gid_t gid;

    if (geteuid() != 0)
        return;
    if (stat(home, &st) == -1)
        log_die_sys(EXIT_TEMP, "cannot stat %s", home);
    uid = st.st_uid;
    gid = st.st_gid;
    if (st.st_uid == 0 && priv_user("qmailr", &uid, &gid) != 1)
        log_die(EXIT_TEMP, "no user qmailr to run as");
    if (uid == 0 || priv_drop(uid, gid) == -1)
        log_die_sys(EXIT_TEMP, "cannot give up root");
}

/*
 * setup - settings, resolver and routes, with cwd $QMAIL_HOME; why gets
 * the reason when something is wrong (every message then fails
 * temporarily with it).
 */
static void
setup(struct remote *rm, struct remote_conf *c, struct dns *d,
      const char *host, struct bstr *why)
{
    const char *bad = NULL;

    if (remote_conf_load(c, &bad) == -1) {
        int r;

        /* unreadable: qmail-1.03's words; a bad value: which file */
        if (errno == EINVAL || errno == ERANGE)
            r = result_line(why, RS_CTL_READ,
                            RESULT_ARGS(bad ? bad : "?", strerror(errno)));
        else
            r = result_line(why, RS_CTLS_READ, RESULT_NOARGS);
        if (r == -1 || (remote_init(rm, c, host, why) == -1 && why->len == 0))
            log_die(EXIT_TEMP, "out of memory");
        return;
    }
    if (remote_init(rm, c, host, why) == -1) {
        if (why->len == 0)
            log_die(EXIT_TEMP, "out of memory");
        return;
    }
    if (dns_init(d, "control/dnsservers") == -1) {
        if (result_line(why, RS_DNS_SETUP,
                        RESULT_ARGS(d->err.s ? d->err.s : strerror(errno))) ==
            -1)
            log_die(EXIT_TEMP, "out of memory");
        return;
    }
    resolve_dns(&rm->res, d);
}

/* classic - qmail-1.03's interface: one message, its report on fd 1. */
static int
classic(struct remote *rm, const struct bstr *fail, const char *sender,
        char **rcpts, size_t n)
{
    struct remote_msg m;
    struct bstr out = BSTR_INIT;
    int code = EXIT_OK;

    if (remote_msg_init(&m, sender, (const char *const *)rcpts, n, 0) == -1)
        log_die(EXIT_TEMP, "out of memory");
    if (fail->len) {
        if (bstr_copy(&m.text, fail) == -1)
            log_die(EXIT_TEMP, "out of memory");
    } else {
        remote_deliver(rm, &m);
        remote_finish(rm);
    }
    if (remote_report_classic(&m, &out) == -1)
        log_die(EXIT_TEMP, "out of memory");
    if (write_all(1, out.s, out.len) == -1)
        code = EXIT_TEMP;
    remote_msg_free(&m);
    bstr_free(&out);
    return code;
}

int
main(int argc, char **argv)
{
    struct remote_conf c;
    struct remote rm;
    struct dns d;
    struct bstr why = BSTR_INIT, host = BSTR_INIT;
    const char *home = priv_home();
    bool batch = argc == 3 && strcmp(argv[1], "-m") == 0;
    int qfd = -1, code;

    log_init("qmail-remote");
    signal(SIGPIPE, SIG_IGN);
    if (!batch && (argc < 4 || argv[1][0] == '-'))
        return misused();
    if (bstr_copys(&host, argv[batch ? 2 : 1]) == -1)
        log_die(EXIT_TEMP, "out of memory");
    bstr_lower(&host);
    drop(home);
    if (batch && (qfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
        log_die_sys(EXIT_TEMP, "cannot open the queue directory");

    memset(&c, 0, sizeof c);
    memset(&rm, 0, sizeof rm);
    memset(&d, 0, sizeof d);
    if (chdir(home) == -1) {
        if (result_line(&why, RS_HOME_CHDIR, RESULT_NOARGS) == -1 ||
            (remote_init(&rm, &c, host.s, &why) == -1 && why.len == 0))
            log_die(EXIT_TEMP, "out of memory");
    } else {
        setup(&rm, &c, &d, host.s, &why);
    }
    /* the downed-host memory lives in the queue */
    if (batch ? fchdir(qfd) == 0 : chdir("queue") == 0)
        rm.tcpto = TCPTO_PATH;
    if (qfd != -1)
        close(qfd);

    if (batch)
        code = remote_batch(&rm, &why, 0, 1);
    else
        code = classic(&rm, &why, argv[2], argv + 3, (size_t)argc - 3);
    remote_free(&rm);
    remote_conf_free(&c);
    dns_free(&d);
    bstr_free(&why);
    bstr_free(&host);
    return code;
}
