/* SPDX-License-Identifier: ISC */
/*
 * qmail-qstat - how many messages the queue holds, in qmail-1.03's two
 * lines and nothing else (the word "queue" above them in the seeds'
 * guides is not program output):
 *
 *   messages in queue: 360
 *   messages in queue but not yet preprocessed: 0
 *
 * A message counts once it is committed (todo/N or info/S/N exists);
 * files that an interrupted qmail-queue left in mess/ are not mail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "qscan.h"

int
main(void)
{
    struct qscan_counts c;

    log_init("qmail-qstat");
    if (chdir(priv_home()) == -1 || chdir("queue") == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to %s/queue", priv_home());
    if (qscan_count(&c) == -1)
        log_die_sys(EXIT_TEMP, "unable to read the queue");
    printf("messages in queue: %llu\n", c.messages);
    printf("messages in queue but not yet preprocessed: %llu\n", c.todo);
    if (fflush(stdout) == EOF || ferror(stdout))
        log_die_sys(EXIT_TEMP, "unable to write output");
    return 0;
}
