/* SPDX-License-Identifier: ISC */
/*
 * lspawn - qmail-lspawn's request loop and its per-delivery child (see
 * lspawn.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childpipe.h"
#include "exits.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "qpath.h"
#include "result.h"
#include "local.h"
#include "lspawn.h"
#include "lworker.h"
#include "spawnproto.h"
#include "writeall.h"

/* capture_init - nothing captured yet. */
void
capture_init(struct capture *c)
{
    struct bstr empty = BSTR_INIT;

    c->head = empty;
    c->tailpos = 0;
    c->total = 0;
}

/* capture_free - release the captured head. */
void
capture_free(struct capture *c)
{
    bstr_free(&c->head);
}

/* capture_add - keep the first SPAWN_HEAD and last SPAWN_TAIL bytes. */
int
capture_add(struct capture *c, const char *p, size_t n)
{
    if (c->head.len < SPAWN_HEAD) {
        size_t k = SPAWN_HEAD - c->head.len;

        if (k > n)
            k = n;
        if (bstr_catb(&c->head, p, k) == -1)
            return -1;
        c->total += k;
        p += k;
        n -= k;
    }
    if (n > SPAWN_TAIL) {
        c->total += n - SPAWN_TAIL;
        p += n - SPAWN_TAIL;
        n = SPAWN_TAIL;
    }
    for (size_t i = 0; i < n; i++) {
        c->tail[c->tailpos] = p[i];
        c->tailpos = (c->tailpos + 1) % SPAWN_TAIL;
    }
    c->total += n;
    return 0;
}

/* capture_text - the kept output; "..." marks what was left out. */
int
capture_text(const struct capture *c, struct bstr *out)
{
    unsigned long long rest = c->total - c->head.len;

    bstr_truncate(out, 0);
    if (bstr_catb(out, c->head.s ? c->head.s : "", c->head.len) == -1)
        return -1;
    if (rest <= SPAWN_TAIL)
        return bstr_catb(out, c->tail, (size_t)rest);
    if (bstr_cats(out, "...") == -1)
        return -1;
    if (bstr_catb(out, c->tail + c->tailpos, SPAWN_TAIL - c->tailpos) == -1)
        return -1;
    return bstr_catb(out, c->tail, c->tailpos);
}

/* ---- the child: one delivery ---------------------------------------- */

/*
 * child_die - end the child with result r, its text (cut at 1022 bytes,
 * as it always was) on fd 1 for qmail-send, like one of qmail-local's.
 */
/*
 * result_text - what a child dying of result r writes: its text cut at
 * 1022 bytes and a newline; returns the exit code it dies with.
 */
static int
result_text(struct bstr *t, enum result_reason r, const char *const *args,
            size_t nargs)
{
    int code = result_exit(r);

    if (result_set(t, r, args, nargs) == -1) {
        code = EXIT_TEMP;
        if (result_set(t, RS_LSPAWN_NOMEM, RESULT_NOARGS) == -1)
            return code;
    }
    if (t->len > 1022)
        bstr_truncate(t, 1022);
    if (bstr_catc(t, '\n') == -1)
        bstr_truncate(t, 0);
    return code;
}

static void __attribute__((noreturn))
child_die(enum result_reason r, const char *const *args, size_t nargs)
{
    struct bstr t = BSTR_INIT;
    int code = result_text(&t, r, args, nargs);

    if (t.len && write(1, t.s, t.len) < 0)
        _exit(code);
    _exit(code);
}

/*
 * lspawn_prepare - the steps before a delivery that need qmail-lspawn's
 * privileges: open mess/N (as root in a root-mode instance: the user may
 * not read the queue), split rcpt, find the user.  Returns 0 with
 * *messfd, u, local and *domain filled, or -1 with the reason and its
 * arguments in *err (nothing left open).
 */
int
lspawn_prepare(const struct lspawn_conf *c, unsigned long long msgid,
               const char *rcpt, int *messfd, struct local_user *u,
               struct bstr *local, const char **domain,
               struct lspawn_err *err)
{
    char mess[QPATH_MAX];
    const char *at, *why;

    err->nargs = 0;
    qpath_fmt(mess, "mess", msgid);
    *messfd = open(mess, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (*messfd == -1) {
        err->r = RS_MESS_OPEN;
        snprintf(err->buf[0], sizeof err->buf[0], "%s", mess);
        snprintf(err->buf[1], sizeof err->buf[1], "%s", strerror(errno));
        err->nargs = 2;
        return -1;
    }
    at = strrchr(rcpt, '@');
    *domain = at ? at + 1 : "";
    if (bstr_copyb(local, rcpt, at ? (size_t)(at - rcpt) : strlen(rcpt)) ==
        -1) {
        err->r = RS_LSPAWN_NOMEM;
        goto bad;
    }
    if (local->len == 0 || memchr(local->s, '\0', local->len)) {
        err->r = RS_NOMAILBOX;
        goto bad;
    }
    bstr_lower(local);
    if (users_find(&c->users, local->s, local->len, u, &why) == -1) {
        err->r = RS_USERS;
        snprintf(err->buf[0], sizeof err->buf[0], "%s", why);
        err->nargs = 1;
        goto bad;
    }
    if (c->users.rootmode && u->uid == 0) {
        err->r = RS_ROOT;
        goto bad;
    }
    return 0;
bad:
    close(*messfd);
    *messfd = -1;
    return -1;
}

/* err_args - err's arguments in the form result_set takes. */
const char *const *
lspawn_err_args(const struct lspawn_err *err, const char **v)
{
    for (size_t i = 0; i < err->nargs; i++)
        v[i] = err->buf[i];
    return err->nargs ? v : NULL;
}

void
lspawn_child(const struct lspawn_conf *c, unsigned long long msgid,
             const char *sender, const char *rcpt, int outfd,
             const struct lspawn_prep *pre)
{
    struct local_user u;
    struct lspawn_err err;
    struct bstr local = BSTR_INIT;
    const char *domain, *v[2];
    sigset_t none;
    int fd;

    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(outfd, 1) == -1 || dup2(outfd, 2) == -1)
        _exit(EXIT_TEMP);
    if (outfd > 2)
        close(outfd);

    /* the message first, while we may still read the whole queue (done
     * already when a worker could not take the delivery) */
    local_user_init(&u);
    if (pre) {
        fd = pre->messfd;
        u = pre->u;
        local = pre->local;
        domain = pre->domain;
    } else if (lspawn_prepare(c, msgid, rcpt, &fd, &u, &local, &domain,
                              &err) == -1) {
        child_die(err.r, lspawn_err_args(&err, v), err.nargs);
    }
    if (fd == 0 ? fcntl(0, F_SETFD, 0) == -1 : dup2(fd, 0) == -1)
        child_die(RS_MESS_SETUP, RESULT_ARGS(strerror(errno)));
    if (fd != 0)
        close(fd);
    if (c->users.rootmode &&
        priv_drop((uid_t)u.uid, (gid_t)u.gid) == -1)
        child_die(RS_SETUSER, RESULT_ARGS(u.user.s, strerror(errno)));
    if (getuid() == 0 || geteuid() == 0)
        child_die(RS_ROOT, RESULT_NOARGS);

    {
        const char *argv[] = {"qmail-local",  "--", u.user.s,
                              u.home.s,       local.s,
                              u.dash.s ? u.dash.s : "",
                              u.ext.s ? u.ext.s : "", domain, sender,
                              c->defaultdelivery, NULL};

        if (c->qmail_local) {
            argv[0] = c->qmail_local;
            execv(c->qmail_local, (char *const *)argv);
            child_die(RS_RUN, RESULT_ARGS(c->qmail_local, strerror(errno)));
        }
        lspawn_reset_signals();
        close_range(3, ~0U, 0);
        prctl(PR_SET_NAME, "qmail-local", 0, 0, 0);
        qmail_local_main(10, (char **)argv);
        _exit(0);
    }
}

/*
 * lspawn_reset_signals - what an exec would have reset: every handler
 * back to the default.  SIGINT stays as qmail-lspawn has it (ignored): a
 * Ctrl-C that reaches the whole process group must not kill a delivery
 * half done; qmail-send lets it finish.
 */
void
lspawn_reset_signals(void)
{
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP && sig != SIGINT)
            signal(sig, SIG_DFL);
}

struct job {
    bool used;
    pid_t pid;
    int fd; /* read end of the child's output, -1 once at end of file */
    unsigned slot;
    struct capture out;
};

struct loop {
    const struct lspawn_conf *c;
    int in, out;
    struct lworkers *pool; /* per-user workers, or NULL: a fork each */
    struct job *jobs;
    size_t njobs; /* running */
    bool failed;  /* a report could not be written: qmail-send is gone */
};

/* report - one report: the recipient's record and the final one. */
static void
report(struct loop *l, unsigned slot, char final, const char *text,
       size_t len)
{
    struct bstr r = BSTR_INIT;

    if (spawnproto_report_start(&r, slot) == -1 ||
        spawnproto_report_rcpt(&r, exits_rcpt(final), text, len) == -1 ||
        spawnproto_report_end(&r, final, text, len) == -1) {
        /* out of memory: say so in as few bytes as possible */
        static const char nomem[] = "Out of memory in qmail-lspawn.";
        bstr_free(&r);
        if (spawnproto_report_start(&r, slot) == -1 ||
            spawnproto_report_rcpt(&r, 's', nomem, sizeof nomem - 1) == -1 ||
            spawnproto_report_end(&r, 'Z', nomem, sizeof nomem - 1) == -1) {
            log_line("out of memory: cannot report slot %u", slot);
            l->failed = true;
            bstr_free(&r);
            return;
        }
    }
    if (write_all(l->out, r.s, r.len) == -1) {
        log_line("cannot write a report to qmail-send: %s", strerror(errno));
        l->failed = true;
    }
    bstr_free(&r);
}

/* drain - read what the child wrote, without waiting for more. */
static void
drain(struct job *j)
{
    char buf[4096];

    while (j->fd != -1) {
        ssize_t r = read(j->fd, buf, sizeof buf);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno == EAGAIN)
            return;
        if (r <= 0) {
            close(j->fd);
            j->fd = -1;
            return;
        }
        if (capture_add(&j->out, buf, (size_t)r) == -1)
            return; /* keep what we have; the rest is dropped */
    }
}

static void
finish(struct loop *l, struct job *j, int status)
{
    struct bstr text = BSTR_INIT;
    char final = exits_final(status);
    char sig[FMT_ULONG];

    drain(j);
    if (j->fd != -1) {
        close(j->fd); /* a grandchild kept it open: not our business */
        j->fd = -1;
    }
    if (capture_text(&j->out, &text) == -1)
        bstr_truncate(&text, 0);
    if (WIFSIGNALED(status) &&
        result_line(&text, RS_LOCAL_CRASHED,
                    RESULT_ARGS(result_num(sig, (unsigned)WTERMSIG(status)))) ==
            -1)
        bstr_truncate(&text, 0);
    report(l, j->slot, final, text.s ? text.s : "", text.len);
    bstr_free(&text);
    capture_free(&j->out);
    j->used = false;
    l->njobs--;
}

static void
reap(struct loop *l)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);

        if (pid == 0 || (pid == -1 && errno != EINTR))
            return;
        if (pid == -1)
            continue;
        if (l->pool)
            lworkers_forget(l->pool, pid);
        for (size_t i = 0; i < SPAWN_JOBS_MAX; i++)
            if (l->jobs[i].used && l->jobs[i].pid == pid) {
                finish(l, &l->jobs[i], status);
                break;
            }
    }
}

/* refuse - the request fails with r (its text has no arguments). */
/* The worker on fd answered (or went away): report its delivery. */
static void
worker_answer(struct loop *l, int fd)
{
    for (size_t i = 0; i < LWORKERS_MAX; i++) {
        pid_t pid;
        int code;

        if (l->pool->w[i].fd != fd)
            continue;
        if (lworkers_event(l->pool, i, &pid, &code) == 1)
            for (size_t j = 0; j < SPAWN_JOBS_MAX; j++)
                if (l->jobs[j].used && l->jobs[j].pid == pid) {
                    finish(l, &l->jobs[j], code << 8);
                    break;
                }
        return;
    }
}

static void
refuse(struct loop *l, const struct spawn_request *rq, enum result_reason r)
{
    const char *why = result_get(r)->text;

    report(l, rq->slot, 'Z', why, strlen(why));
}

/* start - a child for one request, or a temporary failure report. */
/* What to_worker prepared, released: the message closed, the user freed. */
static void
prep_free(struct lspawn_prep *pre)
{
    if (pre->messfd != -1)
        close(pre->messfd);
    pre->messfd = -1;
    local_user_free(&pre->u);
    bstr_free(&pre->local);
}

/*
 * to_worker - the delivery rq to a per-user worker, its output on outfd.
 * Returns the worker's pid; 0 when it was answered here (the message or
 * the user could not be found: the same report a child would have
 * given); -1 when no worker can take it: then *pre holds the open message
 * and the user, for the child forked instead (it does not look again).
 */
static pid_t
to_worker(struct loop *l, const struct spawn_request *rq, int outfd,
          struct lspawn_prep *pre)
{
    struct lspawn_err err;
    pid_t pid;

    local_user_init(&pre->u);
    pre->local = (struct bstr)BSTR_INIT;
    if (lspawn_prepare(l->c, rq->msgid, rq->rcpts.s, &pre->messfd, &pre->u,
                       &pre->local, &pre->domain, &err) == -1) {
        struct bstr t = BSTR_INIT;
        const char *v[2];
        int code = result_text(&t, err.r, lspawn_err_args(&err, v),
                               err.nargs);

        report(l, rq->slot, exits_final(code << 8), t.s ? t.s : "", t.len);
        bstr_free(&t);
        prep_free(pre);
        return 0;
    }
    pid = lworkers_send(l->pool, l->c, &pre->u, pre->local.s, pre->domain,
                        rq->sender.s ? rq->sender.s : "", pre->messfd, outfd);
    if (pid > 0)
        prep_free(pre);
    return pid; /* -1: pre stays for the child that takes it instead */
}

static void
start(struct loop *l, const struct spawn_request *rq)
{
    struct job *j = NULL;
    struct lspawn_prep pre;
    bool prepared;
    int pfd[2];
    pid_t pid;

    if (rq->nrcpt != 1) {
        /* qmail-send sends local deliveries one recipient at a time */
        struct bstr r = BSTR_INIT;
        const char *why = result_get(RS_LSPAWN_ONE)->text;
        size_t wlen = strlen(why);
        bool ok = spawnproto_report_start(&r, rq->slot) == 0;

        for (size_t i = 0; ok && i < rq->nrcpt; i++)
            ok = spawnproto_report_rcpt(&r, 's', why, wlen) == 0;
        ok = ok && spawnproto_report_end(&r, 'Z', why, wlen) == 0;
        log_line("request for slot %u has %zu recipients", rq->slot,
                 rq->nrcpt);
        if (!ok || write_all(l->out, r.s, r.len) == -1)
            l->failed = true;
        bstr_free(&r);
        return;
    }
    for (size_t i = 0; i < SPAWN_JOBS_MAX; i++)
        if (!l->jobs[i].used) {
            j = &l->jobs[i];
            break;
        }
    if (!j) {
        refuse(l, rq, RS_LSPAWN_BUSY);
        return;
    }
    if (pipe2(pfd, O_CLOEXEC) == -1) {
        refuse(l, rq, RS_LSPAWN_PIPE);
        return;
    }
    pid = l->pool ? to_worker(l, rq, pfd[1], &pre) : -1;
    if (pid == 0) {
        close(pfd[0]);
        close(pfd[1]);
        return; /* reported */
    }
    prepared = l->pool && pid == -1;
    if (pid == -1)
        pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        close(l->in);
        if (l->out != pfd[1] && l->out > 2)
            close(l->out);
        lspawn_child(l->c, rq->msgid, rq->sender.s ? rq->sender.s : "",
                     rq->rcpts.s, pfd[1], prepared ? &pre : NULL);
    }
    if (prepared)
        prep_free(&pre);
    if (pid == -1) {
        close(pfd[0]);
        close(pfd[1]);
        refuse(l, rq, RS_LSPAWN_FORK);
        return;
    }
    close(pfd[1]);
    if (fcntl(pfd[0], F_SETFL, O_NONBLOCK) == -1)
        log_line("warning: cannot make a report pipe non-blocking: %s",
                 strerror(errno));
    j->used = true;
    j->pid = pid;
    j->fd = pfd[0];
    j->slot = rq->slot;
    capture_init(&j->out);
    l->njobs++;
}

/*
 * lspawn_run - serve requests from in, reports to out, until in is
 * closed and every delivery has been reported.  Returns the exit code:
 * 0, or 111 when qmail-send spoke nonsense or stopped listening.
 */
int
lspawn_run(const struct lspawn_conf *c, int in, int out)
{
    struct loop l = {c, in, out, NULL, NULL, 0, false};
    static struct lworkers pool;
    struct spawn_reqparser rp;
    struct pollfd *pfd;
    int sp;
    bool bad = false;

    l.jobs = calloc(SPAWN_JOBS_MAX, sizeof *l.jobs);
    pfd = calloc(SPAWN_JOBS_MAX + LWORKERS_MAX + 2, sizeof *pfd);
    if (c->workers) {
        lworkers_init(&pool);
        l.pool = &pool;
    }
    if (!l.jobs || !pfd || (sp = childpipe_init()) == -1) {
        log_line("cannot start: %s", strerror(errno));
        free(l.jobs);
        free(pfd);
        return EXIT_TEMP;
    }
    signal(SIGPIPE, SIG_IGN);
    spawnproto_req_init(&rp);

    while ((l.in != -1 || l.njobs > 0) && !l.failed) {
        size_t n = 0, first_job, first_worker;

        pfd[n].fd = sp;
        pfd[n++].events = POLLIN;
        if (l.in != -1) {
            pfd[n].fd = l.in;
            pfd[n++].events = POLLIN;
        }
        first_job = n;
        for (size_t i = 0; i < SPAWN_JOBS_MAX; i++)
            if (l.jobs[i].used && l.jobs[i].fd != -1) {
                pfd[n].fd = l.jobs[i].fd;
                pfd[n++].events = POLLIN;
            }
        first_worker = n;
        for (size_t i = 0; l.pool && i < LWORKERS_MAX; i++)
            if (l.pool->w[i].fd != -1) {
                pfd[n].fd = l.pool->w[i].fd;
                pfd[n++].events = POLLIN;
            }
        if (poll(pfd, n, -1) == -1) {
            if (errno == EINTR)
                continue;
            log_line("poll: %s", strerror(errno));
            break;
        }
        for (size_t k = first_job; k < n; k++)
            if (pfd[k].revents)
                for (size_t i = 0; i < SPAWN_JOBS_MAX; i++)
                    if (l.jobs[i].used && l.jobs[i].fd == pfd[k].fd) {
                        drain(&l.jobs[i]);
                        break;
                    }
        /* a worker's answer before reaping: a worker that leaves after
         * its last delivery has answered before it exits */
        for (size_t k = first_worker; k < n; k++)
            if (pfd[k].revents)
                worker_answer(&l, pfd[k].fd);
        if (pfd[0].revents) {
            childpipe_drain(sp);
        }
        reap(&l);
        if (l.in != -1 && first_job == 2 && pfd[1].revents) {
            char buf[4096];
            ssize_t r = read(l.in, buf, sizeof buf);
            size_t off = 0;

            if (r == -1 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0) {
                if (r == -1)
                    log_line("reading requests: %s", strerror(errno));
                l.in = -1;
                continue;
            }
            while (off < (size_t)r) {
                size_t used;
                int ev = spawnproto_req_push(&rp, buf + off, (size_t)r - off,
                                             &used);

                off += used;
                if (ev == SPAWNPROTO_REQUEST) {
                    start(&l, &rp.req);
                } else if (ev == SPAWNPROTO_BAD || ev == SPAWNPROTO_NOMEM) {
                    log_line(ev == SPAWNPROTO_BAD
                                 ? "malformed request from qmail-send"
                                 : "out of memory reading requests");
                    bad = true;
                    l.in = -1;
                    break;
                } else if (used == 0) {
                    break;
                }
            }
        }
    }
    if (l.pool)
        lworkers_close(l.pool);
    /* qmail-send gone (l.failed) leaves jobs running: their output is
     * nobody's now */
    for (size_t i = 0; i < SPAWN_JOBS_MAX; i++)
        if (l.jobs[i].used)
            capture_free(&l.jobs[i].out);
    spawnproto_req_free(&rp);
    free(l.jobs);
    free(pfd);
    return bad || l.failed ? EXIT_TEMP : 0;
}
