/* SPDX-License-Identifier: ISC */
/*
 * test_remote_report - a message's results in qmail-1.03's classic
 * output and in batch reports: accepted recipients sharing a failed
 * message's fate, recipients never asked for (no classic record, as
 * qmail-1.03's "fewer recipient reports"), empty texts standing for the
 * final one, the tail only batch reports carry ("Giving up on IP.").
 */
#include <string.h>

#include "harness.h"
#include "remote.h"

/* show - records as text: NULs as '|', for readable expectations. */
static void
show(struct bstr *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->s[i] == '\0')
            b->s[i] = '|';
}

static void
set(struct remote_msg *m, size_t i, char code, const char *text)
{
    m->r[i].code = code;
    CHECK(bstr_copys(&m->r[i].text, text) == 0);
}

static const char *const rcpts[] = {"a@x.test", "b@x.test", "c@x.test"};

static void
t_accepted(void)
{
    struct remote_msg m;
    struct bstr out = BSTR_INIT;

    CHECK(remote_msg_init(&m, "s@y.test", rcpts, 3, -1) == 0);
    set(&m, 0, 'r', "");
    set(&m, 1, 'h', "1.2.3.4 does not like recipient.\n");
    set(&m, 2, 'r', "");
    m.final = 'K';
    CHECK(bstr_copys(&m.text, "1.2.3.4 accepted message.\n") == 0);
    CHECK(remote_report_classic(&m, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "r|h1.2.3.4 does not like recipient.\n|r|"
                    "K1.2.3.4 accepted message.\n|");
    bstr_truncate(&out, 0);
    CHECK(remote_report_batch(&m, 7, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "7|r|h1.2.3.4 does not like recipient.\n|r|"
                    "K1.2.3.4 accepted message.\n|");
    remote_msg_free(&m);
    bstr_free(&out);
}

static void
t_data_refused(void)
{
    struct remote_msg m;
    struct bstr out = BSTR_INIT;

    CHECK(remote_msg_init(&m, "", rcpts, 3, -1) == 0);
    set(&m, 0, 'r', "");
    set(&m, 1, 's', "busy\n");
    set(&m, 2, 'r', "");
    m.final = 'D';
    CHECK(bstr_copys(&m.text, "failed after I sent the message.\n") == 0);
    CHECK(remote_report_classic(&m, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "r|sbusy\n|r|Dfailed after I sent the message.\n|");
    bstr_truncate(&out, 0);
    CHECK(remote_report_batch(&m, 0, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "0|h|sbusy\n|h|Dfailed after I sent the message.\n|");
    m.final = 'Z';
    bstr_truncate(&out, 0);
    CHECK(remote_report_batch(&m, 0, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "0|s|sbusy\n|s|Zfailed after I sent the message.\n|");
    remote_msg_free(&m);
    bstr_free(&out);
}

static void
t_not_reached(void)
{
    struct remote_msg m;
    struct bstr out = BSTR_INIT;

    CHECK(remote_msg_init(&m, "", rcpts, 2, -1) == 0);
    CHECK(bstr_copys(&m.text, "no connection\n") == 0);
    CHECK_INT(m.final, 'Z');
    CHECK(remote_report_classic(&m, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "Zno connection\n|");
    bstr_truncate(&out, 0);
    CHECK(remote_report_batch(&m, 12, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "12|s|s|Zno connection\n|");
    m.final = 'D';
    bstr_truncate(&out, 0);
    CHECK(remote_report_batch(&m, 12, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "12|h|h|Dno connection\n|");
    bstr_truncate(&out, 0);
    CHECK(remote_report_classic(&m, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "Dno connection\n|");
    /* a record of its own after one never asked for: both are written */
    set(&m, 1, 'h', "bad address\n");
    bstr_truncate(&out, 0);
    CHECK(remote_report_classic(&m, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "hno connection\n|hbad address\n|Dno connection\n|");
    remote_msg_free(&m);
    bstr_free(&out);
}

/* a refused RCPT: batch reports add qmail-rspawn's "Giving up" line */
static void
t_tail(void)
{
    struct remote_msg m;
    struct bstr out = BSTR_INIT;

    CHECK(remote_msg_init(&m, "s@y.test", rcpts, 2, -1) == 0);
    set(&m, 0, 'h', "1.2.3.4 does not like recipient.\n"
                    "Remote host said: 550 no\nGiving up on 1.2.3.4.\n");
    m.r[0].tail = strlen("Giving up on 1.2.3.4.\n");
    set(&m, 1, 'r', "");
    m.final = 'K';
    CHECK(bstr_copys(&m.text, "1.2.3.4 accepted message.\n") == 0);
    CHECK(remote_report_classic(&m, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "h1.2.3.4 does not like recipient.\n"
                    "Remote host said: 550 no\n|r|"
                    "K1.2.3.4 accepted message.\n|");
    bstr_truncate(&out, 0);
    CHECK(remote_report_batch(&m, 3, &out) == 0);
    show(&out);
    CHECK_BSTR(out, "3|h1.2.3.4 does not like recipient.\n"
                    "Remote host said: 550 no\nGiving up on 1.2.3.4.\n|r|"
                    "K1.2.3.4 accepted message.\n|");
    remote_msg_free(&m);
    bstr_free(&out);
}

static const struct test_case cases[] = {
    {"accepted", t_accepted},
    {"refused after DATA", t_data_refused},
    {"recipients never asked for", t_not_reached},
    {"what only batch reports add", t_tail},
};

TEST_MAIN(cases)
