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
#include <signal.h>
#include <spawn.h>
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
    q->msgfd = q->envfd = q->sock = -1;
    q->env = empty;
}

static int
reap(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return QQ_BUG;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return QQ_BUG; /* a crash is temporary, never success */
}

static int
spawn(struct qq *q, int fd0, int fd1, bool many)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none;
    char *argv[3];
    int e;

    argv[0] = (char *)q->prog;
    argv[1] = many ? (char *)"-m" : NULL;
    argv[2] = NULL;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    if (posix_spawnattr_init(&at) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
    e = posix_spawn_file_actions_adddup2(&fa, fd0, 0);
    if (!e)
        e = posix_spawn_file_actions_adddup2(&fa, fd1, 1);
    if (!e)
        e = posix_spawn(&q->pid, q->prog, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e) {
        q->pid = -1;
        errno = e;
        return -1;
    }
    return 0;
}

static void
batch_dead(struct qq *q)
{
    if (q->sock != -1)
        close(q->sock);
    q->sock = -1;
    if (q->pid > 0)
        reap(q->pid);
    q->pid = -1;
}

/* batch_ready - is the resident qmail-queue still there? Start one if not. */
static int
batch_ready(struct qq *q)
{
    int sv[2];

    if (q->pid > 0) {
        int st;
        pid_t r = waitpid(q->pid, &st, WNOHANG);

        if (r == 0)
            return 0;
        q->pid = -1; /* it went away between messages: start another */
        close(q->sock);
        q->sock = -1;
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
    return 0;
}

static int
write_all(int fd, const struct iovec *iov, int n)
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
    if (write_all(q->sock, v, n ? 2 : 1) == -1)
        q->err = true;
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
    bstr_truncate(&q->env, 0);
    if (q->batch) {
        if (batch_ready(q) == -1)
            return -1;
        q->open = true;
        return 0;
    }
    if (pipe2(pm, O_CLOEXEC) == -1)
        return -1;
    if (pipe2(pe, O_CLOEXEC) == -1) {
        close(pm[0]);
        close(pm[1]);
        return -1;
    }
    if (spawn(q, pm[0], pe[0], false) == -1) {
        int e = errno;
        close(pm[0]);
        close(pm[1]);
        close(pe[0]);
        close(pe[1]);
        errno = e;
        return -1;
    }
    close(pm[0]);
    close(pe[0]);
    q->msgfd = pm[1];
    q->envfd = pe[1];
    iob_init(&q->out, q->msgfd, q->buf, sizeof q->buf, NULL, NULL);
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
        iob_init(&q->out, q->envfd, q->buf, sizeof q->buf, NULL, NULL);
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
            batch_dead(q);
            return QQ_WRITE;
        }
        do
            r = read(q->sock, &c, 1);
        while (r == -1 && errno == EINTR);
        if (r != 1) {
            /* it died before answering: nothing we can call success */
            batch_dead(q);
            return QQ_BUG;
        }
        return c;
    }
    if (!q->err && iob_flush(&q->out) == -1)
        q->err = true;
    if (q->msgfd != -1)
        close(q->msgfd);
    close(q->envfd);
    q->msgfd = q->envfd = -1;
    code = reap(q->pid);
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
        reap(q->pid);
        q->pid = -1;
    }
}

/* qq_end - the session is over: let a resident qmail-queue go. */
void
qq_end(struct qq *q)
{
    qq_abort(q);
    if (q->batch)
        batch_dead(q);
    bstr_free(&q->env);
}
