/* SPDX-License-Identifier: ISC */
/*
 * rspawn - qmail-rspawn's request loop and its workers (see rspawn.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bstr.h"
#include "childpipe.h"
#include "datetime.h"
#include "log.h"
#include "outcome.h"
#include "result.h"
#include "rspawn.h"
#include "spawnproto.h"
#include "writeall.h"

/* A request not yet handed to a worker. */
struct pending {
    struct pending *next;
    unsigned slot;
    size_t nrcpt;
    struct bstr req; /* the request as the worker gets it */
};

/* A destination domain: its workers and its line of requests. */
struct dest {
    struct dest *next;
    char *domain;
    struct pending *head, *tail;
    unsigned nworkers;
};

struct worker {
    struct worker *next;
    struct dest *dest;
    pid_t pid;          /* 0 once reaped */
    int status;         /* its wait status, once reaped */
    int wfd, rfd;       /* its request and report pipes, -1 once closed */
    bool busy;          /* a request is out */
    unsigned slot;      /* that request's slot and recipients */
    size_t nrcpt;
    struct bstr wbuf;   /* request bytes not yet written */
    size_t woff;
    struct spawn_repparser rp;
    long long idle_since;
};

struct loop {
    const struct rspawn_conf *c;
    int in, out;
    struct dest *dests;
    struct worker *workers;
    unsigned nidle;
    unsigned long nworkers;
    bool failed; /* qmail-send stopped listening */
};

/* ---- reports to qmail-send ------------------------------------------- */

static void
send_out(struct loop *l, const struct bstr *b)
{
    if (l->failed || write_all(l->out, b->s, b->len) == 0)
        return;
    log_line("cannot report to qmail-send: %s", strerror(errno));
    l->failed = true;
}

/* fail_text - report every recipient of a request as failed
 * temporarily with the text why. */
static void
fail_text(struct loop *l, unsigned slot, size_t nrcpt, const struct bstr *why)
{
    struct bstr b = BSTR_INIT;
    bool ok = spawnproto_report_start(&b, slot) == 0;

    for (size_t i = 0; ok && i < nrcpt; i++)
        ok = spawnproto_report_rcpt(&b, 's', why->s, why->len) == 0;
    ok = ok && spawnproto_report_end(&b, 'Z', why->s, why->len) == 0;
    if (!ok)
        log_die(EXIT_TEMP, "out of memory");
    send_out(l, &b);
    bstr_free(&b);
}

/* fail - fail_text with result r (a text without arguments). */
static void
fail(struct loop *l, unsigned slot, size_t nrcpt, enum result_reason r)
{
    struct bstr why = BSTR_INIT;

    if (result_line(&why, r, RESULT_NOARGS) == -1)
        log_die(EXIT_TEMP, "out of memory");
    fail_text(l, slot, nrcpt, &why);
    bstr_free(&why);
}

/* forward - a worker's report, checked, to qmail-send: false if garbled. */
static bool
forward(struct loop *l, struct worker *w)
{
    const struct spawn_report *r = &w->rp.rep;
    struct bstr b = BSTR_INIT;
    const char *t = r->texts.s;
    bool ok;

    if (r->slot != w->slot || r->codes.len != w->nrcpt) {
        log_line("qmail-remote for %s reported slot %u with %zu recipients "
                 "for slot %u with %zu", w->dest->domain, r->slot,
                 r->codes.len, w->slot, w->nrcpt);
        return false;
    }
    ok = spawnproto_report_start(&b, r->slot) == 0;
    for (size_t i = 0; ok && i < r->codes.len; i++) {
        size_t n = strlen(t);

        ok = spawnproto_report_rcpt(&b, r->codes.s[i], t, n) == 0;
        t += n + 1;
    }
    ok = ok && spawnproto_report_end(&b, r->final, r->text.s ? r->text.s : "",
                                     r->text.len) == 0;
    if (!ok)
        log_die(EXIT_TEMP, "out of memory");
    send_out(l, &b);
    bstr_free(&b);
    return true;
}

/* ---- destinations ---------------------------------------------------- */

static struct dest *
dest_get(struct loop *l, const char *domain)
{
    struct dest *d;

    for (d = l->dests; d; d = d->next)
        if (!strcasecmp(d->domain, domain))
            return d;
    d = calloc(1, sizeof *d);
    if (!d || !(d->domain = strdup(domain)))
        log_die(EXIT_TEMP, "out of memory");
    for (char *p = d->domain; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    d->next = l->dests;
    l->dests = d;
    return d;
}

/* dest_drop - forget a domain with no workers and nothing waiting. */
static void
dest_drop(struct loop *l, struct dest *d)
{
    struct dest **pp;

    if (d->nworkers || d->head)
        return;
    for (pp = &l->dests; *pp != d; pp = &(*pp)->next)
        ;
    *pp = d->next;
    free(d->domain);
    free(d);
}

/* ---- workers --------------------------------------------------------- */

static void
hand(struct loop *l, struct worker *w, struct pending *p)
{
    if (!w->busy && w->idle_since)
        l->nidle--;
    bstr_free(&w->wbuf);
    w->wbuf = p->req;
    w->woff = 0;
    w->slot = p->slot;
    w->nrcpt = p->nrcpt;
    w->busy = true;
    w->idle_since = 0;
    free(p);
}

/* retire - end an idle worker's input: it says QUIT and exits. */
static void
retire(struct loop *l, struct worker *w)
{
    if (w->wfd != -1) {
        close(w->wfd);
        w->wfd = -1;
    }
    if (w->idle_since) {
        l->nidle--;
        w->idle_since = 0;
    }
}

static struct worker *
start_worker(struct loop *l, struct dest *d)
{
    struct worker *w, *oldest = NULL;
    int req[2], rep[2];
    pid_t pid;

    /* room for one more: the longest idle worker goes first */
    if (l->nidle >= l->c->idle_max) {
        for (w = l->workers; w; w = w->next)
            if (w->idle_since &&
                (!oldest || w->idle_since < oldest->idle_since))
                oldest = w;
        if (oldest)
            retire(l, oldest);
    }
    w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (pipe2(req, O_CLOEXEC) == -1) {
        free(w);
        return NULL;
    }
    if (pipe2(rep, O_CLOEXEC) == -1) {
        close(req[0]);
        close(req[1]);
        free(w);
        return NULL;
    }
    /* our ends only (the worker's stay blocking): a worker that stops
     * reading must never stop us; without that, no worker */
    if (fcntl(req[1], F_SETFL, O_NONBLOCK) == -1 ||
        fcntl(rep[0], F_SETFL, O_NONBLOCK) == -1 || (pid = fork()) == -1) {
        int e = errno;

        close(req[0]);
        close(req[1]);
        close(rep[0]);
        close(rep[1]);
        free(w);
        errno = e;
        return NULL;
    }
    if (pid == 0) {
        const char *argv[] = {"qmail-remote", "-m", d->domain, NULL};
        sigset_t none;

        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(req[0], 0) == -1 || dup2(rep[1], 1) == -1)
            _exit(EXIT_TEMP);
        execv(l->c->remote, (char *const *)argv);
        log_line("cannot run %s: %s", l->c->remote, strerror(errno));
        _exit(EXIT_TEMP);
    }
    close(req[0]);
    close(rep[1]);
    w->dest = d;
    w->pid = pid;
    w->wfd = req[1];
    w->rfd = rep[0];
    spawnproto_rep_init(&w->rp);
    w->next = l->workers;
    l->workers = w;
    l->nworkers++;
    d->nworkers++;
    return w;
}

/*
 * dispatch - give the domain's waiting requests to its idle workers and
 * to new ones while it may have more.
 */
static void
dispatch(struct loop *l, struct dest *d)
{
    while (d->head) {
        struct pending *p = d->head;
        struct worker *w;

        for (w = l->workers; w; w = w->next)
            if (w->dest == d && !w->busy && w->wfd != -1 && w->rfd != -1)
                break;
        if (!w && d->nworkers >= l->c->perdomain)
            return;
        if (!w && !(w = start_worker(l, d))) {
            d->head = p->next;
            if (!d->head)
                d->tail = NULL;
            log_line("cannot start qmail-remote for %s: %s", d->domain,
                     strerror(errno));
            fail(l, p->slot, p->nrcpt, RS_REMOTE_START);
            bstr_free(&p->req);
            free(p);
            continue;
        }
        d->head = p->next;
        if (!d->head)
            d->tail = NULL;
        hand(l, w, p);
    }
}

/* request - one request from qmail-send joins its domain's line. */
static void
request(struct loop *l, const struct spawn_request *rq)
{
    const char *at = strrchr(rq->rcpts.s, '@');
    struct pending *p = calloc(1, sizeof *p);
    struct dest *d;

    if (!p)
        log_die(EXIT_TEMP, "out of memory");
    p->slot = rq->slot;
    p->nrcpt = rq->nrcpt;
    if (spawnproto_request(&p->req, rq->slot, rq->msgid,
                           rq->sender.s ? rq->sender.s : "", rq->sender.len,
                           &rq->rcpts, rq->nrcpt) == -1)
        log_die(EXIT_TEMP, "out of memory");
    d = dest_get(l, at ? at + 1 : "");
    if (d->tail)
        d->tail->next = p;
    else
        d->head = p;
    d->tail = p;
    dispatch(l, d);
}

static void
describe(struct bstr *b, const struct worker *w)
{
    char n[FMT_ULONG];
    int r;

    bstr_truncate(b, 0);
    if (w->pid == 0 && WIFSIGNALED(w->status))
        r = result_line(b, RS_REMOTE_CRASHED,
                        RESULT_ARGS(result_num(n, (unsigned)WTERMSIG(w->status))));
    else if (w->pid == 0 && WIFEXITED(w->status) && WEXITSTATUS(w->status))
        r = result_line(b, RS_REMOTE_FAILED,
                        RESULT_ARGS(result_num(n, WEXITSTATUS(w->status))));
    else
        r = result_line(b, RS_REMOTE_NOREPORT, RESULT_NOARGS);
    if (r == -1)
        log_die(EXIT_TEMP, "out of memory");
}

/*
 * gone - the worker's report pipe ended: it delivers no more.  A request
 * still out is reported failed once the worker is reaped (reap), so the
 * text can say how it ended.
 */
static void
gone(struct loop *l, struct worker *w)
{
    close(w->rfd);
    w->rfd = -1;
    retire(l, w); /* its input too, and it is idle no more */
}

/* lost - report the request a dead worker still had out. */
static void
lost(struct loop *l, struct worker *w)
{
    struct bstr why = BSTR_INIT;

    describe(&why, w);
    log_line("qmail-remote for %s: %.*s", w->dest->domain, (int)why.len - 1,
             why.s);
    fail_text(l, w->slot, w->nrcpt, &why);
    bstr_free(&why);
    w->busy = false;
}

/* drain - read a worker's reports; each frees it for the next request. */
static void
drain(struct loop *l, struct worker *w)
{
    char buf[8192];

    for (;;) {
        ssize_t r = read(w->rfd, buf, sizeof buf);
        size_t off = 0;

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno == EAGAIN)
            return;
        if (r <= 0) {
            gone(l, w);
            return;
        }
        while (off < (size_t)r) {
            size_t used;
            int ev = spawnproto_rep_push(&w->rp, buf + off, (size_t)r - off,
                                         &used);

            off += used;
            if (ev == SPAWNPROTO_REPORT && w->busy && forward(l, w)) {
                w->busy = false;
                w->idle_since = datetime_mono_ms();
                l->nidle++;
                dispatch(l, w->dest);
            } else if (ev == SPAWNPROTO_REPORT || ev == SPAWNPROTO_BAD ||
                       ev == SPAWNPROTO_NOMEM) {
                log_line("qmail-remote for %s: %s", w->dest->domain,
                         ev == SPAWNPROTO_NOMEM ? "out of memory reading "
                                                  "its report"
                                                : "garbled report");
                if (w->busy) {
                    fail(l, w->slot, w->nrcpt, RS_REMOTE_GARBLED);
                    w->busy = false;
                }
                if (w->pid)
                    kill(w->pid, SIGKILL);
                gone(l, w);
                return;
            } else if (used == 0) {
                break;
            }
        }
    }
}

/* push - write what we can of a worker's request. */
static void
push(struct loop *l, struct worker *w)
{
    while (w->woff < w->wbuf.len) {
        ssize_t n = write(w->wfd, w->wbuf.s + w->woff, w->wbuf.len - w->woff);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN)
            return;
        if (n <= 0) {
            /* it is gone; its report pipe will say so */
            close(w->wfd);
            w->wfd = -1;
            (void)l;
            return;
        }
        w->woff += (size_t)n;
    }
    bstr_free(&w->wbuf);
    w->woff = 0;
}

/* reap - collect exited workers; forget those that are all done. */
static void
reap(struct loop *l)
{
    struct worker **pp = &l->workers;
    pid_t pid;
    int st;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        for (struct worker *w = l->workers; w; w = w->next)
            if (w->pid == pid) {
                w->pid = 0;
                w->status = st;
                break;
            }
    while (*pp) {
        struct worker *w = *pp;

        if (w->pid || w->rfd != -1) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        if (w->busy)
            lost(l, w);
        w->dest->nworkers--;
        l->nworkers--;
        spawnproto_rep_free(&w->rp);
        bstr_free(&w->wbuf);
        dispatch(l, w->dest);
        dest_drop(l, w->dest);
        free(w);
    }
}

/* linger - retire workers idle too long; the ms until the next one is due. */
static int
linger(struct loop *l)
{
    long long now = datetime_mono_ms(), next = -1;

    for (struct worker *w = l->workers; w; w = w->next) {
        long long due;

        if (!w->idle_since)
            continue;
        due = w->idle_since + l->c->linger_ms;
        if (due <= now || l->in == -1)
            retire(l, w);
        else if (next == -1 || due - now < next)
            next = due - now;
    }
    return next > 1000000 ? 1000000 : (int)next;
}

static void
read_requests(struct loop *l, struct spawn_reqparser *rp)
{
    char buf[8192];
    ssize_t r = read(l->in, buf, sizeof buf);
    size_t off = 0;

    if (r == -1 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) {
        if (r == -1)
            log_line("reading requests: %s", strerror(errno));
        l->in = -1;
        return;
    }
    while (off < (size_t)r) {
        size_t used;
        int ev = spawnproto_req_push(rp, buf + off, (size_t)r - off, &used);

        off += used;
        if (ev == SPAWNPROTO_REQUEST) {
            if (rp->req.nrcpt == 0) {
                fail(l, rp->req.slot, 0, RS_NORCPTS);
                continue;
            }
            request(l, &rp->req);
        } else if (ev == SPAWNPROTO_BAD || ev == SPAWNPROTO_NOMEM) {
            log_line(ev == SPAWNPROTO_BAD ? "malformed request from qmail-send"
                                          : "out of memory reading requests");
            l->in = -1;
            l->failed = true;
            return;
        } else if (used == 0) {
            break;
        }
    }
}

/*
 * rspawn_run - serve requests from in, reports to out, until in is
 * closed and every delivery has been reported.  Returns 0, or 111 when
 * qmail-send spoke nonsense or stopped listening.
 */
int
rspawn_run(const struct rspawn_conf *c, int in, int out)
{
    struct loop l = {c, in, out, NULL, NULL, 0, 0, false};
    struct spawn_reqparser rp;
    struct pollfd *pfd = NULL;
    struct worker **who = NULL;
    size_t cap = 0;
    int sp;

    if ((sp = childpipe_init()) == -1) {
        log_line("cannot start: %s", strerror(errno));
        return EXIT_TEMP;
    }
    signal(SIGPIPE, SIG_IGN);
    spawnproto_req_init(&rp);

    while ((l.in != -1 || l.workers) && !l.failed) {
        size_t n = 0;
        int timeout = linger(&l);

        if (cap < l.nworkers * 2 + 2) {
            cap = l.nworkers * 2 + 16;
            free(pfd);
            free(who);
            pfd = calloc(cap, sizeof *pfd);
            who = calloc(cap, sizeof *who);
            if (!pfd || !who)
                log_die(EXIT_TEMP, "out of memory");
        }
        pfd[n].fd = sp;
        pfd[n].events = POLLIN;
        who[n++] = NULL;
        if (l.in != -1) {
            pfd[n].fd = l.in;
            pfd[n].events = POLLIN;
            who[n++] = NULL;
        }
        for (struct worker *w = l.workers; w; w = w->next) {
            if (w->rfd != -1) {
                pfd[n].fd = w->rfd;
                pfd[n].events = POLLIN;
                who[n++] = w;
            }
            if (w->wfd != -1 && w->wbuf.len) {
                pfd[n].fd = w->wfd;
                pfd[n].events = POLLOUT;
                who[n++] = w;
            }
        }
        if (poll(pfd, n, timeout) == -1) {
            if (errno == EINTR)
                continue;
            log_line("poll: %s", strerror(errno));
            break;
        }
        if (pfd[0].revents) {
            childpipe_drain(sp);
        }
        for (size_t k = 1; k < n; k++) {
            struct worker *w = who[k];

            if (!pfd[k].revents || !w)
                continue;
            if (pfd[k].fd == w->rfd)
                drain(&l, w);
            else if (pfd[k].fd == w->wfd)
                push(&l, w);
        }
        /* requests handed out above are written at once when they fit */
        for (struct worker *w = l.workers; w; w = w->next)
            if (w->wfd != -1 && w->wbuf.len)
                push(&l, w);
        if (l.in != -1 && n > 1 && pfd[1].fd == l.in && pfd[1].revents)
            read_requests(&l, &rp);
        for (struct worker *w = l.workers; w; w = w->next)
            if (w->wfd != -1 && w->wbuf.len)
                push(&l, w);
        reap(&l);
    }
    spawnproto_req_free(&rp);
    free(pfd);
    free(who);
    /* qmail-send is gone: the workers see the end of their input */
    for (struct worker *w = l.workers; w; w = w->next)
        if (w->wfd != -1)
            close(w->wfd);
    return l.failed ? EXIT_TEMP : 0;
}
