/* SPDX-License-Identifier: ISC */
/* test_spawnproto - qmail-send <-> spawner records, fed in every chunking. */
#include <string.h>

#include "harness.h"
#include "nulrec.h"
#include "spawnproto.h"

static void
t_request_roundtrip(void)
{
    struct bstr out = BSTR_INIT, rcpts = BSTR_INIT;

    CHECK(bstr_catb(&rcpts, "a@x.test\0b@x.test\0", 18) == 0);
    CHECK(spawnproto_request(&out, 3, 123456, "s@y.test", 8, &rcpts, 2) == 0);
    CHECK(spawnproto_request(&out, 4, 7, "", 0, &rcpts, 1) == 0);
    for (size_t chunk = 1; chunk <= out.len; chunk++) {
        struct spawn_reqparser p;
        size_t off = 0, used;
        int got = 0;

        spawnproto_req_init(&p);
        while (off < out.len) {
            size_t n = out.len - off < chunk ? out.len - off : chunk;
            size_t done = 0;

            while (done < n) {
                int ev = spawnproto_req_push(&p, out.s + off + done, n - done,
                                             &used);
                done += used;
                if (ev == SPAWNPROTO_REQUEST) {
                    got++;
                    if (got == 1) {
                        CHECK_INT(p.req.slot, 3);
                        CHECK(p.req.msgid == 123456);
                        CHECK_BSTR(p.req.sender, "s@y.test");
                        CHECK_INT(p.req.nrcpt, 2);
                        CHECK(p.req.rcpts.len == 18 &&
                              memcmp(p.req.rcpts.s, "a@x.test\0b@x.test\0",
                                     18) == 0);
                    } else {
                        CHECK_INT(p.req.slot, 4);
                        CHECK_BSTR(p.req.sender, "");
                        CHECK_INT(p.req.nrcpt, 1);
                    }
                } else {
                    CHECK_INT(ev, SPAWNPROTO_MORE);
                }
            }
            off += n;
        }
        CHECK_INT(got, 2);
        spawnproto_req_free(&p);
    }
    bstr_free(&out);
    bstr_free(&rcpts);
}

static void
t_report_roundtrip(void)
{
    struct bstr out = BSTR_INIT;
    struct spawn_repparser p;
    size_t off = 0, used;
    int got = 0;

    CHECK(spawnproto_report_start(&out, 9) == 0);
    CHECK(spawnproto_report_rcpt(&out, 'r', "ok", 2) == 0);
    CHECK(spawnproto_report_rcpt(&out, 'h', "no such user", 12) == 0);
    CHECK(spawnproto_report_end(&out, 'K', "did 0+0+1\n", 10) == 0);
    CHECK(spawnproto_report_start(&out, 2) == 0);
    CHECK(spawnproto_report_end(&out, 'Z', "", 0) == 0);
    CHECK(spawnproto_report_rcpt(&out, 'x', "", 0) == -1);
    spawnproto_rep_init(&p);
    while (off < out.len) {
        int ev = spawnproto_rep_push(&p, out.s + off, 1, &used);
        off += used;
        if (ev == SPAWNPROTO_REPORT) {
            got++;
            if (got == 1) {
                CHECK_INT(p.rep.slot, 9);
                CHECK_BSTR(p.rep.codes, "rh");
                CHECK(p.rep.texts.len == 16 &&
                      memcmp(p.rep.texts.s, "ok\0no such user\0", 16) == 0);
                CHECK_INT(p.rep.final, 'K');
                CHECK_BSTR(p.rep.text, "did 0+0+1\n");
            } else {
                CHECK_INT(p.rep.slot, 2);
                CHECK_INT(p.rep.codes.len, 0);
                CHECK_INT(p.rep.final, 'Z');
            }
        }
    }
    CHECK_INT(got, 2);
    spawnproto_rep_free(&p);
    bstr_free(&out);
}

static void
t_bad_input(void)
{
    static const struct {
        const char *in;
        size_t len;
    } bad[] = {
        {"x\0", 2},                 /* slot not a number */
        {"1\0abc\0", 6},            /* msgid not a number */
        {"1\0" "2\0s\0\0", 8},      /* no recipient */
        {"99999\0", 6},             /* slot too big */
        {"65536\0", 6},             /* one over the largest slot */
        {"-1\0", 3},                /* no sign */
        {" 1\0", 3},                /* no space */
        {"1\0+2\0", 6},            /* no sign in msgid either */
        {"1\0" "18446744073709551616\0", 23}, /* msgid overflows */
        {"1\0" "000000000000000000001\0", 24}, /* 21 digits */
        {"\0", 1},                  /* empty slot */
        {"1\0\0", 3},              /* empty msgid */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct spawn_reqparser p;
        size_t used, off = 0;
        int ev = SPAWNPROTO_MORE;

        spawnproto_req_init(&p);
        while (off < bad[i].len && ev == SPAWNPROTO_MORE) {
            ev = spawnproto_req_push(&p, bad[i].in + off, bad[i].len - off,
                                     &used);
            off += used;
        }
        CHECK_INT(ev, SPAWNPROTO_BAD);
        spawnproto_req_free(&p);
    }
}

static void
t_nulrec_limit(void)
{
    struct nulrec p;
    size_t used;

    nulrec_init(&p, 4);
    CHECK_INT(nulrec_push(&p, "abcd\0", 5, &used), NULREC_RECORD);
    CHECK_BSTR(p.rec, "abcd");
    CHECK_INT(nulrec_push(&p, "\0", 1, &used), NULREC_RECORD);
    CHECK_BSTR(p.rec, "");
    CHECK_INT(nulrec_push(&p, "abcde", 5, &used), NULREC_TOOLONG);
    CHECK_INT(nulrec_push(&p, "\0", 1, &used), NULREC_TOOLONG);
    nulrec_free(&p);
}

/* feed_req - push all of in, stopping at the first event but MORE. */
static int
feed_req(struct spawn_reqparser *p, const char *in, size_t len)
{
    size_t used, off = 0;
    int ev = SPAWNPROTO_MORE;

    while (off < len && ev == SPAWNPROTO_MORE) {
        ev = spawnproto_req_push(p, in + off, len - off, &used);
        off += used;
    }
    return ev;
}

/*
 * The edges: the largest slot and msgid pass; SPAWN_RCPTS_MAX recipients
 * pass and one more is refused, by the reader and the writer alike; a
 * record of SPAWN_RECORD_MAX bytes or more stops the stream.
 */
static void
t_edges(void)
{
    static const char top[] = "65535\0" "18446744073709551615\0s\0r\0";
    struct spawn_reqparser p;
    struct bstr in = BSTR_INIT, rc = BSTR_INIT, out = BSTR_INIT;

    spawnproto_req_init(&p);
    CHECK_INT(feed_req(&p, top, sizeof top), SPAWNPROTO_REQUEST);
    CHECK_INT(p.req.slot, 65535);
    CHECK(p.req.msgid == 18446744073709551615ULL);
    spawnproto_req_free(&p);

    for (int i = 0; i <= SPAWN_RCPTS_MAX; i++)
        CHECK(bstr_cats(&rc, "r@x") == 0 && bstr_catc(&rc, '\0') == 0);
    CHECK_INT(spawnproto_request(&out, 1, 2, "", 0, &rc, SPAWN_RCPTS_MAX), 0);
    spawnproto_req_init(&p);
    CHECK_INT(feed_req(&p, out.s, out.len), SPAWNPROTO_REQUEST);
    CHECK_INT(p.req.nrcpt, SPAWN_RCPTS_MAX);
    spawnproto_req_free(&p);
    bstr_truncate(&out, 0);
    CHECK_INT(spawnproto_request(&out, 1, 2, "", 0, &rc, SPAWN_RCPTS_MAX + 1),
              -1);
    /* the same 1001 recipients written by hand: the reader refuses them
     * at the 1001st, having taken the first 1000 */
    CHECK(bstr_catb(&in, "1\0" "2\0\0", 5) == 0 &&
          bstr_catb(&in, rc.s, rc.len) == 0 && bstr_catc(&in, '\0') == 0);
    spawnproto_req_init(&p);
    CHECK_INT(feed_req(&p, in.s, in.len), SPAWNPROTO_BAD);
    CHECK_INT(p.req.nrcpt, SPAWN_RCPTS_MAX);
    spawnproto_req_free(&p);

    /* a sender of SPAWN_RECORD_MAX bytes is the longest record read */
    for (size_t extra = 0; extra <= 1; extra++) {
        bstr_truncate(&in, 0);
        CHECK(bstr_catb(&in, "1\0" "2\0", 4) == 0);
        for (size_t i = 0; i < SPAWN_RECORD_MAX + extra; i++)
            CHECK(bstr_catc(&in, 's') == 0);
        CHECK(bstr_catb(&in, "\0r@x\0\0", 6) == 0);
        spawnproto_req_init(&p);
        CHECK_INT(feed_req(&p, in.s, in.len),
                  extra ? SPAWNPROTO_BAD : SPAWNPROTO_REQUEST);
        if (!extra)
            CHECK_INT(p.req.sender.len, SPAWN_RECORD_MAX);
        spawnproto_req_free(&p);
    }
    bstr_free(&in);
    bstr_free(&rc);
    bstr_free(&out);
}

/* Reports: a final code other than K/Z/D, or an empty record, is bad. */
static void
t_bad_reports(void)
{
    static const struct {
        const char *in;
        size_t len;
    } bad[] = {
        {"1\0X\0", 4},    /* not a code */
        {"1\0rok\0\0", 8}, /* empty record */
        {"1\0k\0", 4},    /* codes are case-sensitive */
        {"65536\0", 6},   /* slot too big */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct spawn_repparser p;
        size_t used, off = 0;
        int ev = SPAWNPROTO_MORE;

        spawnproto_rep_init(&p);
        while (off < bad[i].len && ev == SPAWNPROTO_MORE) {
            ev = spawnproto_rep_push(&p, bad[i].in + off, bad[i].len - off,
                                     &used);
            off += used;
        }
        CHECK_INT(ev, SPAWNPROTO_BAD);
        spawnproto_rep_free(&p);
    }
}

static const struct test_case tests[] = {
    {"requests round trip in every chunking", t_request_roundtrip},
    {"reports round trip byte by byte", t_report_roundtrip},
    {"malformed requests refused", t_bad_input},
    {"record length limit", t_nulrec_limit},
    {"edges: largest numbers, recipient and record limits", t_edges},
    {"malformed reports refused", t_bad_reports},
};

TEST_MAIN(tests)
