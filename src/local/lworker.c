/* SPDX-License-Identifier: ISC */
/*
 * lworker - per-user delivery workers (see lworker.h): the pool kept by
 * qmail-lspawn, and the worker's loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bstr.h"
#include "deadline.h"
#include "envsave.h"
#include "fdpass.h"
#include "local.h"
#include "log.h"
#include "lworker.h"
#include "outcome.h"
#include "priv.h"

#define NFIELDS 7

/* lworkers_init - no workers yet. */
void
lworkers_init(struct lworkers *p)
{
    p->off = false;
    for (size_t i = 0; i < LWORKERS_MAX; i++)
        p->w[i].fd = -1;
}

static void
drop(struct lworker *w)
{
    if (w->fd != -1)
        close(w->fd);
    w->fd = -1;
    w->busy = false;
}

/*
 * lworker_main - the worker (qmail-local --worker, exec'd by qmail-lspawn
 * as the user): deliver what comes on sock until qmail-lspawn closes it
 * or LWORKER_USES deliveries are done.  Never returns.
 */
void
lworker_main(int sock, const char *defaultdelivery)
{
    static char pkt[LWORKER_PKT_MAX];
    char **env0;
    unsigned long served = 0;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (null == -1 || envsave_take(&env0) == -1 ||
        fcntl(sock, F_SETFD, FD_CLOEXEC) == -1 ||
        fdpass_send(sock, "H", 1, NULL, 0) == -1)
        _exit(EXIT_TEMP);
    for (;;) {
        const char *f[NFIELDS];
        int fds[2], code;
        ssize_t n = fdpass_recv(sock, pkt, sizeof pkt - 1, fds, 2);
        size_t pos = 1;
        char e[3];
        bool more;

        if (n <= 0)
            _exit(n == 0 ? 0 : EXIT_TEMP);
        if (pkt[0] != 'd' || fds[0] == -1 || pkt[n - 1] != '\0')
            _exit(EXIT_TEMP); /* not from qmail-lspawn: stop */
        for (size_t i = 0; i < NFIELDS; i++) {
            if (pos >= (size_t)n)
                _exit(EXIT_TEMP);
            f[i] = pkt + pos;
            pos += strlen(f[i]) + 1;
        }
        if (pos != (size_t)n || envsave_restore(env0) == -1 ||
            dup2(fds[0], 0) == -1 || dup2(fds[1], 1) == -1 ||
            dup2(fds[1], 2) == -1)
            _exit(EXIT_TEMP);
        close(fds[0]);
        close(fds[1]);
        {
            const char *argv[] = {"qmail-local", "--", f[0], f[1], f[2], f[3],
                                  f[4], f[5], f[6], defaultdelivery, NULL};

            code = qmail_local_run(10, (char **)argv);
        }
        /* closing the pipe's last end tells qmail-lspawn the text is all */
        if (dup2(null, 0) == -1 || dup2(null, 1) == -1 || dup2(null, 2) == -1)
            _exit(code);
        more = ++served < LWORKER_USES;
        e[0] = 'e';
        e[1] = (char)(code & 0xff);
        e[2] = more ? '1' : '0';
        /* leaving, it exits with the code: qmail-lspawn may reap it before
         * it reads the packet */
        if (fdpass_send(sock, e, sizeof e, NULL, 0) == -1 || !more)
            _exit(code);
    }
}

/*
 * spawn - a worker for uid/gid in slot w: fork, close everything that is
 * qmail-lspawn's (qmail-send's pipes on fds 0 and 1, the other workers,
 * the jobs' pipes), become the user, loop.  Returns 0 or -1 with errno.
 */
static int
spawn(struct lworkers *p, struct lworker *w, const struct lspawn_conf *c,
      uid_t uid, gid_t gid)
{
    int sp[2];
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1)
        return -1;
    pid = fork();
    if (pid == -1) {
        int e = errno;
        close(sp[0]);
        close(sp[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        int null = open("/dev/null", O_RDWR);
        const char *argv[] = {"qmail-local", "--worker", c->defaultdelivery,
                              NULL};

        /* fds 0 and 1 are qmail-send's pipes in qmail-lspawn */
        if (null == -1 || dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
            dup2(sp[1], 3) == -1)
            _exit(EXIT_TEMP);
        close_range(4, ~0U, 0); /* the other workers, the jobs, the rest */
        lspawn_reset_signals();
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (c->users.rootmode && priv_drop(uid, gid) == -1)
            _exit(EXIT_TEMP);
        if (getuid() == 0 || geteuid() == 0)
            _exit(EXIT_TEMP);
        /* a fresh address space: nothing of qmail-lspawn's memory (other
         * deliveries' envelopes and report texts) and a layout of its own */
        execv(c->local_path, (char *const *)argv);
        _exit(EXIT_TEMP);
    }
    close(sp[1]);
    /* its hello says the exec worked; without it, no more workers (a
     * delivery gets a child of its own, as without them) */
    {
        char h[8];
        ssize_t n = deadline_read(sp[0], h, sizeof h,
                                  deadline_in(LWORKER_HELLO_MS));

        if (n != 1 || h[0] != 'H') {
            log_line("warning: no per-user workers: %s --worker did not "
                     "start; a process per delivery from now on",
                     c->local_path);
            close(sp[0]);
            kill(pid, SIGKILL);
            p->off = true;
            errno = EPROTONOSUPPORT;
            return -1;
        }
    }
    w->pid = pid;
    w->fd = sp[0];
    w->uid = uid;
    w->gid = gid;
    w->busy = false;
    return 0;
}

/* Find an idle worker of uid/gid, or make room for one and start it. */
static struct lworker *
take(struct lworkers *p, const struct lspawn_conf *c, uid_t uid, gid_t gid)
{
    struct lworker *free_slot = NULL, *idle_other = NULL;

    if (p->off) {
        errno = EPROTONOSUPPORT;
        return NULL;
    }

    for (size_t i = 0; i < LWORKERS_MAX; i++) {
        struct lworker *w = &p->w[i];

        if (w->fd == -1) {
            if (!free_slot)
                free_slot = w;
        } else if (!w->busy) {
            if (w->uid == uid && w->gid == gid)
                return w;
            if (!idle_other)
                idle_other = w;
        }
    }
    if (!free_slot && idle_other) {
        drop(idle_other); /* it exits at end of file */
        free_slot = idle_other;
    }
    if (!free_slot) {
        errno = EAGAIN;
        return NULL;
    }
    if (spawn(p, free_slot, c, uid, gid) == -1)
        return NULL;
    return free_slot;
}

/*
 * lworkers_send - give one delivery (the message on messfd, the report
 * pipe's write end outfd, both still ours to close) to an idle worker of
 * u's uid, starting one if needed.  Returns the worker's pid, or -1 with
 * errno (EAGAIN: every worker is busy; the caller forks a child then).
 */
int
lworkers_send(struct lworkers *p, const struct lspawn_conf *c,
              const struct local_user *u, const char *local,
              const char *domain, const char *sender, int messfd, int outfd)
{
    uid_t uid = c->users.rootmode ? (uid_t)u->uid : getuid();
    gid_t gid = c->users.rootmode ? (gid_t)u->gid : getgid();
    const char *f[NFIELDS] = {u->user.s, u->home.s, local,
                              u->dash.s ? u->dash.s : "",
                              u->ext.s ? u->ext.s : "", domain, sender};
    struct bstr pkt = BSTR_INIT;
    int fds[2] = {messfd, outfd};

    if (bstr_catb(&pkt, "d", 1) == -1)
        return -1;
    for (size_t i = 0; i < NFIELDS; i++)
        if (bstr_cats(&pkt, f[i]) == -1 || bstr_catb(&pkt, "", 1) == -1) {
            bstr_free(&pkt);
            return -1;
        }
    if (pkt.len >= LWORKER_PKT_MAX) {
        bstr_free(&pkt);
        errno = EMSGSIZE;
        return -1;
    }
    for (int tries = 0; tries < 2; tries++) {
        struct lworker *w = take(p, c, uid, gid);

        if (!w)
            break;
        if (fdpass_send(w->fd, pkt.s, pkt.len, fds, 2) == 0) {
            w->busy = true;
            bstr_free(&pkt);
            return w->pid;
        }
        drop(w); /* gone: reaped elsewhere; try a fresh one */
    }
    bstr_free(&pkt);
    return -1;
}

/*
 * lworkers_event - worker i's socket is readable: returns 1 with *pid and
 * *code when it finished a delivery, 0 when there was nothing, -1 when
 * it is gone (its delivery, if any, is reported when it is reaped).
 */
int
lworkers_event(struct lworkers *p, size_t i, pid_t *pid, int *code)
{
    struct lworker *w = &p->w[i];
    unsigned char e[8];
    ssize_t n;

    if (w->fd == -1)
        return 0;
    n = recv(w->fd, e, sizeof e, MSG_DONTWAIT);
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n == 3 && e[0] == 'e' && w->busy) {
        *pid = w->pid;
        *code = e[1];
        w->busy = false;
        if (e[2] != '1')
            drop(w);
        return 1;
    }
    drop(w);
    return -1;
}

/* lworkers_forget - worker pid has exited. */
void
lworkers_forget(struct lworkers *p, pid_t pid)
{
    for (size_t i = 0; i < LWORKERS_MAX; i++)
        if (p->w[i].fd != -1 && p->w[i].pid == pid)
            drop(&p->w[i]);
}

/* lworkers_close - let every worker go (they exit at end of file). */
void
lworkers_close(struct lworkers *p)
{
    for (size_t i = 0; i < LWORKERS_MAX; i++)
        drop(&p->w[i]);
}
