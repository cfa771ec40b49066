/* SPDX-License-Identifier: ISC */
/*
 * qmail-qread - list the queue as qmail-1.03's qmail-qread does, byte for
 * byte: for each preprocessed message a line with the date it arrived,
 * its number, its size and its sender ("bouncing" when a bounce is
 * pending), then one line per recipient, "  done" in front once finished,
 * so that
 *   qmail-qread | grep remote | grep -v done
 * still lists the remote recipients waiting.  With -t, messages still in
 * todo/ (not yet preprocessed) follow, marked so.  Envelope bytes that are
 * not safe on a terminal are shown as \ooo (vis.h).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "outcome.h"
#include "qpath.h"
#include "qscan.h"
#include "qtool.h"

int
main(int argc, char **argv)
{
    struct qscan_ids info = {0}, todo = {0};
    bool with_todo = false;

    log_init("qmail-qread");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") != 0)
            log_die(EXIT_PERM, "usage: qmail-qread [-t]");
        with_todo = true;
    }
    if (qtool_enter() == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to the queue");
    if (qscan_split("info", &info) == -1 ||
        (with_todo && qscan_dir("todo", &todo) == -1))
        log_die_sys(EXIT_TEMP, "unable to read the queue");
    qscan_sort_unique(&info);
    qscan_sort_unique(&todo);
    for (size_t i = 0; i < info.n; i++)
        if (qtool_show(stdout, info.v[i], false) == -1)
            log_line("warning: trouble with #%llu", info.v[i]);
    for (size_t i = 0, j = 0; i < todo.n; i++) {
        /* one being preprocessed right now was listed above */
        while (j < info.n && info.v[j] < todo.v[i])
            j++;
        if (j < info.n && info.v[j] == todo.v[i])
            continue;
        if (qtool_show(stdout, todo.v[i], true) == -1)
            log_line("warning: trouble with #%llu", todo.v[i]);
    }
    qscan_free(&info);
    qscan_free(&todo);
    if (fflush(stdout) == EOF || ferror(stdout))
        log_die_sys(EXIT_TEMP, "unable to write output");
    return 0;
}
