/* SPDX-License-Identifier: ISC */
/*
 * reload - control/ read again (SIGHUP, or a "reload" request on
 * lock/sendctl).  The new settings replace the old ones whole, or not at
 * all: a file that cannot be read keeps every old setting.  The slot
 * arrays were sized with the spawnlimit of the start, so neither it nor
 * a concurrency can grow past that without a restart.
 */
#include <unistd.h>

#include "send.h"

/* reload_conf - reread control/ into st->cf (see above). */
void
reload_conf(struct send_state *st)
{
    struct send_conf n;
    const char *bad = NULL;
    int r;

    /* control/ is beside queue/, where qmail-send lives */
    if (chdir("..") == -1)
        slog_die("unable to chdir to the qmail home, exiting");
    r = conf_load(&n, &bad);
    if (chdir("queue") == -1)
        slog_die("unable to chdir to queue, exiting");
    if (r == -1) {
        slog("alert: unable to reread control/%s, keeping the old settings",
             bad ? bad : "?");
        conf_free(&n);
        return;
    }
    if (n.spawnlimit > st->cf.spawnlimit)
        n.spawnlimit = st->cf.spawnlimit;
    for (int c = 0; c < NCHAN; c++)
        if (n.concurrency[c] > n.spawnlimit)
            n.concurrency[c] = n.spawnlimit;
    conf_free(&st->cf);
    st->cf = n;
    /* rate limits may have changed: what waits for one is looked at again */
    dispatch_unpark(st);
    slog("status: control files reread");
}
