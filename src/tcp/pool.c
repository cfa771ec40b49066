/* SPDX-License-Identifier: ISC */
/*
 * pool - tcpserver's resident workers (see pool.h).
 *
 * Every failure to reach a worker is that worker's end: its fd is
 * closed, its process is reaped (and logged) like any child, and the
 * connection goes to another worker or a new one.  Nothing here blocks
 * except the start of a worker, which waits for its hello.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "fdpass.h"
#include "fmt.h"
#include "grow.h"
#include "log.h"
#include "outcome.h"
#include "pool.h"
#include "worker.h"

/*
 * pool_init - a pool of workers running cf->argv, each for up to uses
 * connections (0: no pool), started with the signal mask *mask.
 */
int
pool_init(struct pool *p, unsigned long uses, const struct conn_conf *cf,
          const sigset_t *mask)
{
    memset(p, 0, sizeof *p);
    p->uses = uses;
    p->argv = cf->argv;
    p->mask = mask;
    if (uses == 0)
        return 0;
    return worker_conf_pack(&p->conf, cf, uses);
}

/* The worker is gone or going: no more connections for it.  A connection
 * it never took stays pending, for pool_orphan. */
static void
drop(struct pool_worker *w)
{
    if (w->fd != -1)
        close(w->fd);
    w->fd = -1;
}

static void
taken(struct pool_worker *w)
{
    if (w->pending != -1)
        close(w->pending);
    w->pending = -1;
}

static void __attribute__((noreturn))
child(struct pool *p, int fd)
{
    char num[FMT_ULONG];

    num[fmt_ull(num, (unsigned long long)fd)] = '\0';
    sigprocmask(SIG_SETMASK, p->mask, NULL);
    if (fcntl(fd, F_SETFD, 0) == -1 || setenv(WORKER_ENV, num, 1) == -1)
        _exit(EXIT_TEMP);
    execvp(p->argv[0], p->argv);
    log_line("fatal: unable to run %s: %s", p->argv[0], strerror(errno));
    _exit(EXIT_TEMP);
}

/* Wait for a new worker's hello; true when it said it. */
static bool
hello(int fd)
{
    char buf[16];
    ssize_t n = deadline_read(fd, buf, sizeof buf, deadline_in(POOL_HELLO_MS));

    return n == (ssize_t)sizeof WORKER_HELLO - 1 &&
           memcmp(buf, WORKER_HELLO, (size_t)n) == 0;
}

/*
 * spawn - start one worker and add it, idle.  Returns its index, or -1
 * (errno; p->off set when the program does not speak the protocol).
 */
static ssize_t
spawn(struct pool *p)
{
    struct pool_worker *w;
    int sp[2];
    pid_t pid;

    if (grow(&p->w, &p->cap, p->n + 1, sizeof *p->w, 8) == -1)
        return -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1)
        return -1;
    pid = fork();
    if (pid == -1) {
        close(sp[0]);
        close(sp[1]);
        return -1;
    }
    if (pid == 0)
        child(p, sp[1]);
    close(sp[1]);
    if (!hello(sp[0]) ||
        send(sp[0], p->conf.s, p->conf.len, MSG_NOSIGNAL) == -1) {
        log_line("warning: %s does not speak the -W worker protocol: "
                 "running it once per connection", p->argv[0]);
        close(sp[0]);
        kill(pid, SIGTERM);
        p->off = true;
        errno = EPROTONOSUPPORT;
        return -1;
    }
    w = &p->w[p->n];
    w->pid = pid;
    w->fd = sp[0];
    w->busy = false;
    w->pending = -1;
    return (ssize_t)p->n++;
}

static int
handover(struct pool_worker *w, int fd, const struct sockaddr *peer,
         socklen_t peerlen)
{
    char pkt[1 + sizeof(struct sockaddr_storage)];

    if ((size_t)peerlen > sizeof pkt - 1) {
        errno = EINVAL;
        return -1;
    }
    pkt[0] = 'n';
    memcpy(pkt + 1, peer, peerlen);
    return fdpass_send(w->fd, pkt, 1 + (size_t)peerlen, &fd, 1);
}

/*
 * pool_take - hand the accepted socket fd from peer to an idle worker,
 * starting one when none is idle.  Returns the worker's pid (the caller
 * still closes fd), 0 when there is no pool (the caller forks a child as
 * without -W), or -1 with errno when no worker could take it.
 */
pid_t
pool_take(struct pool *p, int fd, const struct sockaddr *peer,
          socklen_t peerlen)
{
    for (int tries = 0; tries < 3; tries++) {
        ssize_t i = -1;

        if (p->uses == 0 || p->off)
            return 0;
        for (size_t j = 0; j < p->n; j++)
            if (p->w[j].fd != -1 && !p->w[j].busy) {
                i = (ssize_t)j;
                break;
            }
        if (i == -1 && (i = spawn(p)) == -1)
            return p->off ? 0 : -1;
        if (handover(&p->w[i], fd, peer, peerlen) == 0) {
            struct pool_worker *w = &p->w[i];

            w->busy = true;
            /* kept until it says "a": it may die before it takes it */
            w->pending = fcntl(fd, F_DUPFD_CLOEXEC, 3);
            memcpy(&w->peer, peer, peerlen);
            w->peerlen = peerlen;
            return w->pid;
        }
        /* it exited (its count reached) or cannot take more: next one */
        drop(&p->w[i]);
    }
    return -1;
}

/* pool_pollfds - a POLLIN entry per live worker in out; returns how many. */
size_t
pool_pollfds(const struct pool *p, struct pollfd *out)
{
    size_t k = 0;

    for (size_t i = 0; i < p->n; i++)
        if (p->w[i].fd != -1)
            out[k++] = (struct pollfd){p->w[i].fd, POLLIN, 0};
    return k;
}

/*
 * pool_event - the worker on fd is readable: returns 1 with *pid and
 * *code when it reported a session's end (it is idle again), 0 when
 * there was nothing to read, -1 when it is gone (dropped; its exit is
 * reaped as a child's).
 */
int
pool_event(struct pool *p, int fd, pid_t *pid, int *code)
{
    for (size_t i = 0; i < p->n; i++) {
        struct pool_worker *w = &p->w[i];
        unsigned char pkt[16];
        ssize_t n;

        if (w->fd != fd)
            continue;
        n = recv(fd, pkt, sizeof pkt, MSG_DONTWAIT);
        if (n == -1 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (n == 1 && pkt[0] == 'a' && w->busy) {
            taken(w);
            return 0;
        }
        if (n == 3 && pkt[0] == 'e' && w->busy && w->pending == -1) {
            w->busy = false;
            *pid = w->pid;
            *code = pkt[1];
            if (pkt[2] != '1')
                drop(w); /* it exits now: reaped, no second "end" line */
            return 1;
        }
        drop(w); /* EOF, an error, or a packet we did not expect */
        return -1;
    }
    return 0;
}

/* pool_forget - the worker pid has exited: drop it if still listed. */
void
pool_forget(struct pool *p, pid_t pid)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->w[i].pid == pid)
            drop(&p->w[i]);
}

/*
 * pool_orphan - a connection handed to a worker that went away before it
 * took it: returns its socket (ours now) with the worker's *pid and the
 * peer, or -1 when there is none.  Call until -1 after dropping workers.
 */
int
pool_orphan(struct pool *p, pid_t *pid, struct sockaddr_storage *peer,
            socklen_t *peerlen)
{
    for (size_t i = 0; i < p->n; i++) {
        struct pool_worker *w = &p->w[i];
        int fd = w->pending;

        if (w->fd != -1 || fd == -1)
            continue;
        w->pending = -1;
        *pid = w->pid;
        memcpy(peer, &w->peer, sizeof *peer);
        *peerlen = w->peerlen;
        return fd;
    }
    return -1;
}

/* pool_compact - remove the dropped workers from the table. */
void
pool_compact(struct pool *p)
{
    size_t k = 0;

    for (size_t i = 0; i < p->n; i++)
        if (p->w[i].fd != -1 || p->w[i].pending != -1)
            p->w[k++] = p->w[i];
    p->n = k;
}
