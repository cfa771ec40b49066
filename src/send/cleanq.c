/* SPDX-License-Identifier: ISC */
/*
 * cleanq - qmail-send's requests to qmail-clean and their answers.
 * A request is "t<id>\0" (todo/N of a message preprocessed and synced),
 * "x<id>\0" (a finished message: its files, mess/ last) or "o<id>\0" (an
 * orphan in mess/); qmail-clean answers each with one byte, '+' done,
 * '-' nothing there, anything else trouble, in the order asked.  So the
 * requests wait in a ring until answered, and an answer takes the next
 * step: a message whose todo/N is gone becomes due; a finished one
 * leaves the message map.  At most 4 * CLEAN_INFLIGHT wait: the scans
 * that make requests stop at CLEAN_INFLIGHT (cleanq_full).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "qpath.h"
#include "send.h"

#define CLEAN_RING (CLEAN_INFLIGHT * 4)

/*
 * cleanq_request - ask qmail-clean to clean up message id ('t', 'x' or
 * 'o'); the request goes out with the pipes' next write.
 */
void
cleanq_request(struct send_state *st, char type, uint64_t id)
{
    struct cleanq *q = &st->clean;

    if (!q->q && !(q->q = calloc(CLEAN_RING, sizeof *q->q)))
        slog_nomem();
    if (q->count == CLEAN_RING)
        slog_die("too many requests to qmail-clean pending, exiting");
    q->q[(q->head + q->count) % CLEAN_RING].type = type;
    q->q[(q->head + q->count) % CLEAN_RING].id = id;
    q->count++;
    if (bstr_catc(&q->buf, type) == -1 || bstr_catu(&q->buf, id) == -1 ||
        bstr_catc(&q->buf, '\0') == -1)
        slog_nomem();
}

/* cleanq_answer - qmail-clean's answer a to the oldest request. */
void
cleanq_answer(struct send_state *st, char a)
{
    struct cleanq *q = &st->clean;
    struct cleanreq r;
    struct msg *m;

    if (!q->count)
        return;
    r = q->q[q->head];
    q->head = (q->head + 1) % CLEAN_RING;
    q->count--;
    m = msgmap_get(&st->msgs, r.id);
    if (r.type == 't') {
        if (!m)
            return;
        if (a != '+') {
            /* todo/N stays; the next scan preprocesses it again */
            slog("warning: qmail-clean unable to clean up todo/%llu",
                 (unsigned long long)r.id);
            msgmap_del(&st->msgs, r.id);
            return;
        }
        m->flags &= ~MSG_NEW;
        for (int c = 0; c < NCHAN; c++)
            if (m->flags & MSG_PENDING(c))
                dispatch_schedule(st, m, c, time(NULL));
        if (!(m->flags & (MSG_PENDING(0) | MSG_PENDING(1))))
            finish_message(st, r.id);
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
                st->todo.again = true;
            msgmap_del(&st->msgs, r.id);
        }
    }
}

/*
 * cleanq_read - every answer waiting on the pipe from qmail-clean.
 * Returns 0, or -1 when qmail-clean is gone (end of file, read error).
 */
int
cleanq_read(struct send_state *st)
{
    char buf[4096];

    for (;;) {
        ssize_t r = read(st->clean.rfd, buf, sizeof buf);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno == EAGAIN)
            return 0;
        if (r <= 0)
            return -1;
        for (ssize_t i = 0; i < r; i++)
            cleanq_answer(st, buf[i]);
    }
}

/* cleanq_full - whether qmail-clean has requests enough pending that
 * the scans making more (todo/, orphans, queue tools) wait a turn. */
bool
cleanq_full(const struct send_state *st)
{
    return st->clean.count > CLEAN_INFLIGHT;
}
