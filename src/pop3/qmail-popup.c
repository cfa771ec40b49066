/* SPDX-License-Identifier: ISC */
/*
 * qmail-popup - the POP3 AUTHORIZATION state in front of a checkpassword
 * program: qmail-popup HOST subprogram [arg ...].
 *
 * Reads its settings once from the environment tcpserver made (POP3S,
 * POP3REQUIRETLS, POP3FAILDELAY, POP3MAXFAIL, POP3LOGINDELAY, POP3EXPIRE,
 * TCPREMOTEIP, QMAIL_HOME), then runs the session (popup.c).  Exit 0
 * after a session the chain accepted or a QUIT, 1 otherwise.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "popup.h"
#include "priv.h"

/* die_usage - qmail's reply and exit for a missing argument */
static void __attribute__((noreturn))
die_usage(void)
{
    static const char msg[] = "-ERR usage: qmail-popup hostname subprogram\r\n";

    if (write(1, msg, sizeof msg - 1) == -1) {
        /* the client may be gone: the exit says it all */
    }
    _exit(1);
}

/* env_ulong - a decimal environment value within [0, max], else def */
static unsigned long
env_ulong(const char *name, unsigned long def, unsigned long max)
{
    const char *v = getenv(name);
    char *end;
    unsigned long u;

    if (v == NULL || *v < '0' || *v > '9')
        return def;
    u = strtoul(v, &end, 10);
    if (*end != '\0' || u > max)
        return def;
    return u;
}

int
main(int argc, char **argv)
{
    struct popup_config cf;
    struct popup_session s;
    struct sigaction sa;
    const char *v;
    int status;

    log_init("qmail-popup");
    if (argc < 3 || argv[1][0] == '\0')
        die_usage();
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);

    memset(&cf, 0, sizeof cf);
    cf.host = argv[1];
    cf.child = argv + 2;
    cf.remoteip = getenv("TCPREMOTEIP");
    cf.home = priv_home();
    cf.faildelay = (unsigned)env_ulong("POP3FAILDELAY", 2, 60);
    cf.maxfail = env_ulong("POP3MAXFAIL", 3, 1000);
    if (cf.maxfail == 0)
        cf.maxfail = 1;
    cf.maxcmds = POPUP_MAXCMDS;
    cf.timeout = POPUP_TIMEOUT;
    cf.logindelay = getenv("POP3LOGINDELAY");
    cf.expire = getenv("POP3EXPIRE");
    v = getenv("POP3REQUIRETLS");
    cf.requiretls = v && strcmp(v, "1") == 0;
    v = getenv("POP3S");
    cf.pop3s = v != NULL && strcmp(v, "0") != 0;
    /* the chain learns of TLS from us only, never from a caller */
    unsetenv("POP3TLS");
    unsetenv("SSL_PROTOCOL");
    unsetenv("SSL_CIPHER");

    if (popup_init(&s, &cf) == -1) {
        static const char msg[] = "-ERR out of memory\r\n";

        if (write(1, msg, sizeof msg - 1) == -1) {
            /* nothing more to say */
        }
        return 1;
    }
    status = popup_run(&s);
    popup_free(&s);
    return status;
}
