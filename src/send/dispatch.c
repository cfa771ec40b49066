/* SPDX-License-Identifier: ISC */
/*
 * dispatch - starting deliveries.  A message's channel comes due in the
 * channel's heap (dispatch_schedule); while the channel has fewer than
 * concurrency + EXTRA_ACTIVE jobs loaded, a due one is loaded from its
 * channel file into a job and queued (dispatch_activate); while it has a
 * free slot under its concurrency, the queued jobs' recipients are
 * handed to the spawner as requests (dispatch_run), each logged as
 * qmail-1.03 logs "starting delivery".  Requests only go into the
 * channel's buffer: writing them is the main loop's, and the results
 * come back through report.c.  Nothing starts on a dead channel or once
 * qmail-send is exiting.  A remote domain whose rate limit's window is
 * full (sendrate.c) waits like one at its concurrencyperdomain, and a
 * job that has nothing but such recipients left is parked with that
 * domain, so it holds no place among the loaded jobs; when the window
 * ends, as many parked messages as the next one admits come due in the
 * heap and are loaded again, the others stay parked.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "send.h"

#define REMOTE_RCPTS 100 /* recipients in one remote delivery at most */

static const char *const channame[NCHAN] = {"local", "remote"};

/*
 * dispatch_schedule - channel c of m is due at when.  Earlier heap
 * entries for it become stale (their generation no longer matches).
 */
void
dispatch_schedule(struct send_state *st, struct msg *m, int c, int64_t when)
{
    struct sched_item it;

    m->gen[c]++;
    it.when = when;
    it.id = m->id;
    it.gen = m->gen[c];
    it.chan = (uint32_t)c;
    if (sched_push(&st->ch[c].heap, &it) == -1)
        slog_nomem();
}

/* dispatch_status - qmail-1.03's status line, " exitasap" once it is
 * stopping */
void
dispatch_status(const struct send_state *st)
{
    slog("status: local %lu/%lu remote %lu/%lu%s", st->ch[CHAN_LOCAL].used,
         st->cf.concurrency[CHAN_LOCAL], st->ch[CHAN_REMOTE].used,
         st->cf.concurrency[CHAN_REMOTE], st->exiting ? " exitasap" : "");
}

static void
job_enqueue(struct chan *k, struct job *j)
{
    j->qnext = NULL;
    if (k->qtail)
        k->qtail->qnext = j;
    else
        k->qhead = j;
    k->qtail = j;
}

/*
 * unpark - sendrate_release lets parked message id go: due now in the
 * remote heap.  False when it no longer waits there (requeued, removed or
 * finished since it was parked: its generation has moved on).
 */
static bool
unpark(uint64_t id, uint32_t gen, void *arg)
{
    struct send_state *st = arg;
    struct msg *m = msgmap_get(&st->msgs, id);

    if (!m || m->gen[CHAN_REMOTE] != gen ||
        (m->flags & MSG_ACTIVE(CHAN_REMOTE)) ||
        !(m->flags & MSG_PENDING(CHAN_REMOTE)))
        return false;
    dispatch_schedule(st, m, CHAN_REMOTE, time(NULL));
    return true;
}

/* dispatch_activate - load due messages while channel c has room (for
 * remote, first the parked ones a rate limit's window now admits). */
void
dispatch_activate(struct send_state *st, int c)
{
    struct chan *k = &st->ch[c];
    time_t now = time(NULL);
    const struct sched_item *it;

    if (c == CHAN_REMOTE && !st->exiting)
        sendrate_release(&st->rate, &st->cf.rates, now, unpark, st);
    while (!st->exiting && k->active < st->cf.concurrency[c] + EXTRA_ACTIVE &&
           (it = sched_peek(&k->heap)) && it->when <= now) {
        struct sched_item x = *it;
        struct msg *m = msgmap_get(&st->msgs, x.id);
        struct job *j;
        int r;

        sched_pop(&k->heap);
        if (!m || m->gen[c] != x.gen || (m->flags & MSG_ACTIVE(c)) ||
            !(m->flags & MSG_PENDING(c)))
            continue; /* stale entry */
        j = malloc(sizeof *j);
        if (!j)
            slog_nomem();
        k->loads++;
        r = job_load(j, x.id, c, m->birth);
        if (r <= 0) {
            free(j);
            if (r == 0) {
                finish_channel(st, m, c);
            } else {
                slog("warning: trouble reading %s/%llu, will try later",
                     channame[c], (unsigned long long)x.id);
                dispatch_schedule(st, m, c, now + 60);
            }
            continue;
        }
        m->birth = j->birth;
        m->flags |= MSG_ACTIVE(c);
        k->active++;
        if (j->nr == 0 || (m->flags & (MSG_REMOVE | MSG_EXPIRE)))
            finish_job(st, j);
        else
            job_enqueue(k, j);
    }
}

/* rcpt_domain - the domain of an address as routed ("" without one). */
static const char *
rcpt_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at ? at + 1 : "";
}

/* slot_domain - the domain of a busy slot's recipients. */
static const char *
slot_domain(const struct slot *s)
{
    const struct job *j = s->job;

    return rcpt_domain(j->strings.s + j->r[s->idx[0]].addr);
}

/*
 * domain_full - whether the remote channel already runs perdomain
 * deliveries to dom (a delivery beyond that would only wait in
 * qmail-rspawn for a connection, holding a slot other domains could use).
 */
static bool
domain_full(const struct send_state *st, const struct chan *k, const char *dom)
{
    unsigned long n = 0;

    for (unsigned long si = 0; si < st->cf.spawnlimit; si++)
        if (k->slot[si].busy && !strcasecmp(slot_domain(&k->slot[si]), dom) &&
            ++n >= st->cf.perdomain)
            return true;
    return false;
}

/*
 * rate_held - does dom's rate limit hold a delivery back now?  The first
 * time in a window it is logged; *until (when it may go) is folded into
 * st->rate_wake, the main loop's wake-up.
 */
static bool
rate_held(struct send_state *st, const char *dom, int64_t now, int64_t *until)
{
    const struct sendrate_rule *x;
    struct bstr v = BSTR_INIT;
    bool first;

    if (!sendrate_held(&st->rate, &st->cf.rates, dom, now, until, &first))
        return false;
    if (st->rate_wake == 0 || *until < st->rate_wake)
        st->rate_wake = *until;
    if (first && (x = sendrate_rule(&st->cf.rates, dom)))
        slog("ratelimit: holding back remote deliveries to %s: %lu started "
             "in %lu seconds, the limit; the rest wait %lld seconds",
             slog_vis(&v, dom, strlen(dom)), x->max, x->secs,
             (long long)(*until - now));
    bstr_free(&v);
    return true;
}

/*
 * park - j is queued with nothing running or being marked, and every
 * recipient it has left waits for a rate limit's window, dom's the
 * first to end (at when): the message is parked with dom (sendrate.c)
 * and j let go, to be loaded again when the window lets it go.  With
 * recipients held at several domains (dom NULL) it is due in the heap
 * at when instead: parked with one domain, it would wait for that
 * domain's whole line while another's window is open.  Nothing
 * of it is lost: its done marks are on disk, and a rate limit is no
 * attempt (no retry counted, the channel file's next-attempt time
 * unchanged).  Its generation moves on, so any heap entry made for it
 * before is stale; should parking fail, it is due in the heap at when.
 */
static void
park(struct send_state *st, struct job *j, const char *dom, int64_t when)
{
    struct msg *m = msgmap_get(&st->msgs, j->id);
    int c = j->chan;

    if (m) {
        m->gen[c]++;
        if (!dom || sendrate_park(&st->rate, dom, m->id, m->gen[c], when) == -1)
            dispatch_schedule(st, m, c, when);
    }
    finish_wait(st, j, m);
}

/*
 * dispatch_unpark - after a reload: every domain with parked messages is
 * looked at again at once, so the new rules decide (a lifted limit lets
 * them all go, a kept one as many as its window admits).
 */
void
dispatch_unpark(struct send_state *st)
{
    sendrate_recheck(&st->rate, time(NULL));
}

/* parkable - may j wait in the heap instead of the channel's queue? */
static bool
parkable(const struct send_state *st, const struct job *j)
{
    const struct msg *m = msgmap_get((struct msgmap *)&st->msgs, j->id);

    return !j->running && !j->marking && !j->deferred && m &&
           !(m->flags & (MSG_REMOVE | MSG_EXPIRE));
}

/* start - one delivery of j's recipient i (and, remote, its domain's). */
static void
start(struct send_state *st, int c, struct job *j, size_t i, unsigned long si)
{
    struct chan *k = &st->ch[c];
    struct slot *s = &k->slot[si];
    struct bstr rcpts = BSTR_INIT;
    const char *dom = NULL; /* remote: the recipients' domain */
    int64_t now = time(NULL), until;

    s->n = 0;
    s->idx = malloc((c == CHAN_REMOTE ? REMOTE_RCPTS : 1) * sizeof *s->idx);
    if (!s->idx)
        slog_nomem();
    s->idx[s->n++] = i;
    if (c == CHAN_REMOTE) {
        /* the job's other recipients at the same domain go along */
        dom = rcpt_domain(j->strings.s + j->r[i].addr);
        for (size_t x = i + 1; x < j->nr && s->n < REMOTE_RCPTS; x++)
            if (j->r[x].state == 'T' &&
                !strcasecmp(dom, rcpt_domain(j->strings.s + j->r[x].addr)))
                s->idx[s->n++] = x;
        if (sendrate_count(&st->rate, &st->cf.rates, dom, now) == -1) {
            struct bstr v = BSTR_INIT;

            slog("warning: out of memory counting a rate limit, "
                 "delivery to %s not counted",
                 slog_vis(&v, dom, strlen(dom)));
            bstr_free(&v);
        }
    }
    s->job = j;
    s->busy = true;
    s->delnum = st->delnum + 1;
    st->delnum += s->n;
    j->running++;
    k->used++;
    for (size_t n = 0; n < s->n; n++) {
        size_t x = s->idx[n];

        j->r[x].state = 'R';
        if (bstr_cats(&rcpts, j->strings.s + j->r[x].addr) == -1 ||
            bstr_catc(&rcpts, '\0') == -1)
            slog_nomem();
    }
    if (spawnproto_request(&k->wbuf, (unsigned)si, j->id, j->sender.s,
                           j->sender.len, &rcpts, s->n) == -1)
        slog_nomem();
    bstr_free(&rcpts);
    for (size_t n = 0; n < s->n; n++)
        slog("starting delivery %lu: msg %llu to %s %s", s->delnum + n,
             (unsigned long long)j->id, channame[c],
             report_rcpt_vis(&rcpts, j, s->idx[n]));
    bstr_free(&rcpts);
    dispatch_status(st);
    /* the window this one fills holds back the messages still parked for
     * its domain: logged now, once per window, as a held job's would be */
    if (dom && sendrate_waiting(&st->rate, dom))
        (void)rate_held(st, dom, now, &until);
}

/*
 * dispatch_run - start deliveries of channel c's queued jobs, in order:
 * one recipient each for local, all the job's recipients at one domain
 * (up to REMOTE_RCPTS) for remote, which qmail-rspawn delivers in one
 * SMTP transaction.  A remote recipient whose domain already has
 * perdomain deliveries running, or whose rate limit's window is full,
 * waits, and the recipients and jobs behind it go first.  A job leaves
 * the queue once all its recipients are started, or (parked) when all it
 * has left waits for rate limits.
 */
void
dispatch_run(struct send_state *st, int c)
{
    struct chan *k = &st->ch[c];
    struct job *j = k->qhead, *prev = NULL;
    int64_t now = time(NULL);

    if (c == CHAN_REMOTE)
        st->rate_wake = 0; /* found again below, while anything waits */
    while (j && !st->exiting && !k->dead && k->used < st->cf.concurrency[c]) {
        const char *full = NULL;
        const char *wdom = NULL; /* the domain whose window ends first, */
        int64_t wake = 0, until; /* when: the earliest it waits for */
        const char *hdom = NULL; /* the first domain found held, and */
        bool several = false;    /* whether another one is held too */
        bool busy = false;       /* a domain waits for its concurrency */
        unsigned long si;
        size_t i;

        for (si = 0; si < st->cf.spawnlimit; si++)
            if (!k->slot[si].busy)
                break;
        if (si >= st->cf.spawnlimit)
            return;
        while (j->next < j->nr && j->r[j->next].state != 'T')
            j->next++;
        if (j->next >= j->nr) {
            /* every recipient started: out of the queue */
            struct job *next = j->qnext;

            if (prev)
                prev->qnext = next;
            else
                k->qhead = next;
            if (k->qtail == j)
                k->qtail = prev;
            if (!j->running && !j->marking)
                finish_job(st, j);
            j = next;
            continue;
        }
        for (i = j->next; i < j->nr; i++) {
            const char *dom;

            if (j->r[i].state != 'T')
                continue;
            if (c != CHAN_REMOTE)
                break;
            dom = rcpt_domain(j->strings.s + j->r[i].addr);
            if (full && !strcasecmp(dom, full))
                continue; /* a domain just found full */
            if (domain_full(st, k, dom))
                busy = true;
            else if (rate_held(st, dom, now, &until)) {
                if (!hdom)
                    hdom = dom;
                else if (strcasecmp(hdom, dom))
                    several = true;
                if (wake == 0 || until < wake) {
                    wake = until;
                    wdom = dom;
                }
            } else
                break;
            full = dom;
        }
        if (i >= j->nr) {
            struct job *next = j->qnext;

            if (!busy && wake && parkable(st, j)) {
                /* all it has left waits for rate limits */
                if (prev)
                    prev->qnext = next;
                else
                    k->qhead = next;
                if (k->qtail == j)
                    k->qtail = prev;
                park(st, j, several ? NULL : wdom, wake);
            } else {
                prev = j; /* all its domains are busy: the next job */
            }
            j = next;
            continue;
        }
        start(st, c, j, i, si);
    }
}
