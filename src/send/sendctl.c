/* SPDX-License-Identifier: ISC */
/*
 * sendctl - the queue tools' requests to qmail-send: lines on the fifo
 * lock/sendctl ("requeue N", "requeue all", "expire N", "remove N",
 * written by qmail-qrequeue, qmail-qexpire and qmail-qrm through
 * qtool_request; "reload", written by the v* tools after they change
 * control/virtualdomains), and SIGALRM's "requeue all".  Each is checked against
 * the message map and acted on through the schedule qmail-send keeps
 * (struct sendctl_ops): a request marks a message and makes it due, the
 * delivery pass that follows does the work (send.h's MSG_EXPIRE and
 * MSG_REMOVE), so nothing is delivered or dropped here.  The fifo is
 * trusted no more than its mode (0600) says: a line is cut at 200 bytes,
 * anything unknown is logged (through vis) and ignored.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qpath.h"
#include "send.h"

#define REQUEST_MAX 200 /* of a request line kept; the rest is dropped */

/*
 * requeue - m's channels waiting for their next attempt are due now.  On
 * disk too (their files' mtime becomes now) so that the request survives
 * a restart: at once with touch, else later by the touch sweep, a slice
 * per turn (touch.c).
 */
static void
requeue(const struct sendctl_ops *ops, struct msg *m, bool touch)
{
    time_t now = time(NULL);

    /* Preprocessed, todo/N not yet gone: no delivery may start before
     * it is (a crash would preprocess and deliver it again), and
     * qmail-clean's answer makes it due now anyway (clean_answer). */
    if (m->flags & MSG_NEW)
        return;
    for (int c = 0; c < NCHAN; c++) {
        if (!(m->flags & MSG_PENDING(c)) || (m->flags & MSG_ACTIVE(c)))
            continue;
        ops->schedule(m, c, now, ops->arg);
        if (touch)
            touch_set(m, c, now);
        else
            m->flags |= MSG_TOUCH(c);
    }
}

/*
 * todo_request - verb for message id, still in todo/: qmail-queue
 * committed it, qmail-send has not preprocessed it yet (the todo/ scan
 * has not reached it, or started again after a failure).  Returns 1 when
 * it was one, and taken care of:
 *   remove   qmail-send's own files of a preprocessing that went wrong go
 *            first, then qmail-clean removes intd/N, todo/N and mess/S/N
 *            ('x', mess/ last, as for a finished message); the record
 *            (MSG_DONEWAIT) keeps the todo/ scan off it meanwhile
 *   expire   it is preprocessed now and expires once todo/N is gone
 *   requeue  the todo/ scan starts again at once
 * 0 when it was not, -1 out of memory.
 */
static int
todo_request(const struct sendctl_ops *ops, const char *verb, uint64_t id)
{
    static const char *const mine[] = {"local", "remote", "bounce", "info"};
    char fn[QPATH_MAX];
    struct stat st;
    struct msg *m;

    qpath_fmt(fn, "todo", id);
    if (stat(fn, &st) == -1)
        return 0;
    if (strcmp(verb, "remove") == 0) {
        for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
            qpath_fmt(fn, mine[i], id);
            if (unlink(fn) == -1 && errno != ENOENT) {
                slog("warning: unable to unlink %s: %s; msg %llu stays",
                     fn, strerror(errno), (unsigned long long)id);
                return 1;
            }
        }
        if (!(m = msgmap_add(ops->msgs, id)))
            return -1;
        m->flags = MSG_DONEWAIT;
        slog("remove msg %llu", (unsigned long long)id);
        ops->clean('x', id, ops->arg);
    } else if (strcmp(verb, "expire") == 0) {
        ops->preprocess(id, ops->arg); /* says what went wrong, if anything */
        m = msgmap_get(ops->msgs, id);
        if (m && (m->flags & MSG_NEW)) {
            m->flags |= MSG_EXPIRE;
            slog("expire msg %llu", (unsigned long long)id);
        } else if (m && (m->flags & MSG_BAD)) {
            slog("warning: msg %llu was never preprocessed (todo/%llu is "
                 "not an envelope): nothing to expire; remove it with "
                 "qmail-qrm", (unsigned long long)id, (unsigned long long)id);
        } else if (!m) {
            slog("warning: msg %llu is not yet preprocessed and cannot be "
                 "now: not expired; ask again later",
                 (unsigned long long)id);
        }
    } else if (strcmp(verb, "requeue") == 0) {
        slog("requeue msg %llu: not yet preprocessed, reading todo/ now",
             (unsigned long long)id);
        ops->rescan(ops->arg);
    } else {
        return 0;
    }
    return 1;
}

/*
 * sendctl_command - carry out one request line (without its newline).
 * Returns 0, or -1 when out of memory.
 */
int
sendctl_command(const struct sendctl_ops *ops, const char *line)
{
    char verb[16];
    const char *arg = strchr(line, ' ');
    unsigned long long id = 0;
    struct msg *m = NULL;
    size_t vl = arg ? (size_t)(arg - line) : strlen(line);

    if (vl >= sizeof verb)
        return 0;
    memcpy(verb, line, vl);
    verb[vl] = '\0';
    if (!arg && strcmp(verb, "reload") == 0) {
        ops->reload(ops->arg);
        return 0;
    }
    if (arg) {
        bool num;

        arg++;
        num = strcmp(arg, "all") != 0 && qpath_scan_id(arg, &id);
        /* a message the start-up scan has not reached yet is taken now */
        if (num && !(m = msgmap_get(ops->msgs, id)))
            m = ops->take(id, ops->arg);
        if (strcmp(arg, "all") != 0 && !m) {
            struct bstr v = BSTR_INIT;
            int r = num ? todo_request(ops, verb, id) : 0;

            if (r != 0)
                return r == -1 ? -1 : 0;
            slog("warning: queue request for unknown msg %s",
                 slog_vis(&v, arg, strlen(arg)));
            bstr_free(&v);
            return 0;
        }
    }
    if (m && (m->flags & MSG_BAD)) {
        /* todo/N was not an envelope: remove it, or read it again */
        if (strcmp(verb, "remove") == 0) {
            slog("remove msg %llu", id);
            m->flags |= MSG_DONEWAIT;
            ops->clean('x', id, ops->arg);
        } else if (strcmp(verb, "requeue") == 0) {
            slog("requeue msg %llu: reading todo/%llu again", id, id);
            msgmap_del(ops->msgs, id);
            ops->rescan(ops->arg);
        } else {
            slog("warning: msg %llu was never preprocessed (todo/%llu is "
                 "not an envelope): nothing to %s; remove it with qmail-qrm",
                 id, id, verb);
        }
        return 0;
    }
    if (strcmp(verb, "requeue") == 0 && arg && !m) {
        for (size_t i = 0; i <= ops->msgs->mask; i++)
            if (ops->msgs->slot[i].id)
                requeue(ops, &ops->msgs->slot[i], false);
        touch_start(ops->touch, time(NULL));
        slog("requeue: all messages are due now");
    } else if (strcmp(verb, "requeue") == 0 && m) {
        requeue(ops, m, true);
        slog("requeue msg %llu", id);
    } else if ((strcmp(verb, "expire") == 0 || strcmp(verb, "remove") == 0) &&
               m) {
        m->flags |= strcmp(verb, "expire") == 0 ? MSG_EXPIRE : MSG_REMOVE;
        slog("%s msg %llu", verb, id);
        requeue(ops, m, true);
    } else {
        struct bstr v = BSTR_INIT;

        slog("warning: unknown queue request: %s",
             slog_vis(&v, line, strlen(line)));
        bstr_free(&v);
    }
    return 0;
}

/*
 * sendctl_read - the requests waiting in the fifo s->fd (non-blocking),
 * each carried out; a line longer than REQUEST_MAX is cut there.
 * Those beyond what qmail-clean can take now (ops->full: each todo/
 * removal is a request to it) wait in the fifo for a later turn.
 * Returns 0, or -1 when out of memory.
 */
int
sendctl_read(struct sendctl *s, const struct sendctl_ops *ops)
{
    char buf[4096];
    ssize_t r;

    while (!ops->full(ops->arg) && (r = read(s->fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] != '\n') {
                if (s->line.len < REQUEST_MAX &&
                    bstr_catc(&s->line, buf[i]) == -1)
                    return -1;
                continue;
            }
            if (s->line.len && sendctl_command(ops, s->line.s) == -1)
                return -1;
            bstr_truncate(&s->line, 0);
        }
    }
    return 0;
}
