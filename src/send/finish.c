/* SPDX-License-Identifier: ISC */
/*
 * finish - the end of a job, of a channel and of a message.  A job whose
 * deliveries have all reported (report.c) either has recipients left
 * (retried at the schedule's next attempt, the time kept in the channel
 * file's mtime, with a deferral notice once the message is old enough)
 * or is done: its channel file goes, and once neither channel has
 * anything left the message is finished: its bounce is sent (bounce/N:
 * the failures, as qmail-1.03 sends them at the end of every delivery
 * pass), info/N removed, "end msg N" logged, and qmail-clean removes the
 * rest.  A message past queuelifetime, or expired by the admin, bounces
 * what is left; one removed by the admin drops it.  A bounce that cannot
 * be injected is tried again BOUNCE_RETRY seconds later.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qpath.h"
#include "result.h"
#include "send.h"

#define BOUNCE_RETRY 300 /* seconds before another try at a bounce */

static const char *const channame[NCHAN] = {"local", "remote"};

/*
 * finish_bounce - send what bounce/N holds (the failures recorded so
 * far) as one bounce message and remove it; as qmail does at the end of
 * every delivery pass, so a failed recipient is reported even while
 * others of the message are still deferred.  False when that has to wait
 * (trouble injecting: retried in BOUNCE_RETRY seconds).
 */
bool
finish_bounce(struct send_state *st, struct msg *m)
{
    char fn[QPATH_MAX];
    struct stat sb;
    struct bstr sender = BSTR_INIT;
    int64_t birth;
    pid_t qp = 0;
    int r;

    qpath_fmt(fn, "bounce", m->id);
    if (m->flags & MSG_REMOVE) {
        unlink(fn);
        m->flags &= ~MSG_BOUNCE;
        return true;
    }
    if (stat(fn, &sb) == -1) {
        m->flags &= ~MSG_BOUNCE;
        return true;
    }
    r = info_read(m->id, &sender, &birth);
    if (r == 1)
        r = bounce_inject(&st->cf, m->id, sender.s, false, NULL, &qp);
    else
        r = -1;
    bstr_free(&sender);
    if (r == -1) {
        struct sched_item it = {time(NULL) + BOUNCE_RETRY, m->id, 0,
                                SCHED_BOUNCE};

        slog("warning: trouble injecting bounce message, will try later");
        m->flags |= MSG_BOUNCE;
        if (sched_push(&st->bounceheap, &it) == -1)
            slog_nomem();
        return false;
    }
    if (r == 1)
        slog("triple bounce: discarding bounce/%llu",
             (unsigned long long)m->id);
    else
        slog("bounce msg %llu qp %ld", (unsigned long long)m->id, (long)qp);
    if (unlink(fn) == -1 && errno != ENOENT)
        slog("warning: unable to unlink bounce/%llu",
             (unsigned long long)m->id);
    m->flags &= ~MSG_BOUNCE;
    return true;
}

/* finish_message - every recipient is finished: bounce, then clean up. */
void
finish_message(struct send_state *st, uint64_t id)
{
    char fn[QPATH_MAX];
    struct msg *m = msgmap_get(&st->msgs, id);

    if (!m || !finish_bounce(st, m))
        return;
    qpath_fmt(fn, "info", id);
    if (unlink(fn) == -1 && errno != ENOENT) {
        slog("warning: unable to unlink info/%llu, will try later",
             (unsigned long long)id);
        return;
    }
    slog("end msg %llu", (unsigned long long)id);
    m->flags |= MSG_DONEWAIT;
    cleanq_request(st, 'x', id);
}

/* finish_channel - channel c of m has no recipient left: its file goes,
 * and the message is finished when the other channel is too. */
void
finish_channel(struct send_state *st, struct msg *m, int c)
{
    char fn[QPATH_MAX];

    qpath_fmt(fn, channame[c], m->id);
    if (unlink(fn) == -1 && errno != ENOENT)
        slog("warning: unable to unlink %s", fn);
    m->flags &= ~MSG_PENDING(c);
    if (!(m->flags &
          (MSG_PENDING(0) | MSG_PENDING(1) | MSG_ACTIVE(0) | MSG_ACTIVE(1))))
        finish_message(st, m->id);
}

/* Recipients still deferred once a message is too old bounce instead. */
static void
give_up(struct job *j, const char *why)
{
    struct bstr v = BSTR_INIT;

    for (size_t i = 0; i < j->nr; i++) {
        struct bstr t = BSTR_INIT;
        const char *addr = j->strings.s + j->r[i].addr;

        if (j->r[i].state != 'S' && j->r[i].state != 'T')
            continue;
        if (j->r[i].text && bstr_cats(&t, j->strings.s + j->r[i].text) == -1)
            slog_nomem();
        if (t.len && t.s[t.len - 1] != '\n' && bstr_catc(&t, '\n') == -1)
            slog_nomem();
        if (bstr_cats(&t, why) == -1)
            slog_nomem();
        if (bounce_add(j->id, addr, t.s, t.len) == 0 &&
            job_mark_done(j, i) == 0)
            j->r[i].state = 'D';
        else
            slog("warning: unable to bounce %s of msg %llu, will try later",
                 report_rcpt_vis(&v, j, i), (unsigned long long)j->id);
        bstr_free(&t);
    }
    bstr_free(&v);
}

static void
drop_all(struct job *j)
{
    for (size_t i = 0; i < j->nr; i++)
        if (j->r[i].state == 'S' || j->r[i].state == 'T')
            (void)job_mark_done(j, i);
}

/* notice - a deferral notice, once, for an old enough message. */
static void
notice(const struct send_conf *cf, struct job *j)
{
    struct bstr rep = BSTR_INIT;
    pid_t qp = 0;
    int64_t age = (int64_t)time(NULL) - j->birth;

    if (!cf->warnafter || age < (int64_t)cf->warnafter || j->sender.len == 0 ||
        strcmp(j->sender.s, "#@[]") == 0 || info_has(j->id, 'W'))
        return;
    for (size_t i = 0; i < j->nr; i++) {
        const char *t;

        if (j->r[i].state != 'S')
            continue;
        t = j->r[i].text ? j->strings.s + j->r[i].text : "";
        if (bounce_paragraph(&rep, j->strings.s + j->r[i].addr, t, strlen(t)) ==
            -1)
            slog_nomem();
    }
    if (rep.len &&
        bounce_inject(cf, j->id, j->sender.s, true, &rep, &qp) == 0 &&
        info_mark(j->id, 'W') == 0)
        slog("notice msg %llu qp %ld", (unsigned long long)j->id, (long)qp);
    bstr_free(&rep);
}

/* unload - j leaves its channel's loaded jobs, and m (NULL: gone) is
 * no longer active there; j is freed */
static void
unload(struct send_state *st, struct job *j, struct msg *m)
{
    st->ch[j->chan].active--;
    if (m)
        m->flags &= ~MSG_ACTIVE(j->chan);
    job_free(j);
    free(j);
}

/*
 * finish_wait - j has recipients left and waits for another turn, which
 * the caller has set (a retry in the heap, or parked for a rate limit's
 * window): j is unloaded and freed, and the failures recorded so far
 * are bounced now, as qmail does at the end of every delivery pass.
 */
void
finish_wait(struct send_state *st, struct job *j, struct msg *m)
{
    unload(st, j, m);
    if (m && (m->flags & MSG_BOUNCE))
        finish_bounce(st, m);
}

/* finish_job - all of a job's deliveries have reported: frees j. */
void
finish_job(struct send_state *st, struct job *j)
{
    struct msg *m = msgmap_get(&st->msgs, j->id);
    int c = j->chan;
    bool left = false;
    time_t now = time(NULL);
    time_t next;

    if (!m) {
        unload(st, j, NULL);
        return;
    }
    if (m->flags & MSG_REMOVE)
        drop_all(j);
    else if (m->flags & MSG_EXPIRE)
        give_up(j, result_get(RS_EXPIRED)->text);
    else if (j->deferred && now - j->birth >= (int64_t)st->cf.queuelifetime)
        give_up(j, "I'm not going to try again; this message has been in "
                   "the queue too long.");
    for (size_t i = 0; i < j->nr; i++)
        if (j->r[i].state != 'D')
            left = true;
    if (!left) {
        unload(st, j, m);
        finish_channel(st, m, c);
        return;
    }
    next = retry_next((time_t)j->birth, now, st->cf.skip[c]);
    if (j->deferred)
        notice(&st->cf, j);
    dispatch_schedule(st, m, c, next);
    touch_set(m, c, next);
    finish_wait(st, j, m);
}

/* finish_bounces_due - bounces that could not be injected, and messages
 * finished before a restart, when their time has come */
void
finish_bounces_due(struct send_state *st)
{
    const struct sched_item *it;
    time_t now = time(NULL);

    while (!st->exiting && (it = sched_peek(&st->bounceheap)) &&
           it->when <= now) {
        uint64_t id = it->id;
        struct msg *m;

        sched_pop(&st->bounceheap);
        m = msgmap_get(&st->msgs, id);
        if (!m || (m->flags & MSG_DONEWAIT))
            continue;
        if (!(m->flags & (MSG_PENDING(0) | MSG_PENDING(1) | MSG_ACTIVE(0) |
                          MSG_ACTIVE(1))))
            finish_message(st, id);
        else if (m->flags & MSG_BOUNCE)
            finish_bounce(st, m);
    }
}
