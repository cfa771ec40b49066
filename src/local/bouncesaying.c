/* SPDX-License-Identifier: ISC */
/*
 * bouncesaying - maybe bounce the message, as a .qmail program:
 * bouncesaying error [ program [ arg ... ] ]
 *
 * Without a program: print error and exit 100 (bounce).  With one: run
 * it with the message on stdin; exit 0 means bounce with error, 111 try
 * again later, anything else (or no such program) exit 0 and go on.
 */
#include <stdio.h>
#include <sys/wait.h>

#include "helper.h"
#include "log.h"
#include "outcome.h"

int
main(int argc, char **argv)
{
    int status;

    log_init("bouncesaying");
    if (argc < 2)
        log_die(EXIT_PERM, "usage: bouncesaying error [ program [ arg ... ] ]");
    if (argc > 2) {
        if (helper_run(argv + 2, &status) == -1)
            log_die_sys(EXIT_TEMP, "unable to run %s", argv[2]);
        if (!WIFEXITED(status))
            log_die(EXIT_TEMP, "child crashed");
        if (WEXITSTATUS(status) == 111)
            log_die(EXIT_TEMP, "temporary child error");
        if (WEXITSTATUS(status) != 0)
            return 0;
    }
    /* the error is the whole report text: no program name before it */
    fprintf(stderr, "%s\n", argv[1]);
    return EXIT_PERM;
}
