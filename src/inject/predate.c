/* SPDX-License-Identifier: ISC */
/*
 * predate - run a program with a Date field in the local time zone
 * before its standard input (predate(1)): "predate sendmail -t" is
 * datemail.  Exits with the program's exit code; 100 when invoked
 * wrongly, 111 when the program cannot be run or dies of a signal.
 */
#include <signal.h>
#include <time.h>

#include "inject.h"
#include "log.h"
#include "outcome.h"

int
main(int argc, char **argv)
{
    struct bstr date = BSTR_INIT;
    const char *why;
    int code;

    log_init("predate");
    if (argc < 2)
        log_die(EXIT_PERM, "usage: predate child [arg ...]");
    signal(SIGPIPE, SIG_IGN);
    if (bstr_cats(&date, "Date: ") == -1 ||
        inject_date(&date, time(NULL)) == -1 || bstr_catc(&date, '\n') == -1)
        log_die(EXIT_TEMP, "out of memory");
    code = inject_pipeto(argv + 1, true, date.s, date.len, &why);
    bstr_free(&date);
    if (code == -1)
        log_die_sys(EXIT_TEMP, "%s %s", why, argv[1]);
    if (code == -2)
        log_die(EXIT_TEMP, "%s was killed by a signal", argv[1]);
    return code;
}
