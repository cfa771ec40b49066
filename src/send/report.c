/* SPDX-License-Identifier: ISC */
/*
 * report - the spawners' reports (spawnproto.h) of deliveries that
 * dispatch.c started, each logged as qmail-1.03 logs "delivery N:
 * success/deferral/failure" (one line per recipient) and recorded:
 *   r  the recipient's done mark, one background fsync for all of the
 *      report's successes;
 *   h  the failure appended to bounce/N and synced, then the done mark
 *      (a crash in between bounces it again: never lost);
 *   s  the recipient waits for the next attempt, with the text kept for
 *      a deferral notice or the final bounce.
 * A recipient counts as finished only once its mark is on disk (struct
 * pend, pend.c); a job whose deliveries have all reported and whose
 * marks are synced is finished (finish.c).  A report with a recipient
 * count that does not match its request is "mangled": all its
 * recipients are deferred.  Bytes that are not a report, or a record
 * over the protocol's limit, are refused (report_feed -1): the spawner
 * is broken, and qmail-send does not guess what it meant.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsyncq.h"
#include "send.h"

/* report_rcpt_vis - recipient i of j as the log may show it (slog_vis) */
const char *
report_rcpt_vis(struct bstr *v, const struct job *j, size_t i)
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
         "try again",
         report_rcpt_vis(&v, j, i), (unsigned long long)j->id);
    bstr_free(&v);
    j->r[i].state = 'S';
    j->deferred = true;
}

/*
 * mark_done - the done marks of recipients idx[0..n) of j (delivered):
 * written at once, then one fsync in the background for all of them.
 * Takes idx (malloc'ed) over.
 */
static void
mark_done(struct send_state *st, struct job *j, size_t *idx, size_t n)
{
    struct pend *pd = calloc(1, sizeof *pd);
    int fd;

    if (!pd)
        slog_nomem();
    pd->st = st;
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

/* failed - recipient i of j failed for good: the failure into bounce/N,
 * synced in the background, then its done mark (report_synced). */
static void
failed(struct send_state *st, struct job *j, size_t i, const char *t, size_t tl)
{
    struct pend *pd = calloc(1, sizeof *pd);
    struct msg *m = msgmap_get(&st->msgs, j->id);
    int fd;

    if (!pd)
        slog_nomem();
    pd->st = st;
    pd->job = j;
    pd->idx = i;
    pd->kind = P_BOUNCE;
    fd = bounce_append(j->id, j->strings.s + j->r[i].addr, t, tl);
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
}

/* report - spawner c says how the delivery in slot rep->slot went. */
static void
report(struct send_state *st, int c, const struct spawn_report *rep)
{
    struct chan *k = &st->ch[c];
    struct slot *s;
    struct job *j;
    struct bstr text = BSTR_INIT;
    const char *word;
    size_t toff = 0, *marks, nmarks = 0;
    bool mangled;

    if (rep->slot >= st->cf.spawnlimit || !k->slot[rep->slot].busy) {
        slog("warning: qmail-%cspawn reported for an idle slot %u",
             c == CHAN_LOCAL ? 'l' : 'r', rep->slot);
        return;
    }
    s = &k->slot[rep->slot];
    j = s->job;
    mangled = rep->codes.len != s->n;
    marks = malloc(s->n * sizeof *marks);
    if (!marks)
        slog_nomem();
    for (size_t n = 0; n < s->n; n++) {
        size_t i = s->idx[n];
        char code = mangled ? 's' : rep->codes.s[n];
        const char *t = mangled ? "" : rep->texts.s + toff;
        size_t tl = strlen(t);

        if (!mangled)
            toff += tl + 1;
        /* no text of its own: the report's final text stands for it */
        if (!tl) {
            t = rep->text.s ? rep->text.s : "";
            tl = rep->text.len;
        }
        /* a line per recipient, as if each were a delivery of its own */
        if (mangled) {
            slog("delivery %lu: report mangled, will defer", s->delnum + n);
        } else {
            word = code == 'r'   ? "success"
                   : code == 'h' ? "failure"
                                 : "deferral";
            slog_text(&text, t, tl);
            slog("delivery %lu: %s: %s", s->delnum + n, word,
                 text.s ? text.s : "");
        }
        if (code == 'r') {
            marks[nmarks++] = i;
        } else if (code == 'h') {
            failed(st, j, i, t, tl);
        } else {
            j->r[i].state = 'S';
            j->deferred = true;
            j->r[i].text = (uint32_t)j->strings.len;
            if (bstr_catb(&j->strings, t, tl) == -1 ||
                bstr_catc(&j->strings, '\0') == -1)
                slog_nomem();
        }
    }
    bstr_free(&text);
    if (nmarks)
        mark_done(st, j, marks, nmarks);
    else
        free(marks);
    free(s->idx);
    s->idx = NULL;
    s->busy = false;
    k->used--;
    j->running--;
    dispatch_status(st);
    report_maybe_finish(st, j);
}

/*
 * report_maybe_finish - a job whose deliveries have all reported and
 * whose results are on disk is finished (it may still sit in the
 * dispatch queue: take it out).
 */
void
report_maybe_finish(struct send_state *st, struct job *j)
{
    struct chan *k = &st->ch[j->chan];
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
    finish_job(st, j);
}

/*
 * report_synced - the background fsync of a failure (P_BOUNCE) or of
 * done marks (P_MARK) ended with err (0: on disk).  A synced failure
 * gets its done mark next; a synced mark finishes its recipient; an
 * error leaves the recipient to be tried again.  Frees pd.
 */
void
report_synced(struct pend *pd, int err)
{
    struct job *j = pd->job;
    size_t *idx;
    size_t n;

    if (!err && pd->kind == P_BOUNCE) {
        /* the failure is recorded: now the recipient's done mark */
        int fd = job_mark_write(j, &pd->idx, 1);

        pd->kind = P_MARK;
        pd->idxs = &pd->idx;
        pd->nidx = 1;
        if (fd != -1 && fsyncq_submit(fd, pd) == 0)
            return;
        if (fd != -1)
            close(fd);
        err = EIO;
    }
    idx = pd->kind == P_MARK ? pd->idxs : &pd->idx;
    n = pd->kind == P_MARK ? pd->nidx : 1;
    for (size_t k = 0; k < n; k++) {
        if (err)
            unrecorded(j, idx[k]);
        else
            j->r[idx[k]].state = 'D';
    }
    j->marking -= n;
    if (idx != &pd->idx)
        free(idx);
    report_maybe_finish(pd->st, j);
    free(pd);
}

/*
 * report_feed - len bytes from spawner c, each whole report acted on.
 * Returns 0, or -1 with errno: EPROTO when the bytes are not reports (or
 * a record is over the limit; the ones before it were acted on), ENOMEM.
 */
int
report_feed(struct send_state *st, int c, const char *buf, size_t len)
{
    struct chan *k = &st->ch[c];
    size_t off = 0;

    while (off < len) {
        size_t used;
        int ev = spawnproto_rep_push(&k->rp, buf + off, len - off, &used);

        off += used;
        if (ev == SPAWNPROTO_REPORT) {
            report(st, c, &k->rp.rep);
        } else if (ev == SPAWNPROTO_BAD) {
            errno = EPROTO;
            return -1;
        } else if (ev == SPAWNPROTO_NOMEM) {
            errno = ENOMEM;
            return -1;
        }
    }
    return 0;
}

/*
 * report_read - every report waiting on spawner c's pipe (report_feed).
 * At end of file (or a read error) the channel is dead: its running
 * deliveries stay unrecorded, so they are tried again when qmail-send
 * is (a temporary failure, like a crash).  0, or report_feed's -1.
 */
int
report_read(struct send_state *st, int c)
{
    struct chan *k = &st->ch[c];
    char buf[65536];

    for (;;) {
        ssize_t r = read(k->rfd, buf, sizeof buf);

        if (r == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
        }
        if (r <= 0) {
            k->dead = true;
            return 0;
        }
        if (report_feed(st, c, buf, (size_t)r) == -1)
            return -1;
    }
}
