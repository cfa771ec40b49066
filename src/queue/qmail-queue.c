/* SPDX-License-Identifier: ISC */
/*
 * qmail-queue - put one message into the queue.
 *
 * Reads the message on fd 0 and the envelope "Fsender\0Trcpt\0...\0" on
 * fd 1, prepends a Received line and queues it; exits 0 only once the
 * message is durable and visible in todo/.  Exit codes are qmail's
 * (qmail-queue(8)).  When installed setuid qmailq it trusts nothing from
 * its caller: not the environment, not the cwd, not the umask.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bstr.h"
#include "datetime.h"
#include "enqueue.h"
#include "outcome.h"
#include "priv.h"

#define QUEUE_TIMEOUT 86400 /* a whole day for one message, as qmail */

static struct enqueue e;

/* Every way out: remove what was made unless committed, then exit. */
static void __attribute__((noreturn))
die(int code)
{
    enqueue_cleanup(&e);
    _exit(code);
}

static void
on_alarm(int sig)
{
    (void)sig;
    die(QQ_TIMEOUT);
}

static void
on_term(int sig)
{
    (void)sig;
    die(QQ_TEMP_REFUSED);
}

/*
 * origin - qmail's words for who handed us the message: the network
 * (qmaild), an alias, a bounce (qmails), or just a uid.  In a
 * single-user instance every program has one uid, so the caller may say
 * "network" in QMAIL_QUEUE_ORIGIN; a setuid qmail-queue ignores that.
 */
static const char *
origin(uid_t uid)
{
    uid_t u;
    const char *o;

    if (priv_user("qmaild", &u, NULL) == 1 && u == uid)
        return "from network";
    if (priv_user("alias", &u, NULL) == 1 && u == uid)
        return "by alias";
    if (priv_user("qmails", &u, NULL) == 1 && u == uid)
        return "for bounce";
    if (!priv_elevated() && (o = getenv("QMAIL_QUEUE_ORIGIN"))) {
        if (strcmp(o, "network") == 0)
            return "from network";
        if (strcmp(o, "alias") == 0)
            return "by alias";
        if (strcmp(o, "bounce") == 0)
            return "for bounce";
    }
    return NULL;
}

int
main(void)
{
    struct bstr received = BSTR_INIT;
    struct sigaction sa;
    const char *how;
    time_t now = time(NULL);
    uid_t uid = getuid();
    int code;

    umask(033);
    enqueue_init(&e, uid, getpid(), now);
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    alarm(QUEUE_TIMEOUT);

    if (chdir(priv_home()) == -1)
        die(QQ_HOME);
    if (chdir("queue") == -1)
        die(QQ_QUEUEDIR);

    how = origin(uid);
    if (bstr_catf(&received, "Received: (qmail %ld ", (long)e.pid) == -1 ||
        (how ? bstr_catf(&received, "invoked %s", how)
             : bstr_catf(&received, "invoked by uid %lu",
                         (unsigned long)uid)) == -1 ||
        bstr_cats(&received, "); ") == -1 ||
        date822_cat(&received, now) == -1 || bstr_catc(&received, '\n') == -1)
        die(QQ_NOMEM);

    if ((code = enqueue_begin(&e)) != 0)
        die(code);
    if ((code = enqueue_message(&e, 0, received.s)) != 0)
        die(code);
    if ((code = enqueue_envelope(&e, 1)) != 0)
        die(code);
    if ((code = enqueue_commit(&e)) != 0)
        die(code);
    bstr_free(&received);
    return 0;
}
