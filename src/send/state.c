/* SPDX-License-Identifier: ISC */
/*
 * state - qmail-send's one struct send_state (send.h): set up once
 * (state_init), and wired to the modules that act on it through tables
 * of callbacks so that they can be tested against a stand-in: the
 * start-up scan (startup.c), the orphan sweep (orphan.c) and the queue
 * tools' requests (sendctl.c).  The sweeps run a bounded slice per turn
 * of the main loop.  Descriptors are main()'s: none is opened here.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

#include "send.h"

#define SCAN_BATCH 256    /* messages of the start-up scan per turn */
#define ORPHAN_BATCH 256  /* mess/ entries the orphan sweep reads per turn */
#define ORPHAN_EVERY 3600 /* seconds from one orphan sweep to the next */

/* ---- the start-up scan (startup.c) ------------------------------------ */

static void
put_due(struct msg *m, int c, time_t when, void *arg)
{
    dispatch_schedule(arg, m, c, when);
}

static void
put_finished(uint64_t id, time_t when, void *arg)
{
    struct send_state *st = arg;
    struct sched_item it = {when, id, 0, SCHED_BOUNCE};

    if (sched_push(&st->bounceheap, &it) == -1)
        slog_nomem();
}

/* state_scan_slice - the next SCAN_BATCH messages of the start-up scan;
 * true while some are left */
bool
state_scan_slice(struct send_state *st)
{
    int r = startup_work(&st->scan, &st->scan_ops, SCAN_BATCH);

    if (r == -1)
        slog_nomem();
    return r == 1;
}

/* ---- orphans: what killed qmail-queues left in mess/ (orphan.c) ------- */

static bool
orphan_known(uint64_t id, void *arg)
{
    struct send_state *st = arg;

    return msgmap_get(&st->msgs, id) != NULL;
}

static void
orphan_found(uint64_t id, void *arg)
{
    cleanq_request(arg, 'o', id);
}

/*
 * state_orphan_slice - a slice of the sweep for orphans in mess/: the
 * first once the start-up scan has every message in the map, then one
 * every ORPHAN_EVERY seconds.  qmail-clean removes what it finds, and
 * intd/ files without a todo/ entry on its own (it owns intd/).  True
 * while the sweep has more to read at once.
 */
bool
state_orphan_slice(struct send_state *st)
{
    time_t now = time(NULL);

    if (st->exiting || st->scan.active || cleanq_full(st))
        return false;
    if (!st->orphans.active) {
        if (now < st->orphan_next)
            return false;
        orphan_start(&st->orphans);
    }
    if (orphan_work(&st->orphans, now, ORPHAN_BATCH, orphan_known, orphan_found,
                    st))
        return true;
    st->orphan_next = now + ORPHAN_EVERY;
    return false;
}

/* ---- what the queue tools' requests act on (sendctl.c) --------------- */

static struct msg *
req_take(uint64_t id, void *arg)
{
    struct send_state *st = arg;
    struct msg *m;
    int r = startup_take(&st->scan, &st->scan_ops, id, &m);

    if (r == -1)
        slog_nomem();
    return r == 1 ? m : NULL;
}

static void
req_preprocess(uint64_t id, void *arg)
{
    todo_take(arg, id);
}

static void
req_clean(char type, uint64_t id, void *arg)
{
    cleanq_request(arg, type, id);
}

static void
req_rescan(void *arg)
{
    ((struct send_state *)arg)->todo.again = true;
}

/* req_full - whether qmail-clean has requests enough pending: those a
 * queue tool adds (a todo/ removal is one) wait in lock/sendctl. */
static bool
req_full(void *arg)
{
    return cleanq_full(arg);
}

/* req_reload - a tool asked for the control files to be reread. */
static void
req_reload(void *arg)
{
    reload_conf(arg);
}

/*
 * state_init - st, its settings st->cf already read, made ready: the
 * message map, each channel's slots (cf.spawnlimit of them) and report
 * parser, the callback tables; every descriptor -1 until main() (or a
 * test) sets them.  Returns 0, or -1 with errno (ENOMEM).
 */
int
state_init(struct send_state *st)
{
    st->scan_ops.msgs = &st->msgs;
    st->scan_ops.cf = &st->cf;
    st->scan_ops.schedule = put_due;
    st->scan_ops.finished = put_finished;
    st->scan_ops.arg = st;
    st->ctl_ops.msgs = &st->msgs;
    st->ctl_ops.touch = &st->touch;
    st->ctl_ops.schedule = put_due;
    st->ctl_ops.take = req_take;
    st->ctl_ops.preprocess = req_preprocess;
    st->ctl_ops.clean = req_clean;
    st->ctl_ops.rescan = req_rescan;
    st->ctl_ops.full = req_full;
    st->ctl_ops.reload = req_reload;
    st->ctl_ops.arg = st;
    st->ctl.fd = -1;
    st->clean.wfd = st->clean.rfd = -1;
    if (msgmap_init(&st->msgs) == -1 || sendrate_init(&st->rate) == -1)
        return -1;
    for (int c = 0; c < NCHAN; c++) {
        struct chan *k = &st->ch[c];

        k->wfd = k->rfd = -1;
        k->slot = calloc(st->cf.spawnlimit, sizeof *k->slot);
        if (!k->slot) {
            errno = ENOMEM;
            return -1;
        }
        spawnproto_rep_init(&k->rp);
    }
    return 0;
}

/* job_forget - free j unless it is one of seen[0..*n) already; then it
 * is one of them */
static void
job_forget(struct job *j, struct job **seen, size_t *n, size_t max)
{
    for (size_t i = 0; i < *n; i++)
        if (seen[i] == j)
            return;
    if (*n < max)
        seen[(*n)++] = j;
    job_free(j);
    free(j);
}

/*
 * state_free - let go of what state_init and the work since took: the
 * loaded jobs (queued or with deliveries running), the heaps, buffers,
 * parsers and the scans under way.  Only with no fsync pending (a pend
 * points into a job): at qmail-send's exit (so a leak checker finds only
 * real leaks), and in tests.  Descriptors are main()'s and left alone.
 */
void
state_free(struct send_state *st)
{
    if (st->todo.dir)
        closedir(st->todo.dir);
    st->todo.dir = NULL;
    orphan_free(&st->orphans);
    if (st->scan.active) {
        qscan_free(&st->scan.info);
        qscan_free(&st->scan.ids[0]);
        qscan_free(&st->scan.ids[1]);
        qscan_free(&st->scan.todo);
        qscan_free(&st->scan.bounce);
        st->scan.active = false;
    }
    for (int c = 0; c < NCHAN; c++) {
        struct chan *k = &st->ch[c];
        size_t max = st->cf.spawnlimit + k->active, n = 0;
        struct job **seen = calloc(max ? max : 1, sizeof *seen);

        for (struct job *j = k->qhead, *next; j; j = next) {
            next = j->qnext;
            if (seen)
                job_forget(j, seen, &n, max);
        }
        for (unsigned long si = 0; k->slot && si < st->cf.spawnlimit; si++) {
            if (k->slot[si].busy && seen)
                job_forget(k->slot[si].job, seen, &n, max);
            free(k->slot[si].idx);
        }
        free(seen);
        free(k->slot);
        bstr_free(&k->wbuf);
        spawnproto_rep_free(&k->rp);
        sched_free(&k->heap);
    }
    sched_free(&st->bounceheap);
    bstr_free(&st->clean.buf);
    free(st->clean.q);
    bstr_free(&st->ctl.line);
    msgmap_free(&st->msgs);
    sendrate_free(&st->rate);
    conf_free(&st->cf);
}
