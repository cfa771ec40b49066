/* SPDX-License-Identifier: ISC */
/*
 * qq - the client side of qmail-queue (see qq.h).
 *
 * Children are started with posix_spawn (a vfork-style clone): the
 * caller's memory is never copied, which matters because this runs
 * once per message.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "outcome.h"
#include "qq.h"

extern char **environ;

/* qq_init - a client for prog; batch only for our own qmail-queue. */
void
qq_init(struct qq *q, const char *prog, bool batch)
{
    struct bstr empty = BSTR_INIT;

    memset(q, 0, sizeof *q);
    q->prog = prog;
    q->batch = batch;
    q->pid = -1;
    q->msgfd = q->envfd = q->sock = q->errfd = -1;
    q->env = empty;
}

/*
 * qq_capture - read the child's stderr from now on and keep what it says
 * about each message (qq_said); otherwise the child shares our stderr.
 */
void
qq_capture(struct qq *q)
{
    q->capture = true;
}

/*
 * qq_said - what the child wrote to stderr about the last message (or
 * why it could not be run): at most QQ_SAID_MAX bytes, *cut when there
 * was more.  Never NULL; *len is 0 when it said nothing.
 */
const char *
qq_said(const struct qq *q, size_t *len, bool *cut)
{
    *len = q->saidlen;
    *cut = q->saidcut;
    return q->said;
}

static void
said_keep(struct qq *q, const char *p, size_t n)
{
    size_t room = sizeof q->said - q->saidlen;

    if (n > room) {
        n = room;
        q->saidcut = true;
    }
    memcpy(q->said + q->saidlen, p, n);
    q->saidlen += n;
}

static void
said_close(struct qq *q)
{
    if (q->errfd != -1)
        close(q->errfd);
    q->errfd = -1;
}

/* said_drain - read the child's stderr as far as it goes without waiting;
 * at its end (or on an error) the pipe is closed. */
static void
said_drain(struct qq *q)
{
    char buf[4096];

    while (q->errfd != -1) {
        ssize_t r = read(q->errfd, buf, sizeof buf);

        if (r > 0) {
            said_keep(q, buf, (size_t)r);
            continue;
        }
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno == EAGAIN)
            return;
        said_close(q);
    }
}

/*
 * await - wait until fd is ready for events, reading the child's stderr
 * meanwhile (a child blocked on a full stderr pipe would never read or
 * answer).  Returns 0, or -1 with errno.
 */
static int
await(struct qq *q, int fd, short events)
{
    for (;;) {
        struct pollfd p[2];
        nfds_t n = 1;

        p[0].fd = fd;
        p[0].events = events;
        p[0].revents = 0;
        if (q->errfd != -1) {
            p[1].fd = q->errfd;
            p[1].events = POLLIN;
            p[1].revents = 0;
            n = 2;
        }
        if (poll(p, n, -1) == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 2 && p[1].revents)
            said_drain(q);
        if (p[0].revents)
            return 0;
    }
}

/* nonblock - our end of a channel to the child: with capture, never
 * block on it (await waits instead); the child's end is untouched. */
static int
nonblock(const struct qq *q, int fd)
{
    int fl;

    if (!q->capture)
        return 0;
    fl = fcntl(fd, F_GETFL);
    if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
        return -1;
    return 0;
}

/*
 * child_exit - wait for the child to exit, reading its stderr until then
 * (and what is left after).  Returns its exit code; a crash is QQ_BUG,
 * temporary, never success.
 */
static int
child_exit(struct qq *q, pid_t pid)
{
    int status;

    for (;;) {
        pid_t r;

        if (q->errfd != -1) {
            struct pollfd p;

            /* Usually the pipe ends with the child; a grandchild that
             * keeps it open only makes this poll for the exit. */
            p.fd = q->errfd;
            p.events = POLLIN;
            p.revents = 0;
            if (poll(&p, 1, 100) > 0)
                said_drain(q);
        }
        r = waitpid(pid, &status, q->errfd != -1 ? WNOHANG : 0);
        if (r == pid)
            break;
        if (r == -1 && errno != EINTR)
            return QQ_BUG;
    }
    said_drain(q);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return QQ_BUG;
}

/* spawn - start the child with fd0, fd1 and (with capture) a new stderr
 * pipe, whose read end becomes q->errfd. */
static int
spawn(struct qq *q, int fd0, int fd1, bool many)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none;
    char *argv[3];
    int pe[2] = {-1, -1};
    int e;

    argv[0] = (char *)q->prog;
    argv[1] = many ? (char *)"-m" : NULL;
    argv[2] = NULL;
    said_close(q);
    if (q->capture) {
        if (pipe2(pe, O_CLOEXEC) == -1)
            return -1;
        if (fcntl(pe[0], F_SETFL, O_NONBLOCK) == -1) {
            e = errno;
            close(pe[0]);
            close(pe[1]);
            errno = e;
            return -1;
        }
    }
    if (posix_spawn_file_actions_init(&fa) != 0)
        goto fail;
    if (posix_spawnattr_init(&at) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        goto fail;
    }
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
    e = posix_spawn_file_actions_adddup2(&fa, fd0, 0);
    if (!e)
        e = posix_spawn_file_actions_adddup2(&fa, fd1, 1);
    if (!e && pe[1] != -1)
        e = posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    if (!e)
        e = posix_spawn(&q->pid, q->prog, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e) {
        q->pid = -1;
        errno = e;
        goto fail;
    }
    if (pe[1] != -1)
        close(pe[1]);
    q->errfd = pe[0];
    return 0;
fail:
    e = errno;
    if (pe[0] != -1) {
        close(pe[0]);
        close(pe[1]);
    }
    errno = e;
    return -1;
}

/* batch_dead - the resident qmail-queue is gone or must go: its exit
 * code (what it said is kept). */
static int
batch_dead(struct qq *q)
{
    int code = QQ_BUG;

    if (q->sock != -1)
        close(q->sock);
    q->sock = -1;
    if (q->pid > 0)
        code = child_exit(q, q->pid);
    q->pid = -1;
    said_close(q);
    return code;
}

/* batch_ready - is the resident qmail-queue still there? Start one if not. */
static int
batch_ready(struct qq *q)
{
    int sv[2];

    if (q->pid > 0) {
        int st;
        pid_t r = waitpid(q->pid, &st, WNOHANG);

        if (r == 0) {
            said_drain(q); /* nothing it said before belongs to this one */
            q->saidlen = 0;
            q->saidcut = false;
            return 0;
        }
        q->pid = -1; /* it went away between messages: start another */
        close(q->sock);
        q->sock = -1;
        said_close(q);
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
        return -1;
    if (spawn(q, sv[1], sv[1], true) == -1) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        errno = e;
        return -1;
    }
    close(sv[1]);
    q->sock = sv[0];
    if (nonblock(q, q->sock) == -1) {
        int e = errno;
        batch_dead(q);
        errno = e;
        return -1;
    }
    return 0;
}

/* put_all - all of iov to fd, waiting (and reading stderr) as needed. */
static int
put_all(struct qq *q, int fd, const struct iovec *iov, int n)
{
    struct iovec v[3];
    size_t left = 0;

    memcpy(v, iov, (size_t)n * sizeof *v);
    for (int i = 0; i < n; i++)
        left += v[i].iov_len;
    while (left) {
        ssize_t w = writev(fd, v, n);

        if (w == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN && await(q, fd, POLLOUT) == 0)
                continue;
            return -1;
        }
        left -= (size_t)w;
        for (int i = 0; i < n && w; i++) {
            size_t k = (size_t)w < v[i].iov_len ? (size_t)w : v[i].iov_len;
            v[i].iov_base = (char *)v[i].iov_base + k;
            v[i].iov_len -= k;
            w -= (ssize_t)k;
        }
    }
    return 0;
}

/* pipe_write - the iob op for single mode's pipes (see put_all). */
static ssize_t
pipe_write(void *ctx, int fd, void *buf, size_t n, int timeout_ms)
{
    struct qq *q = ctx;
    struct iovec v;

    (void)timeout_ms;
    v.iov_base = buf;
    v.iov_len = n;
    return put_all(q, fd, &v, 1) == -1 ? -1 : (ssize_t)n;
}

/* frame - send one batch frame: type, 4-byte length, payload. */
static void
frame(struct qq *q, char type, const void *p, size_t n)
{
    unsigned char hdr[5];
    struct iovec v[2];

    if (q->err)
        return;
    hdr[0] = (unsigned char)type;
    hdr[1] = (unsigned char)(n >> 24);
    hdr[2] = (unsigned char)(n >> 16);
    hdr[3] = (unsigned char)(n >> 8);
    hdr[4] = (unsigned char)n;
    v[0].iov_base = hdr;
    v[0].iov_len = sizeof hdr;
    v[1].iov_base = (void *)p;
    v[1].iov_len = n;
    if (put_all(q, q->sock, v, n ? 2 : 1) == -1)
        q->err = true;
}

/* run_failed - the child could not be started: say so in qq_said's words. */
static int
run_failed(struct qq *q)
{
    int e = errno;
    int n;

    if (q->capture) {
        n = snprintf(q->said, sizeof q->said, "unable to run %s: %s", q->prog,
                     strerror(e));
        q->saidlen = n < 0 ? 0 : (size_t)n < sizeof q->said ? (size_t)n
                                                             : sizeof q->said - 1;
    }
    errno = e;
    return -1;
}

/*
 * qq_open - start a message: spawn prog (single mode) or make sure the
 * resident qmail-queue -m is there (batch).  Returns 0 or -1.
 */
int
qq_open(struct qq *q)
{
    int pm[2], pe[2];

    q->err = false;
    q->bytes = 0;
    q->fill = 0;
    q->inenv = false;
    q->saidlen = 0;
    q->saidcut = false;
    bstr_truncate(&q->env, 0);
    if (q->batch) {
        if (batch_ready(q) == -1)
            return run_failed(q);
        q->open = true;
        return 0;
    }
    if (pipe2(pm, O_CLOEXEC) == -1)
        return run_failed(q);
    if (pipe2(pe, O_CLOEXEC) == -1) {
        close(pm[0]);
        close(pm[1]);
        return run_failed(q);
    }
    if (spawn(q, pm[0], pe[0], false) == -1 || nonblock(q, pm[1]) == -1 ||
        nonblock(q, pe[1]) == -1) {
        int e = errno;
        close(pm[0]);
        close(pm[1]);
        close(pe[0]);
        close(pe[1]);
        if (q->pid > 0) {
            child_exit(q, q->pid);
            q->pid = -1;
        }
        said_close(q);
        errno = e;
        return run_failed(q);
    }
    close(pm[0]);
    close(pe[0]);
    q->msgfd = pm[1];
    q->envfd = pe[1];
    iob_init(&q->out, q->msgfd, q->buf, sizeof q->buf, pipe_write, q);
    q->open = true;
    return 0;
}

void
qq_put(struct qq *q, const void *p, size_t n)
{
    const char *c = p;

    if (q->err)
        return;
    q->bytes += n;
    if (q->inenv) {
        if (bstr_catb(&q->env, p, n) == -1)
            q->err = true;
        return;
    }
    if (!q->batch) {
        if (iob_put(&q->out, p, n) == -1)
            q->err = true;
        return;
    }
    while (n) {
        size_t room = sizeof q->buf - q->fill;

        if (room == 0) {
            frame(q, 'D', q->buf, q->fill);
            q->fill = 0;
            room = sizeof q->buf;
        }
        if (room > n)
            room = n;
        memcpy(q->buf + q->fill, c, room);
        q->fill += room;
        c += room;
        n -= room;
    }
}

void
qq_puts(struct qq *q, const char *s)
{
    qq_put(q, s, strlen(s));
}

/* qq_from - end the message and start the envelope with the sender. */
void
qq_from(struct qq *q, const char *sender, size_t len)
{
    if (q->batch) {
        if (q->fill)
            frame(q, 'D', q->buf, q->fill);
        q->fill = 0;
    } else {
        if (!q->err && iob_flush(&q->out) == -1)
            q->err = true;
        close(q->msgfd);
        q->msgfd = -1;
        iob_init(&q->out, q->envfd, q->buf, sizeof q->buf, pipe_write, q);
    }
    q->inenv = q->batch; /* batch: the envelope is one frame, built here */
    qq_put(q, "F", 1);
    qq_put(q, sender, len);
    qq_put(q, "", 1);
}

void
qq_to(struct qq *q, const char *rcpt, size_t len)
{
    qq_put(q, "T", 1);
    qq_put(q, rcpt, len);
    qq_put(q, "", 1);
}

/*
 * qq_close - finish the envelope and get the verdict: qmail-queue's exit
 * code for this message (0 is success), or a temporary code when our
 * side failed to hand everything over.
 */
int
qq_close(struct qq *q)
{
    int code;

    qq_put(q, "", 1);
    q->open = false;
    if (q->batch) {
        unsigned char c;
        ssize_t r;

        frame(q, 'E', q->env.s, q->env.len);
        if (q->err) {
            /* It went away: its own exit code says why (a qmail-queue
             * that could not reach the queue exits 61 or 62 at once). */
            code = batch_dead(q);
            return code ? code : QQ_WRITE;
        }
        for (;;) {
            r = read(q->sock, &c, 1);
            if (r == -1 && errno == EINTR)
                continue;
            if (r == -1 && errno == EAGAIN && await(q, q->sock, POLLIN) == 0)
                continue;
            break;
        }
        if (r != 1) {
            /* it died before answering: nothing we can call success */
            code = batch_dead(q);
            return code ? code : QQ_BUG;
        }
        said_drain(q); /* written before the answer: all there now */
        return c;
    }
    if (!q->err && iob_flush(&q->out) == -1)
        q->err = true;
    if (q->msgfd != -1)
        close(q->msgfd);
    close(q->envfd);
    q->msgfd = q->envfd = -1;
    code = child_exit(q, q->pid);
    said_close(q);
    q->pid = -1;
    if (code == 0 && q->err)
        return QQ_WRITE; /* we could not hand over everything */
    return code;
}

/* qq_abort - make qmail-queue forget the message before it commits. */
void
qq_abort(struct qq *q)
{
    if (!q->open)
        return;
    q->open = false;
    if (q->batch) {
        q->fill = 0;
        q->err = false;
        frame(q, 'A', NULL, 0);
        if (q->err)
            batch_dead(q);
        return;
    }
    if (q->msgfd != -1)
        close(q->msgfd);
    if (q->envfd != -1)
        close(q->envfd);
    q->msgfd = q->envfd = -1;
    if (q->pid > 0) {
        /* With both pipes closed early, qmail-queue reads a short
         * envelope, removes its files and exits without committing.
         * It is not killed: a signal would stop that cleanup. */
        child_exit(q, q->pid);
        q->pid = -1;
    }
    said_close(q);
}

/* qq_end - the session is over: let a resident qmail-queue go. */
void
qq_end(struct qq *q)
{
    qq_abort(q);
    if (q->batch)
        batch_dead(q);
    said_close(q);
    bstr_free(&q->env);
}
