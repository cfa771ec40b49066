/* SPDX-License-Identifier: ISC */
/* test_qenv - the envelope push parser, fed whole and byte by byte. */
#include <stdio.h>
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

static const struct test_case tests[] = {
    {"envelope in every chunking", t_good},
    {"empty sender (bounce)", t_bounce_sender},
    {"format errors and long addresses", t_bad},
};

TEST_MAIN(tests)
