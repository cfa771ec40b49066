/* SPDX-License-Identifier: ISC */
/*
 * qmail-qrequeue - make messages due now: `qmail-qrequeue` for all (as
 * `kill -ALRM qmail-send`), `qmail-qrequeue 123 456` for those.  It asks
 * the running qmail-send; without one there is nothing to do, since
 * qmail-send tries every message on its schedule when it starts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "outcome.h"
#include "qpath.h"
#include "qtool.h"

int
main(int argc, char **argv)
{
    char line[64];

    log_init("qmail-qrequeue");
    if (qtool_enter() == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to the queue");
    for (int i = argc > 1 ? 1 : 0; i < argc; i++) {
        unsigned long long id;

        if (argc == 1) {
            snprintf(line, sizeof line, "requeue all");
        } else {
            if (!qpath_scan_id(argv[i], &id))
                log_die(EXIT_PERM, "not a message number: %s", argv[i]);
            snprintf(line, sizeof line, "requeue %llu", id);
        }
        if (qtool_request(line) == -1) {
            if (errno == ENXIO)
                log_die(EXIT_TEMP, "qmail-send is not running");
            log_die_sys(EXIT_TEMP, "unable to reach qmail-send");
        }
        printf("%s: asked qmail-send\n", line);
    }
    return 0;
}
