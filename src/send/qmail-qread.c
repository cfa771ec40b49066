/* SPDX-License-Identifier: ISC */
/*
 * qmail-qread - list the queue: one line per message (date, number,
 * size, sender, "bouncing" when a bounce is pending), then one line per
 * recipient, "done" once finished, as qmail's qmail-qread, so that
 *   qmail-qread | grep remote | grep -v done
 * still lists the remote recipients waiting.  Messages not yet
 * preprocessed are listed too, marked so.
 */
#include <stdio.h>

#include "log.h"
#include "outcome.h"
#include "qpath.h"
#include "qscan.h"
#include "qtool.h"

int
main(void)
{
    struct qscan_ids info = {0}, todo = {0};

    log_init("qmail-qread");
    if (qtool_enter() == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to the queue");
    if (qscan_split("info", &info) == -1 || qscan_dir("todo", &todo) == -1)
        log_die_sys(EXIT_TEMP, "unable to read the queue");
    qscan_sort_unique(&info);
    qscan_sort_unique(&todo);
    for (size_t i = 0; i < info.n; i++)
        if (qtool_show(stdout, info.v[i], false) == -1)
            log_line("warning: unable to read message %llu", info.v[i]);
    for (size_t i = 0; i < todo.n; i++)
        if (qtool_show(stdout, todo.v[i], true) == -1)
            log_line("warning: unable to read message %llu", todo.v[i]);
    qscan_free(&info);
    qscan_free(&todo);
    if (fflush(stdout) == EOF || ferror(stdout))
        log_die_sys(EXIT_TEMP, "unable to write output");
    return 0;
}
