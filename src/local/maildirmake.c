/* SPDX-License-Identifier: ISC */
/*
 * maildirmake - create a maildir: maildirmake dir
 *
 * Makes dir with tmp/, new/ and cur/, mode 700.  Refuses if dir exists.
 * Exit 0, 100 usage, 111 failure.
 */
#include "log.h"
#include "maildir.h"
#include "outcome.h"

int
main(int argc, char **argv)
{
    log_init("maildirmake");
    if (argc != 2)
        log_die(EXIT_PERM, "usage: maildirmake name");
    if (maildir_make(argv[1], 0700) == -1)
        log_die_sys(EXIT_TEMP, "unable to make maildir %s", argv[1]);
    return 0;
}
