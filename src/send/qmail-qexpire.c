/* SPDX-License-Identifier: ISC */
/*
 * qmail-qexpire - bounce messages now instead of at queuelifetime:
 * `qmail-qexpire 123 456`, or `qmail-qexpire -a SECONDS` for every
 * message older than that.  The senders get a normal bounce saying the
 * queue administrator expired the message.  qmail-send does the work,
 * so it must be running.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "log.h"
#include "outcome.h"
#include "qpath.h"
#include "qscan.h"
#include "qtool.h"

static void
expire(unsigned long long id)
{
    char line[64];

    if (qtool_queued(id) == 0) {
        printf("msg %llu: not in the queue\n", id);
        return;
    }
    snprintf(line, sizeof line, "expire %llu", id);
    if (qtool_request(line) == -1) {
        if (errno == ENXIO)
            log_die(EXIT_TEMP, "qmail-send is not running");
        log_die_sys(EXIT_TEMP, "unable to reach qmail-send");
    }
    printf("msg %llu: qmail-send will bounce it\n", id);
}

int
main(int argc, char **argv)
{
    log_init("qmail-qexpire");
    if (argc < 2)
        log_die(EXIT_PERM, "usage: qmail-qexpire msgnum ... | -a seconds");
    if (qtool_enter() == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to the queue");
    if (strcmp(argv[1], "-a") == 0) {
        struct qscan_ids info = {0};
        unsigned long age;
        time_t now = time(NULL);

        if (argc != 3 ||
            scan_ulong(argv[2], strlen(argv[2]), &age) != strlen(argv[2]))
            log_die(EXIT_PERM, "usage: qmail-qexpire -a seconds");
        if (qscan_split("info", &info) == -1)
            log_die_sys(EXIT_TEMP, "unable to read the queue");
        for (size_t i = 0; i < info.n; i++) {
            char fn[QPATH_MAX];
            struct stat st;

            qpath_fmt(fn, "info", info.v[i]);
            if (stat(fn, &st) == 0 && now - st.st_mtime >= (time_t)age)
                expire(info.v[i]);
        }
        qscan_free(&info);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        unsigned long long id;

        if (!qpath_scan_id(argv[i], &id))
            log_die(EXIT_PERM, "not a message number: %s", argv[i]);
        expire(id);
    }
    return 0;
}
