/* SPDX-License-Identifier: ISC */
/*
 * except - turn a program's success into a bounce and its failure into
 * success: except program [ arg ... ]
 *
 * program exits 0: except exits 100; 111: 111; anything else: 0.  A
 * crash is 111 (nothing is known).
 */
#include <sys/wait.h>

#include "helper.h"
#include "log.h"
#include "outcome.h"

int
main(int argc, char **argv)
{
    int status;

    log_init("except");
    if (argc < 2)
        log_die(EXIT_PERM, "usage: except program [ arg ... ]");
    if (helper_run(argv + 1, &status) == -1)
        log_die_sys(EXIT_TEMP, "unable to run %s", argv[1]);
    if (!WIFEXITED(status))
        log_die(EXIT_TEMP, "child crashed");
    switch (WEXITSTATUS(status)) {
    case 0:
        return EXIT_PERM;
    case 111:
        return EXIT_TEMP;
    default:
        return 0;
    }
}
