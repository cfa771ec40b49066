/* SPDX-License-Identifier: ISC */
/*
 * iob - buffered I/O with per-operation deadlines (see iob.h).
 *
 * The timeout is per read or write, as qmail's timeoutread: a client
 * that trickles one byte a minute is not cut off by a 20-minute limit,
 * but one that stops for 20 minutes is.  The deadline is what bounds the
 * trickler: the caller sets one for a whole command line or message.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "datetime.h"
#include "iob.h"

/*
 * iob_poll - wait until fd is ready for events, at most timeout_ms (-1:
 * for ever).  Returns 0, or -1 with errno (ETIMEDOUT).  Also the wait of
 * ops that are not plain reads and writes (tls).
 */
int
iob_poll(int fd, short events, int timeout_ms)
{
    struct pollfd p;
    int r;

    p.fd = fd;
    p.events = events;
    for (;;) {
        p.revents = 0;
        r = poll(&p, 1, timeout_ms);
        if (r > 0)
            return 0;
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

ssize_t
iob_fdread(void *ctx, int fd, void *buf, size_t n, int timeout_ms)
{
    ssize_t r;

    (void)ctx;
    for (;;) {
        if (iob_poll(fd, POLLIN, timeout_ms) == -1)
            return -1;
        r = read(fd, buf, n);
        if (r >= 0 || (errno != EINTR && errno != EAGAIN))
            return r;
    }
}

ssize_t
iob_fdwrite(void *ctx, int fd, void *buf, size_t n, int timeout_ms)
{
    ssize_t r;

    (void)ctx;
    for (;;) {
        if (iob_poll(fd, POLLOUT, timeout_ms) == -1)
            return -1;
        r = write(fd, buf, n);
        if (r >= 0 || (errno != EINTR && errno != EAGAIN))
            return r;
    }
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
    return b->deadline && datetime_mono_ms() >= b->deadline;
}

/*
 * iob_limit - how long the next wait may be: timeout_ms (-1: none), cut
 * to what is left before deadline (datetime_mono_ms() time, 0: none).
 * Returns 0 with *ms set, or -1 with ETIMEDOUT once the deadline passed.
 */
int
iob_limit(int timeout_ms, long long deadline, int *ms)
{
    long long left;

    *ms = timeout_ms;
    if (!deadline)
        return 0;
    left = deadline - datetime_mono_ms();
    if (left <= 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    if (left > INT_MAX)
        left = INT_MAX;
    if (*ms < 0 || left < *ms)
        *ms = (int)left;
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
