/* SPDX-License-Identifier: ISC */
/*
 * qmail-send - the queue manager.
 *
 * Started by qmail-start with its helpers on fixed descriptors:
 *   1 (and 2)  the log (qmail-send's lines; a logger stamps them)
 *   3 -> 4 <-  qmail-lspawn: requests, reports (spawnproto.h)
 *   5 -> 6 <-  qmail-rspawn
 *   7 -> 8 <-  qmail-clean: "t<id>" / "x<id>" requests, '+'/'!' answers
 * It works in $QMAIL_HOME/queue: what the queue holds at the start is
 * read a slice at a time (startup.c), new messages in todo/ are
 * preprocessed (todo.c), deliveries are scheduled by due time and
 * concurrency (send.h), next attempts kept in the channel files' mtimes
 * (touch.c); done marks, bounces (bounce.c) and the log follow qmail-1.03.
 *
 * Signals: HUP rereads control/, ALRM makes every message due now, TERM
 * (and INT: a Ctrl-C to the process group) stops starting deliveries,
 * waits for the running ones, then exits.
 * lock/sendmutex is locked while it runs (one qmail-send per queue);
 * lock/trigger wakes it when qmail-queue commits a message; lock/sendctl
 * carries queue tools' requests (requeue, expire, remove: sendctl.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"
#include "fsyncq.h"
#include "lock.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "qpath.h"
#include "send.h"

#define TODO_BATCH 64        /* todo/ entries per main-loop turn */
#define TODO_RESCAN 60       /* seconds between unprompted todo/ scans */
#define CLEAN_INFLIGHT 1024  /* unanswered qmail-clean requests at most */
#define BOUNCE_RETRY 300     /* seconds before another try at a bounce */
#define EXTRA_ACTIVE 16      /* loaded jobs beyond a channel's concurrency */
#define REMOTE_RCPTS 100     /* recipients in one remote delivery at most */
#define SCAN_BATCH 256       /* messages of the start-up scan per turn */
#define ORPHAN_BATCH 256     /* mess/ entries the orphan sweep reads per turn */
#define ORPHAN_EVERY 3600    /* seconds from one orphan sweep to the next */

static const char *const channame[NCHAN] = {"local", "remote"};

struct slot {
    bool busy;
    struct job *job;
    size_t *idx; /* recipients of this delivery */
    size_t n;
    unsigned long delnum; /* of idx[0]; idx[k] is delnum + k */
};

struct chan {
    int wfd, rfd;
    struct bstr wbuf;
    size_t woff;
    struct spawn_repparser rp;
    struct slot *slot;
    unsigned long used;
    struct job *qhead, *qtail; /* jobs with recipients not yet dispatched */
    unsigned long active;      /* loaded jobs */
    struct sched heap;
    bool dead;
};

struct cleanreq {
    char type;
    uint64_t id;
};

/* what a background fsync was for (fsyncq.h) */
enum { P_PRE, P_BOUNCE, P_MARK };

struct pend {
    int kind;
    uint64_t id;     /* P_PRE */
    int left;        /* P_PRE: files still to sync */
    int err;
    struct job *job; /* P_BOUNCE, P_MARK */
    size_t idx;      /* P_BOUNCE: the recipient */
    size_t *idxs;    /* P_MARK: the recipients marked, nidx of them */
    size_t nidx;
};

static struct send_conf cf;
static struct msgmap msgs;
static struct chan ch[NCHAN];
static struct sched bounceheap;
static unsigned long delnum;
static bool exiting;

static int cleanw = 7, cleanr = 8;
static struct bstr cleanbuf;
static size_t cleanoff;
static struct cleanreq *cleanq;
static size_t cleanhead, cleancount;

static DIR *todo_dir;
static bool todo_again;
static time_t todo_last;
static int trigger_fd = -1;

/* ---- the way out ------------------------------------------------------ */

static void __attribute__((noreturn))
die(const char *what)
{
    slog("alert: %s", what);
    slog_flush();
    _exit(EXIT_TEMP);
}

static void __attribute__((noreturn))
die_nomem(void)
{
    die("out of memory, exiting");
}

/*
 * hold_queue - take lock/sendmutex, as qmail-1.03's qmail-send does, and
 * keep it until exit: one qmail-send per queue.  A second one (a second
 * qmail-start, a supervisor starting it again) stops here with
 * qmail-1.03's alert, before it reads or changes anything in the queue.
 * The lock is flock(2)'s, which qmail-1.03 takes too where it has it.
 */
static void
hold_queue(void)
{
    int fd = open("lock/sendmutex", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd == -1)
        die("cannot start: unable to open mutex");
    if (lock_ex_wait(fd, 0) == -1)
        die(errno == ETIMEDOUT ? "cannot start: qmail-send is already running"
                               : "cannot start: unable to lock mutex");
    /* fd stays open, and the queue ours, until qmail-send exits */
}

/* status - qmail-1.03's status line, " exitasap" once it is stopping */
static void
status(void)
{
    slog("status: local %lu/%lu remote %lu/%lu%s", ch[CHAN_LOCAL].used,
         cf.concurrency[CHAN_LOCAL], ch[CHAN_REMOTE].used,
         cf.concurrency[CHAN_REMOTE], exiting ? " exitasap" : "");
}

/* rcpt_vis - recipient i of j as the log may show it (slog_vis) */
static const char *
rcpt_vis(struct bstr *v, const struct job *j, size_t i)
{
    const char *a = j->strings.s + j->r[i].addr;

    return slog_vis(v, a, strlen(a));
}

/* unrecorded - the result for recipient i of j is not on disk: said, and
 * the recipient is tried again */
static void
unrecorded(struct job *j, size_t i)
{
    struct bstr v = BSTR_INIT;

    slog("warning: unable to record the result for %s of msg %llu, will "
         "try again", rcpt_vis(&v, j, i), (unsigned long long)j->id);
    bstr_free(&v);
    j->r[i].state = 'S';
    j->deferred = true;
}

/* ---- qmail-clean ------------------------------------------------------ */

static void
clean_request(char type, uint64_t id)
{
    size_t cap = CLEAN_INFLIGHT * 4;

    if (!cleanq && !(cleanq = calloc(cap, sizeof *cleanq)))
        die_nomem();
    if (cleancount == cap)
        die("too many requests to qmail-clean pending, exiting");
    cleanq[(cleanhead + cleancount) % cap].type = type;
    cleanq[(cleanhead + cleancount) % cap].id = id;
    cleancount++;
    if (bstr_catc(&cleanbuf, type) == -1 || bstr_catu(&cleanbuf, id) == -1 ||
        bstr_catc(&cleanbuf, '\0') == -1)
        die_nomem();
}

static void schedule_now(struct msg *m, int c);
static void message_done(uint64_t id);

static void
clean_answer(char a)
{
    size_t cap = CLEAN_INFLIGHT * 4;
    struct cleanreq r;
    struct msg *m;

    if (!cleancount)
        return;
    r = cleanq[cleanhead];
    cleanhead = (cleanhead + 1) % cap;
    cleancount--;
    m = msgmap_get(&msgs, r.id);
    if (r.type == 't') {
        if (!m)
            return;
        if (a != '+') {
            /* todo/N stays; the next scan preprocesses it again */
            slog("warning: qmail-clean unable to clean up todo/%llu",
                 (unsigned long long)r.id);
            msgmap_del(&msgs, r.id);
            return;
        }
        m->flags &= ~MSG_NEW;
        for (int c = 0; c < NCHAN; c++)
            if (m->flags & MSG_PENDING(c))
                schedule_now(m, c);
        if (!(m->flags & (MSG_PENDING(0) | MSG_PENDING(1))))
            message_done(r.id);
    } else if (r.type == 'o') {
        char fn[QPATH_MAX];

        qpath_fmt(fn, "mess", r.id);
        /* '-': nothing left (qmail-clean's own sweep took it) */
        if (a == '+')
            slog("warning: removed orphan %s: no todo/ or info/ entry and "
                 "untouched for 36 hours (a qmail-queue was interrupted)",
                 fn);
        else if (a != '-')
            slog("warning: qmail-clean unable to clean up orphan %s", fn);
    } else if (r.type == 'x') {
        if (a != '+')
            slog("warning: qmail-clean unable to clean up msg %llu",
                 (unsigned long long)r.id);
        if (m && (m->flags & MSG_DONEWAIT)) {
            if (m->flags & MSG_REUSED)
                todo_again = true;
            msgmap_del(&msgs, r.id);
        }
    }
}

/* ---- scheduling ------------------------------------------------------- */

static void
schedule_at(struct msg *m, int c, int64_t when)
{
    struct sched_item it;

    m->gen[c]++;
    it.when = when;
    it.id = m->id;
    it.gen = m->gen[c];
    it.chan = (uint32_t)c;
    if (sched_push(&ch[c].heap, &it) == -1)
        die_nomem();
}

static void
schedule_now(struct msg *m, int c)
{
    schedule_at(m, c, time(NULL));
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
 * bounce_now - send what bounce/N holds (the failures recorded so far) as
 * one bounce message and remove it; as qmail does at the end of every
 * delivery pass, so a failed recipient is reported even while others of
 * the message are still deferred.  False when that has to wait (trouble
 * injecting: retried in BOUNCE_RETRY seconds).
 */
static bool
bounce_now(struct msg *m)
{
    char fn[QPATH_MAX];
    struct stat st;
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
    if (stat(fn, &st) == -1) {
        m->flags &= ~MSG_BOUNCE;
        return true;
    }
    r = info_read(m->id, &sender, &birth);
    if (r == 1)
        r = bounce_inject(&cf, m->id, sender.s, false, NULL, &qp);
    else
        r = -1;
    bstr_free(&sender);
    if (r == -1) {
        struct sched_item it = {time(NULL) + BOUNCE_RETRY, m->id, 0,
                                SCHED_BOUNCE};

        slog("warning: trouble injecting bounce message, will try later");
        m->flags |= MSG_BOUNCE;
        if (sched_push(&bounceheap, &it) == -1)
            die_nomem();
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

/* message_done - every recipient is finished: bounce, then clean up. */
static void
message_done(uint64_t id)
{
    char fn[QPATH_MAX];
    struct msg *m = msgmap_get(&msgs, id);

    if (!m || !bounce_now(m))
        return;
    qpath_fmt(fn, "info", id);
    if (unlink(fn) == -1 && errno != ENOENT) {
        slog("warning: unable to unlink info/%llu, will try later",
             (unsigned long long)id);
        return;
    }
    slog("end msg %llu", (unsigned long long)id);
    m->flags |= MSG_DONEWAIT;
    clean_request('x', id);
}

static void
channel_complete(struct msg *m, int c)
{
    char fn[QPATH_MAX];

    qpath_fmt(fn, channame[c], m->id);
    if (unlink(fn) == -1 && errno != ENOENT)
        slog("warning: unable to unlink %s", fn);
    m->flags &= ~MSG_PENDING(c);
    if (!(m->flags & (MSG_PENDING(0) | MSG_PENDING(1) | MSG_ACTIVE(0) |
                      MSG_ACTIVE(1))))
        message_done(m->id);
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
        if (j->r[i].text &&
            bstr_cats(&t, j->strings.s + j->r[i].text) == -1)
            die_nomem();
        if (t.len && t.s[t.len - 1] != '\n' && bstr_catc(&t, '\n') == -1)
            die_nomem();
        if (bstr_cats(&t, why) == -1)
            die_nomem();
        if (bounce_add(j->id, addr, t.s, t.len) == 0 &&
            job_mark_done(j, i) == 0)
            j->r[i].state = 'D';
        else
            slog("warning: unable to bounce %s of msg %llu, will try later",
                 rcpt_vis(&v, j, i), (unsigned long long)j->id);
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
notice(struct job *j)
{
    struct bstr rep = BSTR_INIT;
    pid_t qp = 0;
    int64_t age = (int64_t)time(NULL) - j->birth;

    if (!cf.warnafter || age < (int64_t)cf.warnafter || j->sender.len == 0 ||
        strcmp(j->sender.s, "#@[]") == 0 || info_has(j->id, 'W'))
        return;
    for (size_t i = 0; i < j->nr; i++) {
        const char *t;

        if (j->r[i].state != 'S')
            continue;
        t = j->r[i].text ? j->strings.s + j->r[i].text : "";
        if (bounce_paragraph(&rep, j->strings.s + j->r[i].addr, t,
                             strlen(t)) == -1)
            die_nomem();
    }
    if (rep.len &&
        bounce_inject(&cf, j->id, j->sender.s, true, &rep, &qp) == 0 &&
        info_mark(j->id, 'W') == 0)
        slog("notice msg %llu qp %ld", (unsigned long long)j->id, (long)qp);
    bstr_free(&rep);
}

/* finish_job - all of a job's deliveries have reported. */
static void
finish_job(struct job *j)
{
    struct msg *m = msgmap_get(&msgs, j->id);
    int c = j->chan;
    bool left = false;
    time_t now = time(NULL);

    ch[c].active--;
    if (!m) {
        job_free(j);
        free(j);
        return;
    }
    m->flags &= ~MSG_ACTIVE(c);
    if (m->flags & MSG_REMOVE)
        drop_all(j);
    else if (m->flags & MSG_EXPIRE)
        give_up(j, "The queue administrator expired this message. (#5.4.7)");
    else if (j->deferred && now - j->birth >= (int64_t)cf.queuelifetime)
        give_up(j, "I'm not going to try again; this message has been in "
                   "the queue too long.");
    for (size_t i = 0; i < j->nr; i++)
        if (j->r[i].state != 'D')
            left = true;
    if (left) {
        time_t next = retry_next((time_t)j->birth, now, cf.skip[c]);

        if (j->deferred)
            notice(j);
        schedule_at(m, c, next);
        touch_set(m, c, next);
        if (m->flags & MSG_BOUNCE)
            bounce_now(m);
    } else {
        channel_complete(m, c);
    }
    job_free(j);
    free(j);
}

/* activate - load due messages while the channel has room. */
static void
activate(int c)
{
    struct chan *k = &ch[c];
    time_t now = time(NULL);
    const struct sched_item *it;

    while (!exiting && k->active < cf.concurrency[c] + EXTRA_ACTIVE &&
           (it = sched_peek(&k->heap)) && it->when <= now) {
        struct sched_item x = *it;
        struct msg *m = msgmap_get(&msgs, x.id);
        struct job *j;
        int r;

        sched_pop(&k->heap);
        if (!m || m->gen[c] != x.gen || (m->flags & MSG_ACTIVE(c)) ||
            !(m->flags & MSG_PENDING(c)))
            continue; /* stale entry */
        j = malloc(sizeof *j);
        if (!j)
            die_nomem();
        r = job_load(j, x.id, c, m->birth);
        if (r <= 0) {
            free(j);
            if (r == 0) {
                channel_complete(m, c);
            } else {
                slog("warning: trouble reading %s/%llu, will try later",
                     channame[c], (unsigned long long)x.id);
                schedule_at(m, c, now + 60);
            }
            continue;
        }
        m->birth = j->birth;
        m->flags |= MSG_ACTIVE(c);
        k->active++;
        if (j->nr == 0 || (m->flags & (MSG_REMOVE | MSG_EXPIRE)))
            finish_job(j);
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
domain_full(const struct chan *k, const char *dom)
{
    unsigned long n = 0;

    for (unsigned long si = 0; si < cf.spawnlimit; si++)
        if (k->slot[si].busy && !strcasecmp(slot_domain(&k->slot[si]), dom) &&
            ++n >= cf.perdomain)
            return true;
    return false;
}

/* start - one delivery of j's recipient i (and, remote, its domain's). */
static void
start(int c, struct job *j, size_t i, unsigned long si)
{
    struct chan *k = &ch[c];
    struct slot *s = &k->slot[si];
    struct bstr rcpts = BSTR_INIT;

    s->n = 0;
    s->idx = malloc((c == CHAN_REMOTE ? REMOTE_RCPTS : 1) * sizeof *s->idx);
    if (!s->idx)
        die_nomem();
    s->idx[s->n++] = i;
    if (c == CHAN_REMOTE) {
        /* the job's other recipients at the same domain go along */
        const char *dom = rcpt_domain(j->strings.s + j->r[i].addr);

        for (size_t x = i + 1; x < j->nr && s->n < REMOTE_RCPTS; x++)
            if (j->r[x].state == 'T' &&
                !strcasecmp(dom, rcpt_domain(j->strings.s + j->r[x].addr)))
                s->idx[s->n++] = x;
    }
    s->job = j;
    s->busy = true;
    s->delnum = delnum + 1;
    delnum += s->n;
    j->running++;
    k->used++;
    for (size_t n = 0; n < s->n; n++) {
        size_t x = s->idx[n];

        j->r[x].state = 'R';
        if (bstr_cats(&rcpts, j->strings.s + j->r[x].addr) == -1 ||
            bstr_catc(&rcpts, '\0') == -1)
            die_nomem();
    }
    if (spawnproto_request(&k->wbuf, (unsigned)si, j->id, j->sender.s,
                           j->sender.len, &rcpts, s->n) == -1)
        die_nomem();
    bstr_free(&rcpts);
    for (size_t n = 0; n < s->n; n++)
        slog("starting delivery %lu: msg %llu to %s %s", s->delnum + n,
             (unsigned long long)j->id, channame[c],
             rcpt_vis(&rcpts, j, s->idx[n]));
    bstr_free(&rcpts);
    status();
}

/*
 * dispatch - start deliveries of the queued jobs, in order: one recipient
 * each for local, all the job's recipients at one domain (up to
 * REMOTE_RCPTS) for remote, which qmail-rspawn delivers in one SMTP
 * transaction.  A remote recipient whose domain already has perdomain
 * deliveries running waits, and the recipients and jobs behind it go
 * first.  A job leaves the queue once all its recipients are started.
 */
static void
dispatch(int c)
{
    struct chan *k = &ch[c];
    struct job *j = k->qhead, *prev = NULL;

    while (j && !exiting && !k->dead && k->used < cf.concurrency[c]) {
        const char *full = NULL;
        unsigned long si;
        size_t i;

        for (si = 0; si < cf.spawnlimit; si++)
            if (!k->slot[si].busy)
                break;
        if (si >= cf.spawnlimit)
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
                finish_job(j);
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
            if (!domain_full(k, dom))
                break;
            full = dom;
        }
        if (i >= j->nr) {
            prev = j; /* all its domains are busy: the next job */
            j = j->qnext;
            continue;
        }
        start(c, j, i, si);
    }
}

static void maybe_finish(struct chan *k, struct job *j);

/*
 * mark_done - the done marks of recipients idx[0..n) of j (delivered):
 * written at once, then one fsync in the background for all of them.
 * Takes idx (malloc'ed) over.
 */
static void
mark_done(struct job *j, size_t *idx, size_t n)
{
    struct pend *pd = calloc(1, sizeof *pd);
    int fd;

    if (!pd)
        die_nomem();
    pd->kind = P_MARK;
    pd->job = j;
    pd->idxs = idx;
    pd->nidx = n;
    fd = job_mark_write(j, idx, n);
    if (fd == -1 || fsyncq_submit(fd, pd) == -1) {
        for (size_t k = 0; k < n; k++)
            unrecorded(j, idx[k]);
        if (fd != -1)
            close(fd);
        free(idx);
        free(pd);
        return;
    }
    for (size_t k = 0; k < n; k++)
        j->r[idx[k]].state = 'M';
    j->marking += n;
}

/* report - a spawner says how a delivery went. */
static void
report(int c, const struct spawn_report *rep)
{
    struct chan *k = &ch[c];
    struct slot *s;
    struct job *j;
    struct bstr text = BSTR_INIT;
    const char *word;
    size_t toff = 0, *marks, nmarks = 0;
    bool mangled;

    if (rep->slot >= cf.spawnlimit || !k->slot[rep->slot].busy) {
        slog("warning: qmail-%cspawn reported for an idle slot %u",
             c == CHAN_LOCAL ? 'l' : 'r', rep->slot);
        return;
    }
    s = &k->slot[rep->slot];
    j = s->job;
    mangled = rep->codes.len != s->n;
    marks = malloc(s->n * sizeof *marks);
    if (!marks)
        die_nomem();
    for (size_t n = 0; n < s->n; n++) {
        size_t i = s->idx[n];
        char code = mangled ? 's' : rep->codes.s[n];
        const char *t = mangled ? "" : rep->texts.s + toff;
        size_t tl = strlen(t);
        const char *addr = j->strings.s + j->r[i].addr;

        if (!mangled)
            toff += tl + 1;
        /* a line per recipient, as if each were a delivery of its own */
        if (mangled) {
            slog("delivery %lu: report mangled, will defer", s->delnum + n);
        } else {
            word = code == 'r' ? "success" : code == 'h' ? "failure"
                                                         : "deferral";
            slog_text(&text, tl ? t : rep->text.s, tl ? tl : rep->text.len);
            slog("delivery %lu: %s: %s", s->delnum + n, word,
                 text.s ? text.s : "");
        }
        if (code == 'r') {
            marks[nmarks++] = i;
        } else if (code == 'h') {
            struct pend *pd = calloc(1, sizeof *pd);
            struct msg *m = msgmap_get(&msgs, j->id);
            int fd;

            if (!pd)
                die_nomem();
            pd->job = j;
            pd->idx = i;
            pd->kind = P_BOUNCE;
            fd = bounce_append(j->id, addr, tl ? t : rep->text.s,
                               tl ? tl : rep->text.len);
            if (m && fd != -1)
                m->flags |= MSG_BOUNCE;
            if (fd == -1 || fsyncq_submit(fd, pd) == -1) {
                if (fd != -1)
                    close(fd);
                free(pd);
                unrecorded(j, i);
            } else {
                j->r[i].state = 'M';
                j->marking++;
            }
        } else {
            j->r[i].state = 'S';
            j->deferred = true;
            j->r[i].text = (uint32_t)j->strings.len;
            if (bstr_catb(&j->strings, tl ? t : rep->text.s,
                          tl ? tl : rep->text.len) == -1 ||
                bstr_catc(&j->strings, '\0') == -1)
                die_nomem();
        }
    }
    bstr_free(&text);
    if (nmarks)
        mark_done(j, marks, nmarks);
    else
        free(marks);
    free(s->idx);
    s->idx = NULL;
    s->busy = false;
    k->used--;
    j->running--;
    status();
    maybe_finish(k, j);
}

/*
 * maybe_finish - a job whose deliveries have all reported and whose
 * results are on disk is finished (it may still sit in the dispatch
 * queue: take it out).
 */
static void
maybe_finish(struct chan *k, struct job *j)
{
    struct job **pp, *prev = NULL;

    while (j->next < j->nr && j->r[j->next].state != 'T')
        j->next++;
    if (j->running || j->marking || j->next < j->nr)
        return;
    for (pp = &k->qhead; *pp && *pp != j; pp = &(*pp)->qnext)
        prev = *pp;
    if (*pp) {
        *pp = j->qnext;
        if (k->qtail == j)
            k->qtail = prev;
    }
    finish_job(j);
}

/* fsync_done - a background fsync finished: take the next step. */
static void
fsync_done(void *tag, int err)
{
    struct pend *pd = tag;

    if (pd->kind == P_PRE) {
        if (err)
            pd->err = err;
        if (--pd->left > 0)
            return;
        if (pd->err) {
            /* todo/N stays and is preprocessed again later */
            slog("warning: unable to sync preprocessed msg %llu: %s, will "
                 "try again", (unsigned long long)pd->id, strerror(pd->err));
            msgmap_del(&msgs, pd->id);
        } else if (msgmap_get(&msgs, pd->id)) {
            clean_request('t', pd->id);
        }
        free(pd);
        return;
    }
    if (!err && pd->kind == P_BOUNCE) {
        /* the failure is recorded: now the recipient's done mark */
        int fd = job_mark_write(pd->job, &pd->idx, 1);

        pd->kind = P_MARK;
        pd->idxs = &pd->idx;
        pd->nidx = 1;
        if (fd != -1 && fsyncq_submit(fd, pd) == 0)
            return;
        if (fd != -1)
            close(fd);
        err = EIO;
    }
    {
        struct job *j = pd->job;
        size_t *idx = pd->kind == P_MARK ? pd->idxs : &pd->idx;
        size_t n = pd->kind == P_MARK ? pd->nidx : 1;

        for (size_t k = 0; k < n; k++) {
            size_t i = idx[k];

            if (err) {
                unrecorded(j, i);
            } else {
                j->r[i].state = 'D';
            }
        }
        j->marking -= n;
        if (idx != &pd->idx)
            free(idx);
        free(pd);
        maybe_finish(&ch[j->chan], j);
    }
}

/* ---- todo/ ------------------------------------------------------------ */

static void
fsync_done_now(struct pend *pd)
{
    pd->left = 1;
    fsync_done(pd, pd->err);
}

static void
preprocess(uint64_t id)
{
    struct todo_result res = {BSTR_INIT, 0, 0, 0, {0, 0}, false};
    struct msg *m = msgmap_get(&msgs, id);
    struct pend *pd;
    int fds[3], nfds = 0;

    if (m) {
        /* Already preprocessed and waiting for qmail-clean; or finished,
         * its mess/ file removed and the inode (so the number) already
         * reused by a new message: look again once the old one is gone. */
        if (m->flags & MSG_DONEWAIT)
            m->flags |= MSG_REUSED;
        return;
    }
    if (todo_preprocess(&cf, id, &res, fds, &nfds) == -1) {
        if (errno == EINVAL) {
            /* said once: it is not looked at again until the admin
             * asks (requeue after a repair, or remove) */
            slog("warning: todo/%llu is not an envelope; left alone: look "
                 "at it and mess/%llu/%llu, then remove the message with "
                 "qmail-qrm %llu (or repair todo/%llu and run "
                 "qmail-qrequeue %llu)",
                 (unsigned long long)id, (unsigned long long)(id % QPATH_SPLIT),
                 (unsigned long long)id, (unsigned long long)id,
                 (unsigned long long)id, (unsigned long long)id);
            if (!(m = msgmap_add(&msgs, id)))
                die_nomem();
            m->flags = MSG_BAD;
        } else if (errno == ENOENT && res.nomess) {
            /* nothing can be delivered: the envelope goes too */
            slog("warning: todo/%llu has no mess/%llu/%llu: the message is "
                 "lost; removing todo/%llu",
                 (unsigned long long)id, (unsigned long long)(id % QPATH_SPLIT),
                 (unsigned long long)id, (unsigned long long)id);
            if (!(m = msgmap_add(&msgs, id)))
                die_nomem();
            m->flags = MSG_DONEWAIT;
            clean_request('x', id);
        } else if (errno != ENOENT)
            slog("warning: trouble preprocessing todo/%llu: %s, will try "
                 "later", (unsigned long long)id, strerror(errno));
        bstr_free(&res.sender);
        return;
    }
    m = msgmap_add(&msgs, id);
    if (!m)
        die_nomem();
    m->birth = time(NULL);
    m->flags = MSG_NEW;
    for (int c = 0; c < NCHAN; c++)
        if (res.nrcpt[c])
            m->flags |= MSG_PENDING(c);
    slog("new msg %llu", (unsigned long long)id);
    {
        struct bstr v = BSTR_INIT;

        slog("info msg %llu: bytes %llu from <%s> qp %lu uid %lu",
             (unsigned long long)id, res.bytes,
             slog_vis(&v, res.sender.s ? res.sender.s : "", res.sender.len),
             res.qp, res.uid);
        bstr_free(&v);
    }
    bstr_free(&res.sender);
    /* todo/N goes only once the new files are on disk */
    pd = malloc(sizeof *pd);
    if (!pd)
        die_nomem();
    pd->kind = P_PRE;
    pd->id = id;
    pd->left = nfds;
    pd->err = 0;
    for (int i = 0; i < nfds; i++)
        if (fsyncq_submit(fds[i], pd) == -1) {
            /* no memory for the queue item: sync it here */
            if (fsync(fds[i]) == -1)
                pd->err = errno;
            close(fds[i]);
            if (--pd->left == 0)
                fsync_done_now(pd);
        }
}

/* todo_work - a bounded slice of the todo/ scan. */
static bool
todo_work(void)
{
    struct dirent *de;
    unsigned done = 0;

    if (exiting || cleancount > CLEAN_INFLIGHT)
        return false;
    if (!todo_dir) {
        if (!todo_again && time(NULL) - todo_last < TODO_RESCAN)
            return false;
        todo_again = false;
        todo_last = time(NULL);
        todo_dir = opendir("todo");
        if (!todo_dir) {
            slog("warning: unable to scan todo/: %s", strerror(errno));
            return false;
        }
    }
    while (done < TODO_BATCH && (de = readdir(todo_dir))) {
        unsigned long long id;

        if (!qpath_scan_id(de->d_name, &id) || id == 0)
            continue;
        preprocess(id);
        done++;
    }
    if (done < TODO_BATCH) {
        closedir(todo_dir);
        todo_dir = NULL;
        return todo_again;
    }
    return true;
}

/* ---- start-up: what the queue already holds (startup.c) ------------- */

static void
put_due(struct msg *m, int c, time_t when, void *arg)
{
    (void)arg;
    schedule_at(m, c, when);
}

static void
put_finished(uint64_t id, time_t when, void *arg)
{
    struct sched_item it = {when, id, 0, SCHED_BOUNCE};

    (void)arg;
    if (sched_push(&bounceheap, &it) == -1)
        die_nomem();
}

static struct startup scan;
static const struct startup_ops scan_ops = {&msgs, &cf, put_due,
                                            put_finished, NULL};

/* startup_slice - the next SCAN_BATCH messages of the start-up scan;
 * true while some are left */
static bool
startup_slice(void)
{
    int r = startup_work(&scan, &scan_ops, SCAN_BATCH);

    if (r == -1)
        die_nomem();
    return r == 1;
}

/* bounces that could not be injected, and messages finished before a
 * restart, come back here */
static void
bounce_work(void)
{
    const struct sched_item *it;
    time_t now = time(NULL);

    while (!exiting && (it = sched_peek(&bounceheap)) && it->when <= now) {
        uint64_t id = it->id;
        struct msg *m;

        sched_pop(&bounceheap);
        m = msgmap_get(&msgs, id);
        if (!m || (m->flags & MSG_DONEWAIT))
            continue;
        if (!(m->flags & (MSG_PENDING(0) | MSG_PENDING(1) | MSG_ACTIVE(0) |
                          MSG_ACTIVE(1))))
            message_done(id);
        else if (m->flags & MSG_BOUNCE)
            bounce_now(m);
    }
}

/* ---- orphans: what killed qmail-queues left in mess/ -------------------- */

static struct orphan_sweep orphans;
static time_t orphan_next; /* when the next sweep starts; 0: after start-up */

static bool
orphan_known(uint64_t id, void *arg)
{
    (void)arg;
    return msgmap_get(&msgs, id) != NULL;
}

static void
orphan_found(uint64_t id, void *arg)
{
    (void)arg;
    clean_request('o', id);
}

/*
 * orphan_slice - a slice of the sweep for orphans in mess/ (orphan.c):
 * the first once the start-up scan has every message in the map, then
 * one every ORPHAN_EVERY seconds.  qmail-clean removes what it finds,
 * and intd/ files without a todo/ entry on its own (it owns intd/).
 */
static bool
orphan_slice(void)
{
    time_t now = time(NULL);

    if (exiting || scan.active || cleancount > CLEAN_INFLIGHT)
        return false;
    if (!orphans.active) {
        if (now < orphan_next)
            return false;
        orphan_start(&orphans);
    }
    if (orphan_work(&orphans, now, ORPHAN_BATCH, orphan_known, orphan_found,
                    NULL))
        return true;
    orphan_next = now + ORPHAN_EVERY;
    return false;
}

/* ---- what the queue tools' requests act on (sendctl.c) --------------- */

static struct msg *
req_take(uint64_t id, void *arg)
{
    struct msg *m;
    int r = startup_take(&scan, &scan_ops, id, &m);

    (void)arg;
    if (r == -1)
        die_nomem();
    return r == 1 ? m : NULL;
}

static void
req_preprocess(uint64_t id, void *arg)
{
    (void)arg;
    preprocess(id);
}

static void
req_clean(char type, uint64_t id, void *arg)
{
    (void)arg;
    clean_request(type, id);
}

static void
req_rescan(void *arg)
{
    (void)arg;
    todo_again = true;
}

/* req_full - whether qmail-clean has requests enough pending: those a
 * queue tool adds (a todo/ removal is one) wait in lock/sendctl. */
static bool
req_full(void *arg)
{
    (void)arg;
    return cleancount > CLEAN_INFLIGHT;
}

static void reload(void);

/* req_reload - a tool asked for the control files to be reread. */
static void
req_reload(void *arg)
{
    (void)arg;
    reload();
}

/* ---- pipes to the helpers --------------------------------------------- */

static void
write_some(int fd, struct bstr *b, size_t *off)
{
    while (*off < b->len) {
        ssize_t w = write(fd, b->s + *off, b->len - *off);

        if (w == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            die("lost connection to a helper (write), exiting");
        }
        *off += (size_t)w;
    }
    bstr_truncate(b, 0);
    *off = 0;
}

static void
read_reports(int c)
{
    struct chan *k = &ch[c];
    char buf[65536];

    for (;;) {
        ssize_t r = read(k->rfd, buf, sizeof buf);
        size_t off = 0;

        if (r == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
        }
        if (r <= 0) {
            k->dead = true;
            return;
        }
        while (off < (size_t)r) {
            size_t used;
            int ev = spawnproto_rep_push(&k->rp, buf + off, (size_t)r - off,
                                         &used);

            off += used;
            if (ev == SPAWNPROTO_REPORT)
                report(c, &k->rp.rep);
            else if (ev == SPAWNPROTO_BAD)
                die("a spawner's report is garbled, exiting");
            else if (ev == SPAWNPROTO_NOMEM)
                die_nomem();
        }
    }
}

static void
read_clean(void)
{
    char buf[4096];

    for (;;) {
        ssize_t r = read(cleanr, buf, sizeof buf);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno == EAGAIN)
            return;
        if (r <= 0)
            die("lost connection to qmail-clean, exiting");
        for (ssize_t i = 0; i < r; i++)
            clean_answer(buf[i]);
    }
}

static void
nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
        die("unable to set up the helpers' pipes, exiting");
}

static void
reload(void)
{
    struct send_conf n;
    const char *bad = NULL;
    int r;

    /* control/ is beside queue/, where qmail-send lives */
    if (chdir("..") == -1)
        die("unable to chdir to the qmail home, exiting");
    r = conf_load(&n, &bad);
    if (chdir("queue") == -1)
        die("unable to chdir to queue, exiting");
    if (r == -1) {
        slog("alert: unable to reread control/%s, keeping the old settings",
             bad ? bad : "?");
        conf_free(&n);
        return;
    }
    /* the slot arrays were sized with the old spawnlimit */
    if (n.spawnlimit > cf.spawnlimit)
        n.spawnlimit = cf.spawnlimit;
    for (int c = 0; c < NCHAN; c++)
        if (n.concurrency[c] > n.spawnlimit)
            n.concurrency[c] = n.spawnlimit;
    conf_free(&cf);
    cf = n;
    slog("status: control files reread");
}

static int
next_timeout(bool busy)
{
    time_t now = time(NULL);
    int64_t next = now + TODO_RESCAN;
    const struct sched_item *it;

    if (busy)
        return 0;
    for (int c = 0; c < NCHAN; c++)
        if ((it = sched_peek(&ch[c].heap)) && it->when < next &&
            ch[c].active < cf.concurrency[c] + EXTRA_ACTIVE)
            next = it->when;
    if ((it = sched_peek(&bounceheap)) && it->when < next)
        next = it->when;
    if (next <= now)
        return 0;
    return (int)(next - now) * 1000;
}

int
main(void)
{
    const char *bad = NULL;
    struct touch_sweep touch = {0};
    struct sendctl ctl = {-1, BSTR_INIT};
    const struct sendctl_ops ops = {&msgs, &touch, put_due, req_take,
                                    req_preprocess, req_clean, req_rescan,
                                    req_full, req_reload, NULL};
    sigset_t mask;
    int sfd;

    log_init("qmail-send");
    if (chdir(priv_home()) == -1)
        die("unable to chdir to the qmail home, exiting");
    if (conf_load(&cf, &bad) == -1)
        die("unable to read controls, exiting");
    if (chdir("queue") == -1)
        die("unable to chdir to queue, exiting");
    hold_queue();
    if (setenv("QMAIL_QUEUE_ORIGIN", "bounce", 1) == -1 ||
        msgmap_init(&msgs) == -1)
        die_nomem();

    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGALRM);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd == -1)
        die("unable to set up signals, exiting");
    if (fsyncq_init() == -1)
        die("unable to start the fsync threads, exiting");

    for (int c = 0; c < NCHAN; c++) {
        ch[c].wfd = 3 + 2 * c;
        ch[c].rfd = 4 + 2 * c;
        ch[c].slot = calloc(cf.spawnlimit, sizeof *ch[c].slot);
        if (!ch[c].slot)
            die_nomem();
        spawnproto_rep_init(&ch[c].rp);
        nonblock(ch[c].wfd);
        nonblock(ch[c].rfd);
    }
    nonblock(cleanw);
    nonblock(cleanr);
    trigger_fd = open("lock/trigger", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (trigger_fd == -1)
        die("unable to open lock/trigger, exiting");
    ctl.fd = open("lock/sendctl", O_RDWR | O_NONBLOCK | O_CLOEXEC);

    if (startup_begin(&scan) == -1)
        die("unable to scan the queue at start-up, exiting");
    todo_again = true;
    slog("status: local 0/%lu remote 0/%lu", cf.concurrency[CHAN_LOCAL],
         cf.concurrency[CHAN_REMOTE]);
    slog_flush();

    for (;;) {
        struct pollfd p[11];
        int n = 0, ip_sig, ip_trig, ip_ctl = -1, ip_clean, ip_cw = -1, ip_fq;
        int ip_r[NCHAN], ip_w[NCHAN];
        bool busy;

        for (int c = 0; c < NCHAN; c++) {
            activate(c);
            dispatch(c);
        }
        bounce_work();
        busy = startup_slice();
        busy = todo_work() || busy;
        busy = touch_work(&touch, &msgs) || busy;
        busy = orphan_slice() || busy;
        for (int c = 0; c < NCHAN; c++)
            if (ch[c].wbuf.len)
                write_some(ch[c].wfd, &ch[c].wbuf, &ch[c].woff);
        if (cleanbuf.len)
            write_some(cleanw, &cleanbuf, &cleanoff);
        slog_flush();

        if (exiting && !ch[0].used && !ch[1].used && !cleancount &&
            !cleanbuf.len && !fsyncq_pending())
            break;
        for (int c = 0; c < NCHAN; c++)
            if (ch[c].dead) {
                slog("alert: lost connection to qmail-%cspawn, exiting",
                     c == CHAN_LOCAL ? 'l' : 'r');
                slog_flush();
                _exit(EXIT_TEMP);
            }

        p[n].fd = sfd;
        p[n].events = POLLIN;
        ip_sig = n++;
        p[n].fd = trigger_fd;
        p[n].events = POLLIN;
        ip_trig = n++;
        if (ctl.fd != -1 && !req_full(NULL)) {
            p[n].fd = ctl.fd;
            p[n].events = POLLIN;
            ip_ctl = n++;
        }
        p[n].fd = cleanr;
        p[n].events = POLLIN;
        ip_clean = n++;
        p[n].fd = fsyncq_fd();
        p[n].events = POLLIN;
        ip_fq = n++;
        if (cleanbuf.len) {
            p[n].fd = cleanw;
            p[n].events = POLLOUT;
            ip_cw = n++;
        }
        for (int c = 0; c < NCHAN; c++) {
            p[n].fd = ch[c].rfd;
            p[n].events = POLLIN;
            ip_r[c] = n++;
            ip_w[c] = -1;
            if (ch[c].wbuf.len) {
                p[n].fd = ch[c].wfd;
                p[n].events = POLLOUT;
                ip_w[c] = n++;
            }
        }
        if (poll(p, (nfds_t)n, next_timeout(busy)) == -1 && errno != EINTR)
            die("poll failed, exiting");

        if (p[ip_sig].revents & POLLIN) {
            struct signalfd_siginfo si;

            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGHUP) {
                    reload();
                } else if (si.ssi_signo == SIGALRM) {
                    if (sendctl_command(&ops, "requeue all") == -1)
                        die_nomem();
                } else if (si.ssi_signo == SIGTERM ||
                           si.ssi_signo == SIGINT) {
                    /* INT too: a Ctrl-C to the process group (make run)
                     * stops qmail-send as TERM does; the helpers ignore
                     * it and end once their pipes close */
                    if (!exiting) {
                        exiting = true;
                        status();
                    }
                }
            }
        }
        if (p[ip_trig].revents & POLLIN) {
            char buf[256];

            while (read(trigger_fd, buf, sizeof buf) > 0)
                ;
            todo_again = true;
        }
        if (ip_ctl >= 0 && (p[ip_ctl].revents & POLLIN))
            if (sendctl_read(&ctl, &ops) == -1)
                die_nomem();
        if (p[ip_fq].revents & POLLIN)
            fsyncq_collect(fsync_done);
        if (p[ip_clean].revents & (POLLIN | POLLHUP))
            read_clean();
        (void)ip_cw;
        for (int c = 0; c < NCHAN; c++) {
            (void)ip_w[c];
            if (p[ip_r[c]].revents & (POLLIN | POLLHUP))
                read_reports(c);
        }
    }
    slog("status: exiting");
    slog_flush();
    bstr_free(&ctl.line);
    return 0;
}
