/* SPDX-License-Identifier: ISC */
/*
 * datemail - sendmail that puts a Date field in the local time zone
 * first (datemail(1)): qmail's script "exec predate sendmail "$@"", with
 * both programs taken from $QMAIL_HOME/bin rather than from PATH.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bstr.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"

int
main(int argc, char **argv)
{
    struct bstr predate = BSTR_INIT, sendmail = BSTR_INIT;
    char **av;

    (void)argc;
    log_init("datemail");
    av = calloc((size_t)argc + 2, sizeof *av);
    if (!av || bstr_copys(&predate, priv_home()) == -1 ||
        bstr_cats(&predate, "/bin/predate") == -1 ||
        bstr_copys(&sendmail, priv_home()) == -1 ||
        bstr_cats(&sendmail, "/bin/sendmail") == -1)
        log_die(EXIT_TEMP, "out of memory");
    av[0] = predate.s;
    av[1] = sendmail.s;
    for (int i = 1; i < argc; i++)
        av[i + 1] = argv[i];
    av[argc + 1] = NULL;
    execv(av[0], av);
    log_die_sys(EXIT_TEMP, "unable to run %s", av[0]);
}
