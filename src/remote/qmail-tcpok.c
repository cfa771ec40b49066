/* SPDX-License-Identifier: ISC */
/*
 * qmail-tcpok - forget every remote address qmail-remote saw failing
 * (queue/lock/tcpto, see tcpto.h), so the next deliveries try them all
 * at once.  No arguments; exits 0, or 111 when the file cannot be
 * cleared.
 */
#include <unistd.h>

#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "tcpto.h"

int
main(int argc, char **argv)
{
    const char *home = priv_home();

    (void)argv;
    log_init("qmail-tcpok");
    if (argc != 1)
        log_die(EXIT_TEMP, "usage: qmail-tcpok");
    if (chdir(home) == -1 || chdir("queue/lock") == -1)
        log_die_sys(EXIT_TEMP, "cannot chdir to %s/queue/lock", home);
    if (tcpto_clear_all("tcpto") == -1)
        log_die_sys(EXIT_TEMP, "cannot clear %s/queue/lock/tcpto", home);
    return EXIT_OK;
}
