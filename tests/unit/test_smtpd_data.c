/* SPDX-License-Identifier: ISC */
/*
 * test_smtpd_data - the DATA/BDAT push parser (src/smtpd/data.c):
 * dot-stuffing, the CRLF.CRLF end split at every chunk boundary, bare LF
 * and CR (smuggling: in DATA they stop the parser at once, in BDAT they
 * only refuse the message), NUL, long lines, the size cap, hop counting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "smtpd.h"

struct run {
    char out[300000];
    size_t outlen;
    size_t used;     /* bytes consumed when END or BARE came, or all */
    bool end;
    bool bare;       /* DATA stopped at a bare LF or CR */
    enum reason err;
};

/*
 * Feed in[0..n) in pieces: cuts[] lists the offsets where a new piece
 * starts (ascending, within n).  Stops at END like the real reader.
 */
static void
feed_cuts(struct run *r, bool dot, unsigned long long max, const char *in,
          size_t n, const size_t *cuts, size_t ncuts)
{
    struct smtpd_data d;
    size_t pos = 0;

    smtpd_data_init(&d, dot, max);
    r->outlen = 0;
    r->end = r->bare = false;
    for (size_t k = 0; k <= ncuts && !r->end && !r->bare; k++) {
        size_t stop = k < ncuts ? cuts[k] : n;
        size_t used = 0, outlen = 0;
        enum smtpd_data_ev ev;
        char *tmp;

        if (stop < pos)
            continue;
        tmp = malloc(stop - pos + 1);
        ev = smtpd_data_feed(&d, in + pos, stop - pos, &used, tmp, &outlen);
        r->end = ev == SMTPD_DATA_END;
        r->bare = ev == SMTPD_DATA_BARE;
        if (ev == SMTPD_DATA_MORE && !CHECK_INT(used, stop - pos))
            printf("    MORE must consume everything\n");
        if (outlen > stop - pos || r->outlen + outlen > sizeof r->out) {
            CHECK(!"output larger than input");
            free(tmp);
            break;
        }
        memcpy(r->out + r->outlen, tmp, outlen);
        r->outlen += outlen;
        free(tmp);
        pos += used;
    }
    r->used = pos;
    r->err = dot ? d.err : smtpd_data_finish(&d);
}

static void
feed_all(struct run *r, bool dot, unsigned long long max, const char *in,
         size_t n)
{
    feed_cuts(r, dot, max, in, n, NULL, 0);
}

#define S(lit) lit, sizeof(lit) - 1

static bool
out_is(const struct run *r, const char *want, size_t n)
{
    return CHECK_INT(r->outlen, n) && CHECK(memcmp(r->out, want, n) == 0);
}

/* ---- table: whole-input cases ----------------------------------------- */

enum { MORE = SMTPD_DATA_MORE, END = SMTPD_DATA_END, BARE = SMTPD_DATA_BARE };

static const struct {
    const char *name;
    const char *in;
    size_t inlen;
    int ev;         /* the last event: MORE (all read), END, BARE */
    size_t used;    /* where the data ended, or where it stopped */
    enum reason err;
    const char *out;
    size_t outlen;
} dot_cases[] = {
    {"simple", S("a\r\nb\r\n.\r\n"), END, 9, OC_OK, S("a\nb\n")},
    {"empty message", S(".\r\n"), END, 3, OC_OK, S("")},
    {"one empty line", S("\r\n.\r\n"), END, 5, OC_OK, S("\n")},
    {"stuffed dot", S("..x\r\n.\r\n"), END, 8, OC_OK, S(".x\n")},
    {"stuffed lone dot", S("..\r\n.\r\n"), END, 7, OC_OK, S(".\n")},
    {"three dots", S("...\r\n.\r\n"), END, 8, OC_OK, S("..\n")},
    {"dot inside line", S("a.b\r\n.x\r\n.\r\n"), END, 12, OC_OK,
     S("a.b\nx\n")},
    {"rest is the next command", S("a\r\n.\r\nQUIT\r\n"), END, 6, OC_OK,
     S("a\n")},
    {"no end yet", S("a\r\nb\r\n"), MORE, 6, OC_OK, S("a\nb\n")},
    {"no end: dot without CRLF", S("a\r\n."), MORE, 4, OC_OK, S("a\n")},
    {"no end: dot CR", S("a\r\n.\r"), MORE, 5, OC_OK, S("a\n")},
    {"no end: CR", S("a\r"), MORE, 2, OC_OK, S("a")},
    {"8-bit clean", S("\xc3\xa9\xff\x80\r\n.\r\n"), END, 9, OC_OK,
     S("\xc3\xa9\xff\x80\n")},
    {"header and body", S("Subject: x\r\n\r\nbody\r\n.\r\n"), END, 23,
     OC_OK, S("Subject: x\n\nbody\n")},
    /* bare LF and bare CR: the parser stops at the byte that shows one
     * (the LF; the byte after the CR), never at an end of data */
    {"bare LF", S("a\nb\r\n.\r\n"), BARE, 2, OC_BARENL, S("a")},
    {"bare LF first", S("\n.\r\n"), BARE, 1, OC_BARENL, S("")},
    {"bare CR", S("a\rb\r\n.\r\n"), BARE, 3, OC_BARENL, S("a")},
    {"CR CR LF", S("a\r\r\n.\r\n"), BARE, 3, OC_BARENL, S("a")},
    {"LF.LF is no end", S("a\n.\nb\r\n.\r\n"), BARE, 2, OC_BARENL, S("a")},
    {"CR.CR is no end", S("a\r.\rb\r\n.\r\n"), BARE, 3, OC_BARENL, S("a")},
    {"CRLF.LF is no end", S("a\r\n.\nb\r\n.\r\n"), BARE, 5, OC_BARENL,
     S("a\n")},
    {"LF.CRLF is no end", S("a\n.\r\nb\r\n.\r\n"), BARE, 2, OC_BARENL,
     S("a")},
    {"CRLF.CR x is no end", S("a\r\n.\rx\r\n.\r\n"), BARE, 6, OC_BARENL,
     S("a\n")},
    {"CRLF..LF", S("a\r\n..\n.\r\n"), BARE, 6, OC_BARENL, S("a\n.")},
    {"NUL", S("a\0b\r\n.\r\n"), END, 8, OC_NUL, S("a")},
    /* a bare LF ends the session whatever was wrong before it */
    {"bare LF after a NUL", S("a\0b\nc\r\n.\r\n"), BARE, 4, OC_BARENL,
     S("a")},
};

static void
test_dot_table(void)
{
    static struct run r;

    for (size_t i = 0; i < sizeof dot_cases / sizeof dot_cases[0]; i++) {
        int ev;

        feed_all(&r, true, 0, dot_cases[i].in, dot_cases[i].inlen);
        ev = r.end ? END : r.bare ? BARE : MORE;
        if (!CHECK_INT(ev, dot_cases[i].ev) ||
            !CHECK_INT(r.used, dot_cases[i].used) ||
            !CHECK_INT(r.err, dot_cases[i].err) ||
            !out_is(&r, dot_cases[i].out, dot_cases[i].outlen))
            printf("    case: %s\n", dot_cases[i].name);
    }
}

/* Once stopped, the parser reads nothing more. */
static void
test_stopped(void)
{
    struct smtpd_data d;
    char out[32];
    size_t used = 99, outlen = 99;

    smtpd_data_init(&d, true, 0);
    CHECK_INT(smtpd_data_feed(&d, S("x\ny\r\n"), &used, out, &outlen),
              SMTPD_DATA_BARE);
    CHECK_INT(used, 2);
    CHECK_INT(smtpd_data_feed(&d, S(".\r\n"), &used, out, &outlen),
              SMTPD_DATA_BARE);
    CHECK_INT(used, 0);
    CHECK_INT(outlen, 0);
    CHECK_INT(d.err, OC_BARENL);
}

/* ---- every chunk boundary -------------------------------------------------- */

/* The same answer for every way of cutting the input in two and in three,
 * and byte by byte. */
static void
check_all_splits(const char *in, size_t n, bool dot, unsigned long long max,
                 const char *name)
{
    static struct run whole, part;
    size_t cuts[2];
    size_t *each = malloc((n + 1) * sizeof *each);
    bool ok = true;

    feed_all(&whole, dot, max, in, n);
    for (size_t i = 0; i <= n && ok; i++) {
        cuts[0] = i;
        feed_cuts(&part, dot, max, in, n, cuts, 1);
        ok = CHECK_INT(part.end, whole.end) &&
             CHECK_INT(part.bare, whole.bare) &&
             CHECK_INT(part.used, whole.used) &&
             CHECK_INT(part.err, whole.err) &&
             out_is(&part, whole.out, whole.outlen);
        for (size_t j = i; j <= n && ok; j++) {
            cuts[1] = j;
            feed_cuts(&part, dot, max, in, n, cuts, 2);
            ok = CHECK_INT(part.end, whole.end) &&
                 CHECK_INT(part.bare, whole.bare) &&
                 CHECK_INT(part.used, whole.used) &&
                 CHECK_INT(part.err, whole.err) &&
                 out_is(&part, whole.out, whole.outlen);
        }
        if (!ok)
            printf("    %s: cut at %zu\n", name, i);
    }
    for (size_t i = 0; i < n; i++)
        each[i] = i + 1;
    feed_cuts(&part, dot, max, in, n, each, n);
    if (!(CHECK_INT(part.end, whole.end) && CHECK_INT(part.bare, whole.bare) &&
          CHECK_INT(part.used, whole.used) &&
          CHECK_INT(part.err, whole.err) &&
          out_is(&part, whole.out, whole.outlen)))
        printf("    %s: byte by byte\n", name);
    free(each);
}

static void
test_splits(void)
{
    static struct run r;
    static const char msg[] =
        "Received: from x\r\nSubject: t\r\n\r\n..a\r\nb.\r\n..\r\n"
        "\r\n.\r\nMAIL FROM:<z@z>\r\n";

    feed_all(&r, true, 0, msg, sizeof msg - 1);
    CHECK(r.end);
    CHECK_INT(r.used, sizeof msg - 1 - strlen("MAIL FROM:<z@z>\r\n"));
    CHECK_INT(r.err, OC_OK);
    out_is(&r, S("Received: from x\nSubject: t\n\n.a\nb.\n.\n\n"));
    check_all_splits(msg, sizeof msg - 1, true, 0, "message");

    /* the smuggling shapes, each with a second transaction inside: the
     * parser stops at the fake end and never reaches the commands */
    static const struct {
        const char *in;
        size_t stop;
    } smuggle[] = {
        {"a\r\n\n.\nMAIL FROM:<e@e>\r\nRCPT TO:<v@v>\r\nDATA\r\nx\r\n.\r\nN", 4},
        {"a\r\n\r.\rMAIL FROM:<e@e>\r\nRCPT TO:<v@v>\r\nDATA\r\nx\r\n.\r\nN", 5},
        {"a\r\n.\nMAIL FROM:<e@e>\r\nRCPT TO:<v@v>\r\nDATA\r\nx\r\n.\r\nN", 5},
        {"a\n.\r\nMAIL FROM:<e@e>\r\nRCPT TO:<v@v>\r\nDATA\r\nx\r\n.\r\nN", 2},
        {"a\r\n.\rMAIL FROM:<e@e>\r\nRCPT TO:<v@v>\r\nDATA\r\nx\r\n.\r\nN", 6},
    };
    for (size_t i = 0; i < sizeof smuggle / sizeof smuggle[0]; i++) {
        size_t n = strlen(smuggle[i].in);

        feed_all(&r, true, 0, smuggle[i].in, n);
        CHECK(!r.end);
        CHECK(r.bare);
        CHECK_INT(r.used, smuggle[i].stop);
        CHECK_INT(r.err, OC_BARENL);
        check_all_splits(smuggle[i].in, n, true, 0, smuggle[i].in);
        /* in BDAT the same bytes are one chunk's content, refused */
        feed_all(&r, false, 0, smuggle[i].in, n);
        CHECK(!r.end && !r.bare);
        CHECK_INT(r.used, n);
        CHECK_INT(r.err, OC_BARENL);
    }
    check_all_splits(S("x\r\n..\r\n.\r"), true, 0, "unfinished");
    check_all_splits(S("a\r\nb\r\r\n\r\n"), false, 0, "bdat");
    check_all_splits(S("Received: a\r\nReceived: b\r\n\r\n.\r\n"), true, 40,
                     "size cap");
}

/* ---- limits ------------------------------------------------------------------ */

static void
test_long_lines(void)
{
    static struct run r;
    size_t n = SMTPD_LINE_MAX + 16;
    char *buf = malloc(n + 8);

    memset(buf, 'x', SMTPD_LINE_MAX);
    memcpy(buf + SMTPD_LINE_MAX, "\r\n.\r\n", 5);
    feed_all(&r, true, 0, buf, SMTPD_LINE_MAX + 5);
    CHECK(r.end);
    CHECK_INT(r.err, OC_OK);
    CHECK_INT(r.outlen, SMTPD_LINE_MAX + 1);

    memset(buf, 'x', SMTPD_LINE_MAX + 1);
    memcpy(buf + SMTPD_LINE_MAX + 1, "\r\n.\r\n", 5);
    feed_all(&r, true, 0, buf, SMTPD_LINE_MAX + 6);
    CHECK(r.end);
    CHECK_INT(r.err, OC_LONGLINE);
    CHECK_INT(r.used, SMTPD_LINE_MAX + 6);

    /* the same limit in pieces, and the count restarts at each line */
    size_t cuts[] = {1000, 40000, 65536};
    feed_cuts(&r, true, 0, buf, SMTPD_LINE_MAX + 6, cuts, 3);
    CHECK_INT(r.err, OC_LONGLINE);
    memcpy(buf + 30000, "\r\n", 2);
    feed_cuts(&r, true, 0, buf, SMTPD_LINE_MAX + 6, cuts, 3);
    CHECK_INT(r.err, OC_OK);
    free(buf);
}

static void
test_size_cap(void)
{
    static struct run r;

    /* "0123456789\n" is 11 stored bytes: CRLF counts as one */
    feed_all(&r, true, 11, S("0123456789\r\n.\r\n"));
    CHECK_INT(r.err, OC_OK);
    feed_all(&r, true, 10, S("0123456789\r\n.\r\n"));
    CHECK_INT(r.err, OC_TOOBIG);
    CHECK(r.end);
    feed_all(&r, true, 5, S("0123456789\r\n.\r\n"));
    CHECK_INT(r.err, OC_TOOBIG);
    CHECK_INT(r.used, 15);
    feed_all(&r, true, 0, S("0123456789\r\n.\r\n"));
    CHECK_INT(r.err, OC_OK);
    /* stuffing dots do not count */
    feed_all(&r, true, 2, S("..\r\n.\r\n"));
    CHECK_INT(r.err, OC_OK);
    feed_all(&r, false, 3, S("ab\r\n"));
    CHECK_INT(r.err, OC_OK);
    feed_all(&r, false, 2, S("ab\r\n"));
    CHECK_INT(r.err, OC_TOOBIG);

    /* the earliest problem byte wins, however the input is cut (found by
     * fuzz_smtpdata: a NUL after the size cap used to win in one piece) */
    feed_all(&r, true, 5, S("0123456\0" "789\r\n.\r\n"));
    CHECK_INT(r.err, OC_TOOBIG);
    out_is(&r, S("01234"));
    check_all_splits(S("0123456\0" "789\r\n.\r\n"), true, 5, "size before NUL");
    feed_all(&r, true, 5, S("01\0" "345678\r\n.\r\n"));
    CHECK_INT(r.err, OC_NUL);
    check_all_splits(S("01\0" "345678\r\n.\r\n"), true, 5, "NUL before size");
}

static void
hops_msg(struct bstr *b, unsigned n, const char *name)
{
    bstr_truncate(b, 0);
    for (unsigned i = 0; i < n; i++)
        CHECK(bstr_catf(b, "%s x%u\r\n", name, i) == 0);
}

static void
test_hops(void)
{
    static struct run r;
    struct bstr b = BSTR_INIT;

    hops_msg(&b, SMTPD_HOPS_MAX, "Received:");
    CHECK(bstr_cats(&b, "\r\nbody\r\n.\r\n") == 0);
    feed_all(&r, true, 0, b.s, b.len);
    CHECK_INT(r.err, OC_OK);

    hops_msg(&b, SMTPD_HOPS_MAX + 1, "Received:");
    CHECK(bstr_cats(&b, "\r\n.\r\n") == 0);
    feed_all(&r, true, 0, b.s, b.len);
    CHECK_INT(r.err, OC_HOPS);
    CHECK(r.end);

    hops_msg(&b, 60, "RECEIVED:");
    CHECK(bstr_cats(&b, "X: y\r\n") == 0);
    for (unsigned i = 0; i < 41; i++)
        CHECK(bstr_catf(&b, "delivered-to: u%u\r\n", i) == 0);
    CHECK(bstr_cats(&b, ".\r\n") == 0);
    feed_all(&r, true, 0, b.s, b.len);
    CHECK_INT(r.err, OC_HOPS);

    /* in the body they are text, not hops */
    bstr_truncate(&b, 0);
    CHECK(bstr_cats(&b, "Subject: s\r\n\r\n") == 0);
    for (unsigned i = 0; i < 200; i++)
        CHECK(bstr_cats(&b, "Received: quoted\r\n") == 0);
    CHECK(bstr_cats(&b, ".\r\n") == 0);
    feed_all(&r, true, 0, b.s, b.len);
    CHECK_INT(r.err, OC_OK);

    /* "Received" without the colon, or indented, is no hop */
    hops_msg(&b, 150, "Received");
    CHECK(bstr_cats(&b, ".\r\n") == 0);
    feed_all(&r, true, 0, b.s, b.len);
    CHECK_INT(r.err, OC_OK);
    hops_msg(&b, 150, " Received:");
    CHECK(bstr_cats(&b, ".\r\n") == 0);
    feed_all(&r, true, 0, b.s, b.len);
    CHECK_INT(r.err, OC_OK);

    /* a dot-stuffed header line is judged after unstuffing */
    hops_msg(&b, SMTPD_HOPS_MAX, "Received:");
    CHECK(bstr_cats(&b, ".Received: z\r\n.\r\n") == 0);
    feed_all(&r, true, 0, b.s, b.len);
    CHECK_INT(r.err, OC_HOPS);
    hops_msg(&b, SMTPD_HOPS_MAX, "Received:");
    CHECK(bstr_cats(&b, "..Received: z\r\n.\r\n") == 0);
    feed_all(&r, true, 0, b.s, b.len);
    CHECK_INT(r.err, OC_OK);

    /* split header names */
    hops_msg(&b, SMTPD_HOPS_MAX + 1, "Delivered-To:");
    CHECK(bstr_cats(&b, ".\r\n") == 0);
    for (size_t cut = 1; cut < 20; cut++) {
        size_t cuts[] = {cut, 18 * 50 + cut};
        feed_cuts(&r, true, 0, b.s, b.len, cuts, 2);
        CHECK_INT(r.err, OC_HOPS);
    }
    bstr_free(&b);
}

/* ---- BDAT (raw) mode ----------------------------------------------------------- */

static void
test_raw(void)
{
    static struct run r;

    feed_all(&r, false, 0, S("a\r\n.\r\nb"));
    CHECK(!r.end);
    CHECK_INT(r.err, OC_OK);
    out_is(&r, S("a\n.\nb"));

    feed_all(&r, false, 0, S("..a\r\n"));
    out_is(&r, S("..a\n")); /* no dot-stuffing in BDAT */

    feed_all(&r, false, 0, S("a\r"));
    CHECK_INT(r.err, OC_BARENL); /* the last chunk ended in a bare CR */

    feed_all(&r, false, 0, S("a\nb\r\n"));
    CHECK_INT(r.err, OC_BARENL);

    feed_all(&r, false, 0, S("a\0\r\n"));
    CHECK_INT(r.err, OC_NUL);

    /* CR at the end of one chunk, LF at the start of the next */
    size_t cut[] = {2};
    feed_cuts(&r, false, 0, "a\r\nb", 4, cut, 1);
    CHECK_INT(r.err, OC_OK);
    out_is(&r, S("a\nb"));
}

static void
test_no_output_after_error(void)
{
    static struct run r;

    feed_all(&r, true, 0, S("ok\r\nbad\nmore text\r\n.\r\n"));
    CHECK_INT(r.err, OC_BARENL);
    CHECK(r.bare);
    out_is(&r, S("ok\nbad")); /* what came before the bare LF, no more */
    feed_all(&r, false, 0, S("ok\r\nbad\nmore text\r\n"));
    CHECK_INT(r.err, OC_BARENL);
    out_is(&r, S("ok\nbad"));
}

static const struct test_case cases[] = {
    {"DATA cases", test_dot_table},
    {"DATA stops at a bare LF or CR", test_stopped},
    {"every chunk boundary", test_splits},
    {"long lines", test_long_lines},
    {"size cap", test_size_cap},
    {"hop count", test_hops},
    {"BDAT raw mode", test_raw},
    {"no output after a problem", test_no_output_after_error},
};

TEST_MAIN(cases)
