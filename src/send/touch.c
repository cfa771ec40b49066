/* SPDX-License-Identifier: ISC */
/*
 * touch - a channel's next attempt on disk: the mtime of its local/S/N or
 * remote/S/N file, qmail-1.03's convention, so that a restart (of
 * qmail-ng or of qmail-1.03) tries it then and not before.  touch_set
 * sets one file; the sweep gives the files of a "requeue all" their new
 * mtime a slice per turn of qmail-send's loop, since a requeue of a
 * million messages must not stop it.  It only sets times: scheduling is
 * qmail-send's.
 */
#include <errno.h>

#include "qpath.h"
#include "send.h"

#define TOUCH_SCAN 8192 /* message records looked at per turn, and */
#define TOUCH_BATCH 256 /* channel files given a new mtime, at most */

static const char *const channame[NCHAN] = {"local", "remote"};

/*
 * touch_set - the next attempt of m's channel c is when: its channel
 * file's mtime (and atime) becomes when, and no sweep need touch it any
 * more.  A failure is logged: the message will be retried too soon,
 * never lost.
 */
void
touch_set(struct msg *m, int c, time_t when)
{
    char fn[QPATH_MAX];

    m->flags &= ~MSG_TOUCH(c);
    if (job_set_due(m->id, c, when) == -1 && errno != ENOENT) {
        qpath_fmt(fn, channame[c], m->id);
        slog("warning: unable to utime %s; message will be retried too soon",
             fn);
    }
}

/* touch_start - a sweep begins: the files of the messages marked
 * MSG_TOUCH get when as their mtime. */
void
touch_start(struct touch_sweep *t, time_t when)
{
    t->active = true;
    t->found = false;
    t->pos = 0;
    t->when = when;
}

/*
 * touch_work - a slice of the sweep over msgs: at most TOUCH_SCAN records
 * looked at and TOUCH_BATCH files touched.  A pass over the map that
 * found any is followed by another (entries move in the map when it grows
 * or others leave), until one finds none.  True while the sweep goes on.
 */
bool
touch_work(struct touch_sweep *t, struct msgmap *msgs)
{
    unsigned done = 0;

    if (!t->active)
        return false;
    for (size_t n = 0; n < TOUCH_SCAN && done < TOUCH_BATCH; n++) {
        struct msg *m;

        if (t->pos > msgs->mask) {
            if (!t->found) {
                t->active = false;
                return false;
            }
            t->found = false;
            t->pos = 0;
        }
        m = &msgs->slot[t->pos++];
        if (!m->id || !(m->flags & (MSG_TOUCH(0) | MSG_TOUCH(1))))
            continue;
        t->found = true;
        for (int c = 0; c < NCHAN; c++) {
            if (!(m->flags & MSG_TOUCH(c)))
                continue;
            m->flags &= ~MSG_TOUCH(c);
            /* a job of it that ran meanwhile gave the file its next time */
            if ((m->flags & MSG_PENDING(c)) && !(m->flags & MSG_ACTIVE(c))) {
                touch_set(m, c, t->when);
                done++;
            }
        }
    }
    return true;
}
