/* SPDX-License-Identifier: ISC */
/*
 * fuzz_qenv - the envelope parser the setuid qmail-queue runs on its
 * caller's fd 1.  Byte 0 picks a chunk size, byte 1 the address limit
 * (small ones reach QENV_TOOLONG; most inputs get qmail-queue's 1003);
 * the rest is parsed twice, as src/queue/enqueue.c does: in chunks
 * (enqueue_envelope reading a pipe) and in one piece
 * (enqueue_envelope_buf).  Properties: both give the same events and
 * items; no item holds a NUL or exceeds the limit; *used never passes
 * the input and a whole envelope re-encodes to exactly the bytes it was
 * parsed from; once ended or refused, the parser keeps its verdict and
 * consumes nothing more.  Any broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bstr.h"
#include "qenv.h"

#define EVENTS_MAX 4096

struct trace {
    int ev[EVENTS_MAX];
    size_t n;
    int last;           /* the verdict that stopped the parse */
    size_t consumed;    /* input used up to and including it */
    struct bstr items;  /* each item followed by a NUL */
    struct bstr encoded; /* the items re-encoded as an envelope */
};

static void
must(int cond)
{
    if (!cond)
        abort();
}

/* note - record one event; 0 to go on, -1 when out of memory (stop). */
static int
note(struct trace *t, const struct qenv *p, int ev)
{
    must(p->item.len <= p->max);
    must(p->item.len == 0 || !memchr(p->item.s, '\0', p->item.len));
    if (t->n < EVENTS_MAX)
        t->ev[t->n++] = ev;
    if (bstr_catb(&t->items, p->item.s, p->item.len) == -1 ||
        bstr_catc(&t->items, '\0') == -1 ||
        bstr_catc(&t->encoded, ev == QENV_SENDER ? 'F' : 'T') == -1 ||
        bstr_catb(&t->encoded, p->item.s, p->item.len) == -1 ||
        bstr_catc(&t->encoded, '\0') == -1)
        return -1;
    return 0;
}

/*
 * run - parse in chunks of chunk bytes, handing each chunk to the parser
 * until it asks for more, the way enqueue_envelope loops over read().
 * t starts zeroed; 0 when the parse ran, -1 when memory ran out.
 */
static int
run(struct trace *t, const char *in, size_t n, size_t chunk, size_t max)
{
    struct qenv p;
    size_t off = 0;
    int ev = QENV_MORE;

    qenv_init(&p, max);
    while (off < n) {
        size_t end = n - off < chunk ? n : off + chunk;

        while (off < end) {
            size_t used;

            ev = qenv_push(&p, in + off, end - off, &used);
            must(used <= end - off);
            off += used;
            if (ev == QENV_SENDER || ev == QENV_RCPT) {
                must(used > 0);
                must(t->n > 0 || ev == QENV_SENDER);
                if (note(t, &p, ev) == -1) {
                    qenv_free(&p);
                    return -1;
                }
                continue;
            }
            if (ev == QENV_MORE)
                must(off == end);
            break;
        }
        if (ev != QENV_MORE && ev != QENV_SENDER && ev != QENV_RCPT)
            break;
    }
    t->last = ev;
    t->consumed = off;
    if (ev == QENV_NOMEM) {
        qenv_free(&p);
        return -1;
    }
    if (ev == QENV_END) {
        /* the envelope is exactly its records and the final NUL */
        must(t->n >= 1 && t->ev[0] == QENV_SENDER);
        must(bstr_catc(&t->encoded, '\0') == 0);
        must(t->encoded.len == off && !memcmp(t->encoded.s, in, off));
    }
    if (ev == QENV_END || ev == QENV_FORMAT || ev == QENV_TOOLONG) {
        size_t used = 1;

        /* a finished parser consumes nothing and repeats its verdict */
        must(qenv_push(&p, "FT\0", 3, &used) == ev && used == 0);
        must(qenv_push(&p, "", 0, &used) == ev && used == 0);
    }
    if (ev == QENV_TOOLONG)
        must(p.item.len == max);
    qenv_free(&p);
    return 0;
}

static void
trace_free(struct trace *t)
{
    bstr_free(&t->items);
    bstr_free(&t->encoded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace a, b;
    const char *in = (const char *)data + 2;
    size_t n, chunk, max;

    if (size < 2)
        return 0;
    n = size - 2;
    chunk = (size_t)(data[0] % 32) + 1;
    max = data[1] < 32 ? (size_t)data[1] : 1003;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (run(&a, in, n, chunk, max) == 0 && run(&b, in, n, n ? n : 1, max) == 0) {
        must(a.last == b.last && a.consumed == b.consumed);
        must(a.n == b.n && !memcmp(a.ev, b.ev, a.n * sizeof a.ev[0]));
        must(a.items.len == b.items.len &&
             (a.items.len == 0 || !memcmp(a.items.s, b.items.s, a.items.len)));
    }
    trace_free(&a);
    trace_free(&b);
    return 0;
}
