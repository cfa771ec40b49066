/* SPDX-License-Identifier: ISC */
/*
 * condredirect - maybe redirect the message, as a .qmail program:
 * condredirect newaddress program [ arg ... ]
 *
 * Runs program with the message on stdin (which must be seekable).  If
 * it exits 0 the message goes to newaddress (with $DTLINE and
 * $NEWSENDER, as forward(1)) and condredirect exits 99, so qmail-local
 * ignores the rest of .qmail; 111 means try again later; anything else
 * (or no such program) means exit 0 and go on with .qmail.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bstr.h"
#include "helper.h"
#include "log.h"
#include "outcome.h"

int
main(int argc, char **argv)
{
    struct bstr prog = BSTR_INIT, err = BSTR_INIT;
    const char *sender = getenv("NEWSENDER");
    const char *dtline = getenv("DTLINE");
    const char *qq;
    const char *rcpt;
    long qp = 0;
    int status, code;

    log_init("condredirect");
    signal(SIGPIPE, SIG_IGN);
    if (argc < 3)
        log_die(EXIT_PERM, "usage: condredirect newaddress program "
                           "[ arg ... ]");
    if (!sender)
        log_die(EXIT_TEMP, "NEWSENDER not set");
    if (!dtline)
        log_die(EXIT_TEMP, "DTLINE not set");
    if (helper_run(argv + 2, &status) == -1)
        log_die_sys(EXIT_TEMP, "unable to run %s", argv[2]);
    if (!WIFEXITED(status))
        log_die(EXIT_TEMP, "child crashed");
    if (WEXITSTATUS(status) == 111)
        log_die(EXIT_TEMP, "temporary child error");
    if (WEXITSTATUS(status) != 0)
        return 0;
    if (lseek(0, 0, SEEK_SET) != 0)
        log_die_sys(EXIT_TEMP, "unable to rewind message");
    if (!(qq = helper_qqprog(&prog)))
        log_die(EXIT_TEMP, "out of memory");
    rcpt = argv[1];
    code = helper_forward(0, qq, dtline, strlen(dtline), sender,
                          strlen(sender), &rcpt, 1, &qp, &err);
    if (code)
        log_die(code, "%s", err.s ? err.s : "");
    log_line("qp %ld", qp);
    bstr_free(&prog);
    bstr_free(&err);
    return 99;
}
