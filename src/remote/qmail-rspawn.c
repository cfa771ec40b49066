/* SPDX-License-Identifier: ISC */
/*
 * qmail-rspawn - run remote deliveries for qmail-send (spawnproto.h on
 * fds 0 and 1), grouped by destination domain, each group's messages
 * over as few SMTP connections as possible (rspawn.h): it runs
 * `qmail-remote -m DOMAIN` workers ($QMAILREMOTE names another program
 * speaking the same protocol) in $QMAIL_HOME/queue.
 *
 * control/concurrencyperdomain (default 20) caps the connections to one
 * domain; qmail-send's concurrencyremote caps the deliveries running at
 * once.  Started by qmail-start, as qmailr in a root install.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "bstr.h"
#include "ctl.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "rspawn.h"

#define PERDOMAIN_DEFAULT 20
#define PERDOMAIN_MAX 1000
#define IDLE_MAX 20     /* idle workers at most */
#define LINGER_MS 2000  /* an idle worker's wait for another message */

int
main(void)
{
    struct rspawn_conf c;
    struct bstr remote = BSTR_INIT, ctl = BSTR_INIT;
    const char *home = priv_home();
    unsigned long perdomain = PERDOMAIN_DEFAULT;
    int code;

    log_init("qmail-rspawn");
    /* a Ctrl-C reaches the whole process group: qmail-send decides, and
     * qmail-rspawn ends when qmail-send closes its pipe (its workers
     * inherit SIGINT ignored and finish their deliveries) */
    signal(SIGINT, SIG_IGN);
    if (bstr_catf(&remote, "%s/bin/qmail-remote", home) == -1 ||
        bstr_catf(&ctl, "%s/control/concurrencyperdomain", home) == -1)
        log_die(EXIT_TEMP, "out of memory");
    switch (ctl_readulong(ctl.s, &perdomain)) {
    case 0:
        perdomain = PERDOMAIN_DEFAULT;
        break;
    case -1:
        log_die_sys(EXIT_TEMP, "cannot read %s", ctl.s);
    }
    if (perdomain < 1)
        perdomain = 1;
    if (perdomain > PERDOMAIN_MAX)
        perdomain = PERDOMAIN_MAX;
    if (chdir(home) == -1 || chdir("queue") == -1)
        log_die_sys(EXIT_TEMP, "cannot chdir to %s/queue", home);
    c.remote = getenv("QMAILREMOTE") && *getenv("QMAILREMOTE")
                   ? getenv("QMAILREMOTE")
                   : remote.s;
    c.perdomain = (unsigned)perdomain;
    c.idle_max = IDLE_MAX;
    c.linger_ms = LINGER_MS;
    code = rspawn_run(&c, 0, 1);
    bstr_free(&remote);
    bstr_free(&ctl);
    return code;
}
