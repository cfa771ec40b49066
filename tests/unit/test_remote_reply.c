/* SPDX-License-Identifier: ISC */
/*
 * test_remote_reply - the SMTP reply parser: one-line and multi-line
 * replies, bare LF, pipelined replies left unused, input split at every
 * byte, over-long lines, endless replies, garbage.
 */
#include <string.h>

#include "harness.h"
#include "reply.h"

static const struct {
    const char *in;
    int ev;
    unsigned code;
    const char *text; /* for people, or the error's key word */
} cases_tab[] = {
    {"250 ok\r\n", REPLY_DONE, 250, "250 ok\n"},
    {"250 ok\n", REPLY_DONE, 250, "250 ok\n"},
    {"220\r\n", REPLY_DONE, 220, "220\n"},
    {"250-mx.test hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n", REPLY_DONE,
     250, "250-mx.test hello\n250-PIPELINING\n250 SIZE 1000\n"},
    {"550-5.1.1 no\r\n550 5.1.1 such user\r\n", REPLY_DONE, 550,
     "550-5.1.1 no\n550 5.1.1 such user\n"},
    {"421 tab\there\x01\r\n", REPLY_DONE, 421, "421 tab?here?\n"},
    {"250-a\r\n", REPLY_MORE, 0, ""},
    {"25", REPLY_MORE, 0, ""},
    {"hello there\r\n", REPLY_BAD, 0, "malformed"},
    {"25\r\n", REPLY_BAD, 0, "malformed"},
    {"2500 ok\r\n", REPLY_BAD, 0, "malformed"},
    {"150 ok\r\n", REPLY_BAD, 0, "malformed"},
    {"650 ok\r\n", REPLY_BAD, 0, "malformed"},
    {"25a ok\r\n", REPLY_BAD, 0, "malformed"},
    {"\r\n", REPLY_BAD, 0, "malformed"},
    {"250-a\r\n251 b\r\n", REPLY_BAD, 0, "different codes"},
    {"250 a\0b\r\n", REPLY_BAD, 0, "NUL"},
};

static void
t_table(void)
{
    for (size_t i = 0; i < sizeof cases_tab / sizeof cases_tab[0]; i++) {
        const char *in = cases_tab[i].in;
        size_t len = strlen(in), used;
        struct reply r;
        int ev;
        bool ok;

        if (strcmp(in, "250 a") == 0)
            len = 9; /* the case with a NUL inside */
        reply_init(&r);
        ev = reply_push(&r, in, len, &used);
        ok = CHECK_INT(ev, cases_tab[i].ev);
        if (ok && ev == REPLY_DONE)
            ok = CHECK_INT(r.code, cases_tab[i].code) &&
                 CHECK_BSTR(r.text, cases_tab[i].text) &&
                 CHECK_INT(used, len);
        if (ok && ev == REPLY_BAD)
            ok = CHECK(r.err && strstr(r.err, cases_tab[i].text));
        if (!ok)
            CHECK_STR(in, "(the reply above)");
        reply_free(&r);
    }
}

/* every split point gives the same reply */
static void
t_split(void)
{
    static const char in[] = "250-one\r\n250-two\n250 three\r\n";
    size_t len = sizeof in - 1;

    for (size_t cut = 0; cut <= len; cut++) {
        struct reply r;
        size_t used1 = 0, used2 = 0;
        int ev;

        reply_init(&r);
        ev = reply_push(&r, in, cut, &used1);
        if (ev == REPLY_MORE)
            ev = reply_push(&r, in + cut, len - cut, &used2);
        CHECK_INT(ev, REPLY_DONE);
        CHECK_INT(used1 + used2, len);
        CHECK_INT(r.nlines, 3);
        CHECK_BSTR(r.text, "250-one\n250-two\n250 three\n");
        reply_free(&r);
    }
}

/* pipelined replies: the bytes of the next stay unused */
static void
t_pipelined(void)
{
    static const char in[] = "250 ok\r\n550 no\r\n354 go\r\n";
    struct reply r;
    size_t off = 0, used;
    unsigned codes[3];

    reply_init(&r);
    for (int i = 0; i < 3; i++) {
        reply_reset(&r);
        CHECK_INT(reply_push(&r, in + off, sizeof in - 1 - off, &used),
                  REPLY_DONE);
        codes[i] = r.code;
        off += used;
    }
    CHECK_INT(off, sizeof in - 1);
    CHECK_INT(codes[0], 250);
    CHECK_INT(codes[1], 550);
    CHECK_INT(codes[2], 354);
    reply_free(&r);
}

static void
t_ehlo_lines(void)
{
    static const char in[] = "250-mx.test\r\n250-PIPELINING\r\n250-SIZE "
                             "100\r\n250 8BITMIME\r\n";
    struct reply r;
    size_t used;
    const char *l;

    reply_init(&r);
    CHECK_INT(reply_push(&r, in, sizeof in - 1, &used), REPLY_DONE);
    l = reply_line_next(&r, NULL);
    CHECK_STR(l, "mx.test");
    l = reply_line_next(&r, l);
    CHECK_STR(l, "PIPELINING");
    l = reply_line_next(&r, l);
    CHECK_STR(l, "SIZE 100");
    l = reply_line_next(&r, l);
    CHECK_STR(l, "8BITMIME");
    CHECK(reply_line_next(&r, l) == NULL);
    reply_free(&r);
}

/* a line of 1000 bytes passes, one of 1001 (or 2000) does not */
static void
t_long_line(void)
{
    static char buf[2100];
    struct reply r;
    size_t used;

    memset(buf, 'x', sizeof buf);
    memcpy(buf, "250 ", 4);
    memcpy(buf + 1000, "\r\n", 2);
    reply_init(&r);
    CHECK_INT(reply_push(&r, buf, 1002, &used), REPLY_DONE);
    reply_reset(&r);
    memset(buf, 'x', sizeof buf);
    memcpy(buf, "250-", 4);
    memcpy(buf + 2000, "\r\n", 2);
    CHECK_INT(reply_push(&r, buf, 2002, &used), REPLY_BAD);
    CHECK(strstr(r.err, "over 1000") != NULL);
    CHECK(used < 1100);
    /* fed a byte at a time, it stops as soon as the line is too long */
    reply_reset(&r);
    for (size_t i = 0; i < 2002; i++) {
        int ev = reply_push(&r, buf + i, 1, &used);

        if (ev != REPLY_MORE) {
            CHECK_INT(ev, REPLY_BAD);
            CHECK(i <= 1002);
            break;
        }
    }
    CHECK(r.err != NULL);
    reply_free(&r);
}

/* an endless multi-line reply stops at the line cap */
static void
t_endless(void)
{
    static const char line[] = "250-more and more\r\n";
    struct reply r;
    size_t used, n = 0;
    int ev = REPLY_MORE;

    reply_init(&r);
    while (ev == REPLY_MORE && n < 100000) {
        ev = reply_push(&r, line, sizeof line - 1, &used);
        n++;
    }
    CHECK_INT(ev, REPLY_BAD);
    CHECK(strstr(r.err, "200 lines") != NULL);
    CHECK(n <= REPLY_LINES_MAX + 1);
    CHECK(r.text.len <= REPLY_TEXT_MAX);
    reply_free(&r);
}

/* long lines under the line cap still hit the byte cap */
static void
t_bytes_cap(void)
{
    static char line[1000];
    struct reply r;
    size_t used, n = 0;
    int ev = REPLY_MORE;

    memset(line, 'y', sizeof line);
    memcpy(line, "250-", 4);
    memcpy(line + sizeof line - 2, "\r\n", 2);
    reply_init(&r);
    while (ev == REPLY_MORE && n < 1000) {
        ev = reply_push(&r, line, sizeof line, &used);
        n++;
    }
    CHECK_INT(ev, REPLY_BAD);
    CHECK(strstr(r.err, "65536 bytes") != NULL);
    CHECK(r.text.len <= REPLY_TEXT_MAX);
    reply_free(&r);
}

static const struct test_case cases[] = {
    {"table of replies", t_table},
    {"split at every byte", t_split},
    {"pipelined replies", t_pipelined},
    {"EHLO lines", t_ehlo_lines},
    {"over-long line", t_long_line},
    {"endless reply", t_endless},
    {"byte cap", t_bytes_cap},
};

TEST_MAIN(cases)
