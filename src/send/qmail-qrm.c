/* SPDX-License-Identifier: ISC */
/*
 * qmail-qrm - take messages out of the queue without delivering or
 * bouncing them: `qmail-qrm 123 456`.  With qmail-send running, it asks
 * qmail-send, which finishes any delivery in progress and then drops the
 * rest, or removes a message still in todo/ at once (logging "remove msg
 * N" either way); with qmail-send stopped, it removes the files itself,
 * in an order that never leaves half a message visible.  A number that is
 * not in the queue is said so and left.
 */
#include <errno.h>
#include <stdio.h>

#include "log.h"
#include "outcome.h"
#include "qpath.h"
#include "qtool.h"

int
main(int argc, char **argv)
{
    char line[64];
    int rc = 0;

    log_init("qmail-qrm");
    if (argc < 2)
        log_die(EXIT_PERM, "usage: qmail-qrm msgnum ...");
    if (qtool_enter() == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to the queue");
    for (int i = 1; i < argc; i++) {
        unsigned long long id;

        if (!qpath_scan_id(argv[i], &id))
            log_die(EXIT_PERM, "not a message number: %s", argv[i]);
        if (qtool_queued(id) == 0) {
            printf("msg %llu: not in the queue\n", id);
            continue;
        }
        snprintf(line, sizeof line, "remove %llu", id);
        if (qtool_request(line) == 0) {
            printf("msg %llu: qmail-send will remove it\n", id);
            continue;
        }
        if (errno != ENXIO)
            log_die_sys(EXIT_TEMP, "unable to reach qmail-send");
        if (qtool_remove_files(id) == -1) {
            log_line("unable to remove msg %llu", id);
            rc = EXIT_TEMP;
            continue;
        }
        printf("msg %llu: removed\n", id);
    }
    return rc;
}
