/* SPDX-License-Identifier: ISC */
/* test_qenv - the envelope push parser, fed whole and byte by byte. */
#include <stdio.h>
#include <string.h>
#include "harness.h"
#include "qenv.h"

struct run {
    int events[16];
    char items[16][64];
    int n;
};

/* feed - push input in chunks of `chunk` bytes, recording events. */
static void
feed(const char *in, size_t len, size_t chunk, size_t max, struct run *r)
{
    struct qenv p;
    size_t off = 0;

    qenv_init(&p, max);
    r->n = 0;
    while (off < len && r->n < 16) {
        size_t n = len - off < chunk ? len - off : chunk, used, done = 0;
        while (done < n && r->n < 16) {
            int ev = qenv_push(&p, in + off + done, n - done, &used);
            done += used;
            if (ev == QENV_MORE)
                break;
            snprintf(r->items[r->n], 64, "%.*s", (int)p.item.len,
                     p.item.s ? p.item.s : "");
            r->events[r->n++] = ev;
            if (ev != QENV_SENDER && ev != QENV_RCPT)
                goto out;
        }
        off += n;
    }
out:
    qenv_free(&p);
}

static void
t_good(void)
{
    static const char env[] = "Fa@b\0Tc@d\0Te@f\0";
    size_t len = sizeof env; /* includes the final NUL */

    for (size_t chunk = 1; chunk <= len; chunk++) {
        struct run r;

        feed(env, len, chunk, 100, &r);
        CHECK_INT(r.n, 4);
        CHECK_INT(r.events[0], QENV_SENDER);
        CHECK_STR(r.items[0], "a@b");
        CHECK_INT(r.events[1], QENV_RCPT);
        CHECK_STR(r.items[1], "c@d");
        CHECK_STR(r.items[2], "e@f");
        CHECK_INT(r.events[3], QENV_END);
    }
}

static void
t_bounce_sender(void)
{
    static const char env[] = "F\0Tx@y\0";
    struct run r;

    feed(env, sizeof env, 3, 100, &r);
    CHECK_INT(r.events[0], QENV_SENDER);
    CHECK_STR(r.items[0], "");
    CHECK_INT(r.events[2], QENV_END);
}

static void
t_bad(void)
{
    struct run r;

    feed("Xa\0\0", 4, 4, 100, &r);
    CHECK_INT(r.events[0], QENV_FORMAT);
    feed("Fa\0Xb\0\0", 7, 7, 100, &r);
    CHECK_INT(r.events[1], QENV_FORMAT);
    feed("Faaaaaaaaaa\0\0", 13, 13, 5, &r);
    CHECK_INT(r.events[0], QENV_TOOLONG);
}

/* An address of exactly the limit passes; one byte more does not. */
static void
t_limit_edge(void)
{
    struct run r;

    feed("Fabcde\0Tvwxyz\0\0", 15, 1, 5, &r);
    CHECK_INT(r.n, 3);
    CHECK_STR(r.items[0], "abcde");
    CHECK_STR(r.items[1], "vwxyz");
    CHECK_INT(r.events[2], QENV_END);
    feed("Fa\0Tvwxyz!\0\0", 13, 2, 5, &r);
    CHECK_INT(r.n, 2);
    CHECK_INT(r.events[1], QENV_TOOLONG);
}

/*
 * Hostile callers of qmail-queue: a megabyte without a NUL stops at the
 * limit having consumed only limit + 2 bytes, and the parser keeps its
 * verdict; bytes after the end are not consumed (enqueue.c refuses
 * them); CR, LF and control bytes inside an address are the caller's
 * business (qmail-1.03 queues them too) and come out unchanged.
 */
static void
t_hostile(void)
{
    static char big[1 << 20];
    struct qenv p;
    size_t used;

    memset(big, 'x', sizeof big);
    big[0] = 'F';
    qenv_init(&p, 1003);
    CHECK_INT(qenv_push(&p, big, sizeof big, &used), QENV_TOOLONG);
    CHECK_INT(used, 1003 + 2);
    CHECK_INT(qenv_push(&p, big, sizeof big, &used), QENV_TOOLONG);
    CHECK_INT(used, 0);
    qenv_free(&p);

    qenv_init(&p, 1003);
    CHECK_INT(qenv_push(&p, "F\0\0Tjunk\0", 10, &used), QENV_SENDER);
    CHECK_INT(used, 2);
    CHECK_INT(qenv_push(&p, "\0Tjunk\0", 8, &used), QENV_END);
    CHECK_INT(used, 1);
    CHECK_INT(qenv_push(&p, "Tjunk\0", 7, &used), QENV_END);
    CHECK_INT(used, 0);
    qenv_free(&p);

    qenv_init(&p, 1003);
    CHECK_INT(qenv_push(&p, "Fa\r\n\x01\x7f\xff\0", 8, &used), QENV_SENDER);
    CHECK(harness_check_mem(p.item.s, p.item.len, "a\r\n\x01\x7f\xff", 6,
                            "item", __FILE__, __LINE__));
    qenv_free(&p);
}

static const struct test_case tests[] = {
    {"envelope in every chunking", t_good},
    {"empty sender (bounce)", t_bounce_sender},
    {"format errors and long addresses", t_bad},
    {"address limit: exactly, and one over", t_limit_edge},
    {"hostile input: no NUL, bytes after the end, control bytes", t_hostile},
};

TEST_MAIN(tests)
