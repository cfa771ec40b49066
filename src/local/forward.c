/* SPDX-License-Identifier: ISC */
/*
 * forward - forward the message on stdin to the addresses given, as a
 * .qmail program: forward address ...
 *
 * Like forward lines in .qmail (dot-qmail(5)): $DTLINE on top, $NEWSENDER
 * as envelope sender, one run of qmail-queue.  Exit 0 ("forward: qp N"
 * on stderr), 100 when qmail-queue refused for good or for a usage error,
 * 111 otherwise.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

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
    long qp = 0;
    int code;

    log_init("forward");
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2)
        log_die(EXIT_PERM, "usage: forward address [ address ... ]");
    if (!sender)
        log_die(EXIT_TEMP, "NEWSENDER not set");
    if (!dtline)
        log_die(EXIT_TEMP, "DTLINE not set");
    if (!(qq = helper_qqprog(&prog)))
        log_die(EXIT_TEMP, "out of memory");
    code = helper_forward(0, qq, dtline, strlen(dtline), sender,
                          strlen(sender), (const char *const *)argv + 1,
                          (size_t)argc - 1, &qp, &err);
    if (code)
        log_die(code, "%s", err.s ? err.s : "");
    log_line("qp %ld", qp);
    bstr_free(&prog);
    bstr_free(&err);
    return 0;
}
