/* SPDX-License-Identifier: ISC */
/*
 * orphan - finding what a qmail-queue killed mid-write left in mess/.
 *
 * qmail-queue makes mess/S/N first and links todo/N last; killed in
 * between (or qmail-send killed after a finished message's info/ went
 * and before qmail-clean took mess/), mess/S/N stays, with no todo/N or
 * info/S/N, for ever.  Such a file is an orphan once it is old enough that
 * no qmail-queue can still be writing it: qmail-queue gives up on a
 * message after a day (its alarm), every write it makes moves the mtime,
 * so a file untouched for ORPHAN_AGE (qmail-1.03's 36 hours) has no
 * writer left.  The sweep only reads: it reads mess/ a few entries per
 * call (a queue of a million messages does not stop qmail-send's loop)
 * and hands each orphan to the caller, which has qmail-clean remove it.
 * Numbers the caller knows (messages in its map) are never orphans.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qpath.h"
#include "send.h"

/* orphan_start - begin a sweep of mess/ (one already running goes on). */
void
orphan_start(struct orphan_sweep *o)
{
    if (o->active)
        return;
    o->active = true;
    o->split = 0;
}

/* absent - whether fn does not exist (an error other than ENOENT counts
 * as present: when in doubt, a file stays). */
static bool
absent(const char *fn)
{
    struct stat st;

    return stat(fn, &st) == -1 && errno == ENOENT;
}

/*
 * orphan_is - whether message id's mess/ file, with status st, is an
 * orphan at now: old enough, and neither todo/N nor info/S/N exists.
 */
bool
orphan_is(uint64_t id, const struct stat *st, time_t now)
{
    char fn[QPATH_MAX];

    if (now - st->st_mtime < ORPHAN_AGE)
        return false;
    qpath_fmt(fn, "todo", id);
    if (!absent(fn))
        return false;
    qpath_fmt(fn, "info", id);
    return absent(fn);
}

/*
 * orphan_work - look at up to max entries of mess/ and give each orphan
 * (orphan_is, and known(id, arg) false) to found(id, arg).  Returns true
 * while the sweep goes on, false once it is over (or was never started).
 */
bool
orphan_work(struct orphan_sweep *o, time_t now, size_t max,
            bool (*known)(uint64_t, void *), void (*found)(uint64_t, void *),
            void *arg)
{
    size_t n = 0;

    if (!o->active)
        return false;
    while (n < max) {
        char dir[QPATH_MAX], fn[QPATH_MAX];
        struct dirent *de;
        unsigned long long id;
        struct stat st;

        if (!o->dir) {
            if (o->split >= QPATH_SPLIT) {
                o->active = false;
                return false;
            }
            snprintf(dir, sizeof dir, "mess/%u", o->split++);
            if (!(o->dir = opendir(dir)))
                continue; /* an unreadable split: the next sweep again */
        }
        if (!(de = readdir(o->dir))) {
            closedir(o->dir);
            o->dir = NULL;
            continue;
        }
        n++;
        /* a name that is no number, or in the wrong split, is not a
         * message file: not ours to judge */
        if (!qpath_scan_id(de->d_name, &id) || id == 0 ||
            id % QPATH_SPLIT != o->split - 1 || known(id, arg))
            continue;
        qpath_fmt(fn, "mess", id);
        if (stat(fn, &st) == -1 || !S_ISREG(st.st_mode))
            continue;
        if (orphan_is(id, &st, now))
            found(id, arg);
    }
    return true;
}

/* orphan_free - end a sweep, closing what it holds. */
void
orphan_free(struct orphan_sweep *o)
{
    if (o->dir)
        closedir(o->dir);
    o->dir = NULL;
    o->active = false;
}
