/* SPDX-License-Identifier: ISC */
/*
 * qmail-queue - put one message into the queue.
 *
 * Reads the message on fd 0 and the envelope "Fsender\0Trcpt\0...\0" on
 * fd 1, prepends a Received line and queues it; exits 0 only once the
 * message is durable and visible in todo/.  Exit codes are qmail's
 * (qmail-queue(8)); every failure also writes one line to stderr saying
 * what failed and why, which qmail-smtpd puts into its log.  When
 * installed setuid qmailq it trusts nothing from its caller: not the
 * environment, not the cwd, not the umask.
 *
 * qmail-queue -m queues many messages in a row over one socket on fd 0
 * (batch.c), so an SMTP session pays for one exec, not one per message;
 * each message is still committed, fsynced and answered on its own.
 */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "bstr.h"
#include "ctl.h"
#include "datetime.h"
#include "enqueue.h"
#include "outcome.h"
#include "priv.h"

#define QUEUE_TIMEOUT 86400 /* a whole day for one message, as qmail */

static struct enqueue e;
static char received_origin[64];

/* Every way out: remove what was made unless committed, say what
 * failed (qmail-queue's caller logs our stderr), then exit. */
static void __attribute__((noreturn))
die(int code)
{
    enqueue_cleanup(&e);
    enqueue_report(&e);
    _exit(code);
}


/* The same from a signal handler: only unlink(2), write(2), _exit(2). */
static void __attribute__((noreturn))
die_signal(int code, const char *line, size_t len)
{
    enqueue_cleanup(&e);
    if (write(2, line, len) == -1) {
        /* nobody to tell */
    }
    _exit(code);
}

static void
on_alarm(int sig)
{
    static const char line[] =
        "qmail-queue: timeout: the message took more than a day\n";

    (void)sig;
    die_signal(QQ_TIMEOUT, line, sizeof line - 1);
}

static void
on_term(int sig)
{
    static const char line[] =
        "qmail-queue: killed by a signal: the message was not queued\n";

    (void)sig;
    die_signal(QQ_TEMP_REFUSED, line, sizeof line - 1);
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
    struct passwd *pw;
    const char *o;

    if (!priv_elevated() && (o = getenv("QMAIL_QUEUE_ORIGIN"))) {
        if (strcmp(o, "network") == 0)
            return "from network";
        if (strcmp(o, "alias") == 0)
            return "by alias";
        if (strcmp(o, "bounce") == 0)
            return "for bounce";
    }
    /* one passwd lookup: the caller's name says which qmail user it is */
    pw = getpwuid(uid);
    if (!pw || uid == 0)
        return NULL;
    if (strcmp(pw->pw_name, "qmaild") == 0)
        return "from network";
    if (strcmp(pw->pw_name, "alias") == 0)
        return "by alias";
    if (strcmp(pw->pw_name, "qmails") == 0)
        return "for bounce";
    return NULL;
}

/* received_line - qmail's line naming who handed us the message. */
static int
received_line(struct bstr *out, pid_t pid, time_t now)
{
    bstr_truncate(out, 0);
    if (bstr_catf(out, "Received: (qmail %ld invoked %s); ", (long)pid,
                  received_origin) == -1 ||
        date822_cat(out, now) == -1 || bstr_catc(out, '\n') == -1)
        return -1;
    return 0;
}

#ifdef __SANITIZE_ADDRESS__
const char *__asan_default_options(void);

/*
 * __asan_default_options - sanitizer builds (make SAN=1) only: run setuid,
 * qmail-queue cannot be stopped with ptrace at exit, which LeakSanitizer
 * needs ("LeakSanitizer has encountered a fatal error", and the message
 * refused).  ASan and UBSan stay on; leaks are checked whenever it runs
 * as its caller (single-user instances, every test but the root ones).
 */
const char *
__asan_default_options(void)
{
    return getuid() != geteuid() ? "detect_leaks=0" : "";
}
#endif

int
main(int argc, char **argv)
{
    struct bstr received = BSTR_INIT, extra = BSTR_INIT;
    struct sigaction sa;
    const char *how;
    time_t now = time(NULL);
    uid_t uid = getuid();
    int code;
    bool many = argc > 1 && strcmp(argv[1], "-m") == 0;

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
        die(enqueue_fail(&e, QQ_HOME, errno, "unable to chdir to %s",
                         priv_home()));
    if (chdir("queue") == -1)
        die(enqueue_fail(&e, QQ_QUEUEDIR, errno, "unable to chdir to %s/queue",
                         priv_home()));

    /* qmail's QUEUE_EXTRA, as a control file: an archive copy of every
     * message goes to this address too (e.g. "log", delivered by
     * ~alias/.qmail-log) */
    if (ctl_readline("../control/queueextra", &extra) == -1)
        die(enqueue_fail(&e, QQ_CONFIG, errno,
                         "unable to read control/queueextra"));
    if (extra.len) {
        if (extra.len > ENQUEUE_ADDR_MAX || memchr(extra.s, '\0', extra.len))
            die(enqueue_fail(&e, QQ_CONFIG, 0,
                             "control/queueextra is not an address"));
        e.extra = extra.s;
    }
    how = origin(uid);
    if (how)
        snprintf(received_origin, sizeof received_origin, "%s", how);
    else
        snprintf(received_origin, sizeof received_origin, "by uid %lu",
                 (unsigned long)uid);
    if (many) {
        alarm(0);
        return batch_run(&e, received_line);
    }
    if (received_line(&received, e.pid, now) == -1)
        die(enqueue_fail(&e, QQ_NOMEM, 0, "out of memory"));

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
