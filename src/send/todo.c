/* SPDX-License-Identifier: ISC */
/*
 * todo - preprocessing: a committed message in todo/N becomes info/S/N
 * (its sender, one "F<addr>\0" record: qmail-1.03's qmail-send and
 * qmail-qread read the first record as the sender), local/S/N and
 * remote/S/N (its routed recipients, one "T<addr>\0" record each).  All
 * three are written whole and fsynced before qmail-send asks qmail-clean
 * to remove todo/N, so a crash at any point leaves either todo/N (and
 * preprocessing is simply redone, the files rewritten from scratch) or
 * the finished files - never a message half-routed with deliveries
 * already under way.  The scan of todo/ (todo_work) takes a bounded
 * slice of entries per main-loop turn into qmail-send's state
 * (todo_take): logged as qmail-1.03 logs "new msg" and "info msg",
 * synced in the background (pend.c), todo/N then removed by qmail-clean.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"
#include "fsyncq.h"
#include "qpath.h"
#include "readfile.h"
#include "send.h"
#include "writeall.h"

/*
 * write_file - fn holds exactly b.  With keep, the file is left open in
 * *keep for the caller to fsync; otherwise it is fsynced and closed here.
 */
static int
write_file(const char *fn, const struct bstr *b, int *keep)
{
    int fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd == -1)
        return -1;
    if (write_all(fd, b->s, b->len) == -1)
        goto fail;
    if (keep) {
        *keep = fd;
        return 0;
    }
    if (fsync(fd) == -1)
        goto fail;
    return close(fd);
fail:
    close(fd);
    return -1;
}

/*
 * todo_preprocess - route message id and write its info/local/remote
 * files.  With fds, the files are left open there (*nfds of them) for
 * the caller to fsync before todo/ may be cleaned; without, they are
 * fsynced here.  Returns 0 (res filled for the log), or -1 with errno:
 * the message stays in todo/ and is tried again later.  ENOENT: todo/N
 * is gone, or (res->nomess) its mess/ file is.  A todo file that is not an
 * envelope (EINVAL) is left alone for the admin to look at (and to remove
 * with qmail-qrm, or repair).
 */
int
todo_preprocess(const struct send_conf *c, uint64_t id,
                struct todo_result *res, int fds[3], int *nfds)
{
    char fn[QPATH_MAX];
    struct bstr raw = BSTR_INIT, info = BSTR_INIT, out = BSTR_INIT;
    struct bstr ch[NCHAN] = {BSTR_INIT, BSTR_INIT};
    struct stat st;
    size_t i = 0;
    bool have_f = false;
    int rc = -1;

    if (nfds)
        *nfds = 0;
    memset(res->nrcpt, 0, sizeof res->nrcpt);
    res->nomess = false;
    res->bytes = 0;
    res->qp = res->uid = 0;
    bstr_truncate(&res->sender, 0);
    qpath_fmt(fn, "todo", id);
    if (readfile_path(fn, &raw, 0) != 1)
        goto out;
    while (i < raw.len) {
        const char *p = raw.s + i;
        const char *nul = memchr(p, '\0', raw.len - i);
        size_t n;

        if (!nul) {
            errno = EINVAL; /* qmail-queue never leaves a torn todo file */
            goto out;
        }
        n = (size_t)(nul - p);
        i += n + 1;
        if (n == 0)
            continue;
        switch (p[0]) {
        case 'u':
            scan_ulong(p + 1, n - 1, &res->uid);
            break;
        case 'p':
            scan_ulong(p + 1, n - 1, &res->qp);
            break;
        case 'F':
            if (have_f) {
                errno = EINVAL;
                goto out;
            }
            have_f = true;
            if (bstr_copyb(&res->sender, p + 1, n - 1) == -1 ||
                bstr_catb(&info, p, n + 1) == -1)
                goto out;
            break;
        case 'T': {
            enum route_chan r = route_addr(&c->route, p + 1, n - 1, &out);
            int k = r == ROUTE_LOCAL ? CHAN_LOCAL : CHAN_REMOTE;

            if (out.len == 0) {
                errno = ENOMEM;
                goto out;
            }
            if (bstr_catc(&ch[k], 'T') == -1 ||
                bstr_catb(&ch[k], out.s, out.len) == -1 ||
                bstr_catc(&ch[k], '\0') == -1)
                goto out;
            res->nrcpt[k]++;
            break;
        }
        default:
            errno = EINVAL;
            goto out;
        }
    }
    if (!have_f) {
        errno = EINVAL;
        goto out;
    }
    qpath_fmt(fn, "mess", id);
    if (stat(fn, &st) == -1) {
        res->nomess = errno == ENOENT;
        goto out;
    }
    res->bytes = (unsigned long long)st.st_size;
    /* channel files first, info last: info is what marks a message as
     * preprocessed for a restarted qmail-send */
    for (int k = 0; k < NCHAN; k++) {
        int kept = -1;

        qpath_fmt(fn, k == CHAN_LOCAL ? "local" : "remote", id);
        if (!res->nrcpt[k]) {
            if (unlink(fn) == -1 && errno != ENOENT)
                goto out;
            continue;
        }
        if (write_file(fn, &ch[k], nfds ? &kept : NULL) == -1)
            goto out;
        if (nfds)
            fds[(*nfds)++] = kept;
    }
    qpath_fmt(fn, "info", id);
    {
        int kept = -1;

        if (write_file(fn, &info, nfds ? &kept : NULL) == -1)
            goto out;
        if (nfds)
            fds[(*nfds)++] = kept;
    }
    rc = 0;
out:
    if (rc == -1 && nfds) {
        int e = errno;

        while (*nfds > 0)
            close(fds[--*nfds]);
        errno = e;
    }
    bstr_free(&raw);
    bstr_free(&info);
    bstr_free(&out);
    bstr_free(&ch[0]);
    bstr_free(&ch[1]);
    return rc;
}

#define TODO_BATCH 64 /* todo/ entries per main-loop turn */

/*
 * todo_take - preprocess todo/id into st: a record in the message map
 * (MSG_NEW: no delivery starts before todo/N is gone), the log's lines,
 * and the new files' fsyncs under way.  A todo/ entry that is not an
 * envelope is recorded (MSG_BAD) and left for the admin; one whose mess/
 * file is gone is removed; any other trouble leaves it for the next scan.
 */
void
todo_take(struct send_state *st, uint64_t id)
{
    struct todo_result res = {BSTR_INIT, 0, 0, 0, {0, 0}, false};
    struct msg *m = msgmap_get(&st->msgs, id);
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
    if (todo_preprocess(&st->cf, id, &res, fds, &nfds) == -1) {
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
            if (!(m = msgmap_add(&st->msgs, id)))
                slog_nomem();
            m->flags = MSG_BAD;
        } else if (errno == ENOENT && res.nomess) {
            /* nothing can be delivered: the envelope goes too */
            slog("warning: todo/%llu has no mess/%llu/%llu: the message is "
                 "lost; removing todo/%llu",
                 (unsigned long long)id, (unsigned long long)(id % QPATH_SPLIT),
                 (unsigned long long)id, (unsigned long long)id);
            if (!(m = msgmap_add(&st->msgs, id)))
                slog_nomem();
            m->flags = MSG_DONEWAIT;
            cleanq_request(st, 'x', id);
        } else if (errno != ENOENT)
            slog("warning: trouble preprocessing todo/%llu: %s, will try "
                 "later", (unsigned long long)id, strerror(errno));
        bstr_free(&res.sender);
        return;
    }
    m = msgmap_add(&st->msgs, id);
    if (!m)
        slog_nomem();
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
        slog_nomem();
    pd->st = st;
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
                pend_done_now(pd);
        }
}

/*
 * todo_work - a bounded slice of the todo/ scan: a new pass starts when
 * asked (st->todo.again: a trigger, a request) or TODO_RESCAN seconds
 * after the last.  True when there is more to do at once.
 */
bool
todo_work(struct send_state *st)
{
    struct todoscan *t = &st->todo;
    struct dirent *de;
    unsigned done = 0;

    if (st->exiting || cleanq_full(st))
        return false;
    if (!t->dir) {
        if (!t->again && time(NULL) - t->last < TODO_RESCAN)
            return false;
        t->again = false;
        t->last = time(NULL);
        t->dir = opendir("todo");
        if (!t->dir) {
            slog("warning: unable to scan todo/: %s", strerror(errno));
            return false;
        }
    }
    while (done < TODO_BATCH && (de = readdir(t->dir))) {
        unsigned long long id;

        if (!qpath_scan_id(de->d_name, &id) || id == 0)
            continue;
        todo_take(st, id);
        done++;
    }
    if (done < TODO_BATCH) {
        closedir(t->dir);
        t->dir = NULL;
        return t->again;
    }
    return true;
}
