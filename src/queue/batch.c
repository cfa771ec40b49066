/* SPDX-License-Identifier: ISC */
/*
 * batch - the frame loop of qmail-queue -m (see batch.h).
 *
 * One message at a time: IDLE until a 'D' or 'E' frame starts one, then
 * OPEN while its bytes are written, or FAILED when a step failed (the
 * files are gone, the rest of its frames are read and dropped, and the
 * failure code is the answer at its 'E').
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "iob.h"
#include "outcome.h"

#define QUEUE_TIMEOUT 86400

enum { IDLE, OPEN, FAILED };

struct batch {
    struct enqueue *e;
    struct iob in;
    int state;
    int code;
    batch_received_fn received;
    struct bstr scratch;
    char buf[65536];
};

/* read_exact - n bytes into out: 1, 0 at end of file before the first
 * byte, -1 on error or at end of file after some of them (EPROTO). */
static int
read_exact(struct iob *in, void *out, size_t n)
{
    char *p = out;
    bool some = false;

    while (n) {
        ssize_t r = iob_get(in, p, n);

        if (r == 0 && some)
            errno = EPROTO;
        if (r <= 0)
            return r == 0 && some ? -1 : (int)r;
        some = true;
        p += r;
        n -= (size_t)r;
    }
    return 1;
}

static int
answer(int code)
{
    unsigned char c = (unsigned char)code;

    for (;;) {
        ssize_t w = write(0, &c, 1);
        if (w == 1)
            return 0;
        if (w == -1 && errno == EINTR)
            continue;
        return -1;
    }
}

/*
 * fail - the message failed: one stderr line saying why, written before
 * the answer byte so that the caller finds it when the answer comes
 * (qq.c reads it then), and nothing left in the queue.
 */
static void
fail(struct batch *b, int code)
{
    enqueue_report(b->e);
    enqueue_close(b->e);
    enqueue_cleanup(b->e);
    b->state = FAILED;
    b->code = code;
}

/* start - a new message: pick its number, write the Received line. */
static void
start(struct batch *b)
{
    struct enqueue *e = b->e;
    const char *extra = e->extra; /* a setting, kept across messages */
    time_t now = time(NULL);
    int code;

    alarm(QUEUE_TIMEOUT);
    enqueue_init(e, e->uid, e->pid, now);
    e->extra = extra;
    b->state = OPEN;
    b->code = 0;
    if ((code = enqueue_begin(e)) != 0) {
        fail(b, code);
        return;
    }
    if (b->received(&b->scratch, e->pid, now) == -1) {
        fail(b, enqueue_fail(e, QQ_NOMEM, 0, "out of memory"));
        return;
    }
    if ((code = enqueue_write(e, b->scratch.s, b->scratch.len)) != 0)
        fail(b, code);
}

/* pass - copy (or, once failed, drop) a 'D' payload of len bytes. */
static int
pass(struct batch *b, uint32_t len)
{
    while (len) {
        size_t n = len < sizeof b->buf ? len : sizeof b->buf;
        int r = read_exact(&b->in, b->buf, n);
        int code;

        if (r <= 0)
            return -1;
        if (b->state == OPEN &&
            (code = enqueue_write(b->e, b->buf, n)) != 0)
            fail(b, code);
        len -= (uint32_t)n;
    }
    return 0;
}

/* finish - an 'E' frame: the envelope, the commit, the answer. */
static int
finish(struct batch *b, uint32_t len)
{
    int code = b->code;

    if (bstr_ready(&b->scratch, len) == -1)
        return -1;
    if (read_exact(&b->in, b->scratch.s, len) <= 0)
        return -1;
    if (b->state == OPEN) {
        code = enqueue_envelope_buf(b->e, b->scratch.s, len);
        if (code == 0)
            code = enqueue_commit(b->e);
        if (code != 0 && !b->e->committed)
            fail(b, code);
        else if (code != 0)
            enqueue_report(b->e); /* queued, but not known to be durable */
        enqueue_close(b->e);
    }
    alarm(0);
    b->state = IDLE;
    return answer(code);
}

/*
 * batch_run - serve frames on fd 0 until end of file.  Returns the exit
 * code for the whole process: 0 at a clean end, else qmail-queue's codes.
 */
int
batch_run(struct enqueue *e, batch_received_fn received)
{
    static struct batch b;
    static char inbuf[65536];
    unsigned char hdr[5];

    memset(&b, 0, sizeof b);
    b.e = e;
    b.received = received;
    b.state = IDLE;
    iob_init(&b.in, 0, inbuf, sizeof inbuf, NULL, NULL);
    for (;;) {
        uint32_t len;
        int r = read_exact(&b.in, hdr, sizeof hdr);

        if (r == 0 && b.state == IDLE)
            return 0;
        if (r == -1 && errno == EPROTO && b.state == IDLE)
            goto bad; /* a frame cut short is no end of the batch */
        if (r <= 0)
            goto abort;
        len = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 |
              (uint32_t)hdr[3] << 8 | hdr[4];
        switch (hdr[0]) {
        case 'D':
            if (len > BATCH_FRAME_MAX)
                goto bad;
            if (b.state == IDLE)
                start(&b);
            if (pass(&b, len) == -1)
                goto abort;
            break;
        case 'E':
            if (len > BATCH_ENVELOPE_MAX)
                goto bad;
            if (b.state == IDLE)
                start(&b);
            if (finish(&b, len) == -1)
                goto abort;
            break;
        case 'A':
            if (len != 0)
                goto bad;
            if (b.state == OPEN) {
                enqueue_close(e);
                enqueue_cleanup(e);
            }
            alarm(0);
            b.state = IDLE;
            break;
        default:
            goto bad;
        }
    }
bad:
    enqueue_close(e);
    enqueue_cleanup(e);
    e->why[0] = '\0';
    enqueue_fail(e, QQ_ENVELOPE, 0, "a malformed batch frame (type 0x%02x)",
                 hdr[0]);
    enqueue_report(e);
    return QQ_ENVELOPE;
abort:
    enqueue_close(e);
    enqueue_cleanup(e);
    return QQ_READ;
}
