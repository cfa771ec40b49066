/* SPDX-License-Identifier: ISC */
/*
 * iob - buffered I/O with per-operation deadlines (see iob.h).
 *
 * The timeout is an idle limit, as qmail's timeoutread: at the start of
 * each read or write it becomes a deadline (now + timeout, or the
 * caller's deadline when that comes first), and the op waits against
 * it, so interruptions never extend it.  A client that trickles one
 * byte a minute is not cut off by a 20-minute limit, but one that stops
 * for 20 minutes is.  The caller's deadline is what bounds the trickler:
 * it is set for a whole command line or message.  All waiting is
 * deadline.c's.
 */
#include <errno.h>
#include <string.h>

#include "deadline.h"
#include "iob.h"

/*
 * iob_poll - wait until fd is ready for events, at most timeout_ms (-1:
 * for ever), however many signals arrive meanwhile.  Returns 0, or -1
 * with errno (ETIMEDOUT).  Also the wait of ops that are not plain reads
 * and writes (tls).
 */
int
iob_poll(int fd, short events, int timeout_ms)
{
    return deadline_wait(fd, events, deadline_in(timeout_ms));
}

/*
 * iob_fdread, iob_fdwrite - the default ops: one read or write, the
 * timeout turned into a deadline when the call starts, so that EINTR or
 * a readiness that comes to nothing (EAGAIN) does not wait it again.
 */
ssize_t
iob_fdread(void *ctx, int fd, void *buf, size_t n, int timeout_ms)
{
    (void)ctx;
    return deadline_read(fd, buf, n, deadline_in(timeout_ms));
}

ssize_t
iob_fdwrite(void *ctx, int fd, void *buf, size_t n, int timeout_ms)
{
    (void)ctx;
    return deadline_write(fd, buf, n, deadline_in(timeout_ms));
}

/*
 * iob_sockread, iob_sockwrite - the same for a socket, tried before any
 * wait (recv/send with MSG_DONTWAIT): on a busy connection most reads and
 * writes then cost one system call instead of two.
 */
ssize_t
iob_sockread(void *ctx, int fd, void *buf, size_t n, int timeout_ms)
{
    (void)ctx;
    return deadline_recv(fd, buf, n, deadline_in(timeout_ms));
}

ssize_t
iob_sockwrite(void *ctx, int fd, void *buf, size_t n, int timeout_ms)
{
    (void)ctx;
    return deadline_send(fd, buf, n, deadline_in(timeout_ms));
}

/* iob_init - set up a buffer; op NULL picks plain fd reads or writes later. */
void
iob_init(struct iob *b, int fd, char *buf, size_t cap, iob_op op, void *ctx)
{
    b->fd = fd;
    b->buf = buf;
    b->cap = cap;
    b->pos = b->len = 0;
    b->timeout_ms = -1;
    b->deadline = 0;
    b->op = op;
    b->ctx = ctx;
}

/* iob_settimeout - per-operation limit; 0 means wait forever. */
void
iob_settimeout(struct iob *b, unsigned seconds)
{
    if (seconds == 0 || seconds > 86400u * 24)
        b->timeout_ms = -1;
    else
        b->timeout_ms = (int)(seconds * 1000u);
}

/*
 * iob_setdeadline - from now on no operation waits past mono_ms (a
 * datetime_mono_ms() time); 0 removes the deadline.
 */
void
iob_setdeadline(struct iob *b, long long mono_ms)
{
    b->deadline = mono_ms;
}

/* iob_expired - a deadline is set and has passed. */
bool
iob_expired(const struct iob *b)
{
    return deadline_passed(b->deadline);
}

/*
 * iob_limit - how long the next wait may be: timeout_ms (-1: none), cut
 * to what is left before deadline (datetime_mono_ms() time, 0: none).
 * Returns 0 with *ms set, or -1 with ETIMEDOUT once the deadline passed.
 */
int
iob_limit(int timeout_ms, long long deadline, int *ms)
{
    int left;

    if (deadline_ms(deadline, &left) == -1)
        return -1;
    *ms = timeout_ms;
    if (left >= 0 && (timeout_ms < 0 || left < timeout_ms))
        *ms = left;
    return 0;
}

/*
 * iob_fill - make sure input is buffered.
 * Returns the number of buffered bytes, 0 at end of file, -1 on error
 * (ETIMEDOUT when the deadline passed).
 */
ssize_t
iob_fill(struct iob *b)
{
    ssize_t r;
    int ms;

    if (b->pos < b->len)
        return (ssize_t)(b->len - b->pos);
    b->pos = b->len = 0;
    if (iob_limit(b->timeout_ms, b->deadline, &ms) == -1)
        return -1;
    r = (b->op ? b->op : iob_fdread)(b->ctx, b->fd, b->buf, b->cap, ms);
    if (r <= 0)
        return r;
    b->len = (size_t)r;
    return r;
}

/* iob_buffered - input bytes already read from the fd but not consumed. */
size_t
iob_buffered(const struct iob *b)
{
    return b->len - b->pos;
}

const char *
iob_peek(const struct iob *b)
{
    return b->buf + b->pos;
}

void
iob_skip(struct iob *b, size_t n)
{
    if (n > b->len - b->pos)
        n = b->len - b->pos;
    b->pos += n;
}

/* iob_get - read up to n bytes: >0 bytes read, 0 end of file, -1 error. */
ssize_t
iob_get(struct iob *b, void *out, size_t n)
{
    ssize_t r = iob_fill(b);

    if (r <= 0)
        return r;
    if ((size_t)r > n)
        r = (ssize_t)n;
    memcpy(out, b->buf + b->pos, (size_t)r);
    b->pos += (size_t)r;
    return r;
}

/*
 * iob_getline - read one line, including its '\n', into line (replaced).
 * Returns IOB_LINE, IOB_LONG when the line was longer than max (line
 * holds its first max bytes; the rest up to '\n' was dropped), IOB_EOF
 * at end of file (line holds any unterminated tail), -1 on error.
 */
int
iob_getline(struct iob *b, struct bstr *line, size_t max)
{
    bool toolong = false;

    line->len = 0;
    if (line->s)
        line->s[0] = '\0';
    for (;;) {
        ssize_t r = iob_fill(b);
        const char *p, *nl;
        size_t n, take;

        if (r < 0)
            return -1;
        if (r == 0)
            return IOB_EOF;
        p = b->buf + b->pos;
        nl = memchr(p, '\n', (size_t)r);
        n = nl ? (size_t)(nl - p) + 1 : (size_t)r;
        take = n;
        if (line->len + take > max) {
            take = max > line->len ? max - line->len : 0;
            toolong = true;
        }
        if (take && bstr_catb(line, p, take) == -1)
            return -1;
        b->pos += n;
        if (nl)
            return toolong ? IOB_LONG : IOB_LINE;
    }
}

/* iob_flush - write out everything pending: 0, or -1 on error. */
int
iob_flush(struct iob *b)
{
    size_t done = 0;

    while (done < b->len) {
        ssize_t w;
        int ms;

        if (iob_limit(b->timeout_ms, b->deadline, &ms) == -1)
            return -1;
        w = (b->op ? b->op : iob_fdwrite)(b->ctx, b->fd, b->buf + done,
                                          b->len - done, ms);
        if (w <= 0) {
            if (w == 0)
                errno = EPIPE;
            return -1;
        }
        done += (size_t)w;
    }
    b->len = 0;
    return 0;
}

int
iob_put(struct iob *b, const void *p, size_t n)
{
    const char *c = p;

    while (n) {
        size_t room;

        if (b->len == b->cap && iob_flush(b) == -1)
            return -1;
        room = b->cap - b->len;
        if (room > n)
            room = n;
        memcpy(b->buf + b->len, c, room);
        b->len += room;
        c += room;
        n -= room;
    }
    return 0;
}

int
iob_puts(struct iob *b, const char *s)
{
    return iob_put(b, s, strlen(s));
}
