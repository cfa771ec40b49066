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

static const struct test_case tests[] = {
    {"requests round trip in every chunking", t_request_roundtrip},
    {"reports round trip byte by byte", t_report_roundtrip},
    {"malformed requests refused", t_bad_input},
    {"record length limit", t_nulrec_limit},
};

TEST_MAIN(tests)
