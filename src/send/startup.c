/* SPDX-License-Identifier: ISC */
/*
 * startup - what the queue holds when qmail-send starts, taken into its
 * schedule: the directories are read at once (startup_begin), the
 * messages taken a slice per turn of the main loop (startup_work), so new
 * mail flows meanwhile, and a queue tool's request for one not reached
 * yet takes it at once (startup_take).  Each preprocessed message gets a
 * record and, per channel with a file, a due time from that file's mtime
 * as qmail-1.03 keeps it.  It reads the queue and changes nothing in it;
 * the schedule is qmail-send's (struct startup_ops).
 */
#include <sys/stat.h>

#include "qpath.h"
#include "send.h"

static const char *const channame[NCHAN] = {"local", "remote"};

static bool
has_id(const struct qscan_ids *ids, uint64_t id)
{
    size_t lo = 0, hi = ids->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (ids->v[mid] == id)
            return true;
        if (ids->v[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/*
 * due_from_mtime - when to try channel c of m (born m->birth) whose
 * channel file's mtime is mtime: then, as qmail-1.03 does (in the past:
 * now).  Only a time past both the schedule's next attempt and the end of
 * the message's queuelifetime is brought back to the later of the two: a
 * clock that was wrong, or a much longer schedule before, cannot keep a
 * message from being tried (and bounced) for ever.
 */
static time_t
due_from_mtime(const struct send_conf *cf, const struct msg *m, int c,
               time_t mtime)
{
    time_t now = time(NULL);
    time_t next = retry_next((time_t)m->birth, now, cf->skip[c]);
    time_t end = (time_t)m->birth + (time_t)cf->queuelifetime;
    time_t latest = next > end ? next : end;

    return mtime > latest ? latest : mtime;
}

/*
 * startup_begin - read info/, local/, remote/, todo/ and bounce/.
 * Returns 0, or -1 with errno.
 */
int
startup_begin(struct startup *s)
{
    if (qscan_split("info", &s->info) == -1 ||
        qscan_split("local", &s->ids[0]) ||
        qscan_split("remote", &s->ids[1]) ||
        qscan_dir("todo", &s->todo) == -1 ||
        qscan_dir("bounce", &s->bounce) == -1)
        return -1;
    qscan_sort_unique(&s->info); /* has_id: startup_take */
    qscan_sort_unique(&s->ids[0]);
    qscan_sort_unique(&s->ids[1]);
    qscan_sort_unique(&s->todo);
    qscan_sort_unique(&s->bounce);
    s->now = time(NULL);
    s->next = 0;
    s->active = true;
    return 0;
}

/*
 * startup_take - message id of the start-up scan into the schedule, when
 * it is one: its info/S/N was there at the start and it is neither in
 * todo/ (preprocessing was interrupted: it is redone) nor known already
 * (taken before, or preprocessed since).  Returns 1 taken (its record in
 * *mp), 0 not one, -1 out of memory.
 */
int
startup_take(struct startup *s, const struct startup_ops *ops, uint64_t id,
             struct msg **mp)
{
    char fn[QPATH_MAX];
    struct stat st;
    struct msg *m;

    if (!s->active || !has_id(&s->info, id) || has_id(&s->todo, id) ||
        msgmap_get(ops->msgs, id))
        return 0;
    qpath_fmt(fn, "info", id);
    if (stat(fn, &st) == -1)
        return 0;
    m = msgmap_add(ops->msgs, id);
    if (!m)
        return -1;
    m->birth = st.st_mtime;
    for (int c = 0; c < NCHAN; c++) {
        time_t when;
        int r;

        if (!has_id(&s->ids[c], id))
            continue;
        r = job_due(id, c, &when);
        if (r == 0)
            continue; /* gone since the directory was read */
        if (r == -1) {
            qpath_fmt(fn, channame[c], id);
            slog("warning: unable to stat %s; will try again later", fn);
            when = s->now + 60;
        }
        m->flags |= MSG_PENDING(c);
        ops->schedule(m, c, due_from_mtime(ops->cf, m, c, when), ops->arg);
    }
    if (has_id(&s->bounce, id))
        m->flags |= MSG_BOUNCE;
    if (!(m->flags & (MSG_PENDING(0) | MSG_PENDING(1))))
        ops->finished(id, s->now, ops->arg); /* all done before the restart */
    *mp = m;
    return 1;
}

/*
 * startup_work - take the next max messages of the start-up scan into
 * the schedule.  Returns 1 while some are left, 0 once all are (said in
 * the log, the lists let go), -1 out of memory.  Messages preprocessed
 * since the start are not in the scan's lists (their info/ came later),
 * and those in todo/ at the start are preprocessed again.
 */
int
startup_work(struct startup *s, const struct startup_ops *ops, size_t max)
{
    size_t end;

    if (!s->active)
        return 0;
    end = s->next + max;
    if (end > s->info.n)
        end = s->info.n;
    for (; s->next < end; s->next++) {
        struct msg *m;

        if (startup_take(s, ops, s->info.v[s->next], &m) == -1)
            return -1;
    }
    if (s->next < s->info.n)
        return 1;
    slog("status: queue read, %zu messages", ops->msgs->n);
    qscan_free(&s->info);
    qscan_free(&s->ids[0]);
    qscan_free(&s->ids[1]);
    qscan_free(&s->todo);
    qscan_free(&s->bounce);
    s->active = false;
    return 0;
}
