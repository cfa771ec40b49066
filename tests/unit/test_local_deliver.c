/* SPDX-License-Identifier: ISC */
/*
 * test_local_deliver - the lines qmail-local adds (Return-Path quoting,
 * newlines out of addresses), the Delivered-To match of the loop check,
 * and the $HOSTn / $EXTn pieces.
 */
#include <stdio.h>
#include <string.h>

#include "deliver.h"
#include "harness.h"

static const struct {
    const char *local, *host, *sender;
    const char *dt, *rp;
} line_cases[] = {
    {"joe", "example.com", "a@b.example", "Delivered-To: joe@example.com\n",
     "Return-Path: <a@b.example>\n"},
    {"joe", "example.com", "", "Delivered-To: joe@example.com\n",
     "Return-Path: <>\n"},
    {"joe", "example.com", "#@[]", "Delivered-To: joe@example.com\n",
     "Return-Path: <#@[]>\n"},
    {"joe", "example.com", "john doe@x.example",
     "Delivered-To: joe@example.com\n",
     "Return-Path: <\"john doe\"@x.example>\n"},
    {"joe", "example.com", "q\"uote@x", "Delivered-To: joe@example.com\n",
     "Return-Path: <\"q\\\"uote\"@x>\n"},
    {"evil\nX-Injected: 1", "example.com", "a\nb@c",
     "Delivered-To: evil_X-Injected: 1@example.com\n",
     "Return-Path: <\"a_b\"@c>\n"},
    {"dom.com-joe", "dom.com", "nobody", "Delivered-To: dom.com-joe@dom.com\n",
     "Return-Path: <nobody>\n"},
};

static void
t_lines(void)
{
    for (size_t i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
        struct qlocal q;

        qlocal_init(&q);
        q.local = line_cases[i].local;
        q.host = line_cases[i].host;
        q.sender = line_cases[i].sender;
        q.now = 0;
        CHECK(qlocal_lines(&q) == 0);
        if (!CHECK_STR(q.dtline.s, line_cases[i].dt) ||
            !CHECK_STR(q.rpline.s, line_cases[i].rp))
            printf("    case %zu\n", i);
        CHECK(strchr(q.recipient.s, '\n') == NULL);
        qlocal_free(&q);
    }
}

static const struct {
    const char *line;
    bool match;
} dt_cases[] = {
    {"Delivered-To: joe@example.com\n", true},
    {"Delivered-To: joe@example.com", true},
    {"delivered-to: JOE@Example.COM\n", true},
    {"Delivered-To:joe@example.com\n", true},
    {"Delivered-To:  \tjoe@example.com \r\n", true},
    {"Delivered-To: joe@example.com.\n", false},
    {"Delivered-To: xjoe@example.com\n", false},
    {"Delivered-To: joe@example.co\n", false},
    {"X-Delivered-To: joe@example.com\n", false},
    {"Delivered-To joe@example.com\n", false},
    {"Delivered-From: joe@example.com\n", false},
    {"Delivered-To: joe@example.com, bob@example.com\n", false},
    {" Delivered-To: joe@example.com\n", false},
    {"", false},
};

static void
t_dtline_match(void)
{
    struct bstr r = BSTR_INIT;

    CHECK(bstr_copys(&r, "joe@example.com") == 0);
    for (size_t i = 0; i < sizeof dt_cases / sizeof dt_cases[0]; i++)
        if (!CHECK(qlocal_is_dtline(dt_cases[i].line,
                                    strlen(dt_cases[i].line),
                                    &r) == dt_cases[i].match))
            printf("    line: %s\n", dt_cases[i].line);
    bstr_free(&r);
}

static const struct {
    const char *host, *h2, *h3, *h4;
} host_cases[] = {
    {"mail.dept.example.com", "mail.dept.example", "mail.dept", "mail"},
    {"example.com", "example", "example", "example"},
    {"localhost", "localhost", "localhost", "localhost"},
    {"", "", "", ""},
    {"a.b.", "a.b", "a", "a"},
    {".x", "", "", ""},
};

static void
t_hostparts(void)
{
    struct bstr h = BSTR_INIT;

    for (size_t i = 0; i < sizeof host_cases / sizeof host_cases[0]; i++) {
        const char *want[3] = {host_cases[i].h2, host_cases[i].h3,
                               host_cases[i].h4};

        for (int n = 2; n <= 4; n++) {
            CHECK(qlocal_hostpart(&h, host_cases[i].host, n) == 0);
            CHECK(bstr_catc(&h, '\0') == 0);
            if (!CHECK_STR(h.s, want[n - 2]))
                printf("    HOST%d of %s\n", n, host_cases[i].host);
        }
    }
    bstr_free(&h);
}

static const struct {
    const char *ext, *e2, *e3, *e4;
} ext_cases[] = {
    {"a-b-c-d", "b-c-d", "c-d", "d"},
    {"foo", "", "", ""},
    {"", "", "", ""},
    {"list-owner", "owner", "", ""},
    {"-x", "x", "", ""},
    {"a--b", "-b", "b", ""},
};

static void
t_extparts(void)
{
    for (size_t i = 0; i < sizeof ext_cases / sizeof ext_cases[0]; i++) {
        if (!CHECK_STR(qlocal_extpart(ext_cases[i].ext, 2), ext_cases[i].e2) ||
            !CHECK_STR(qlocal_extpart(ext_cases[i].ext, 3), ext_cases[i].e3) ||
            !CHECK_STR(qlocal_extpart(ext_cases[i].ext, 4), ext_cases[i].e4))
            printf("    ext: %s\n", ext_cases[i].ext);
        CHECK_STR(qlocal_extpart(ext_cases[i].ext, 1), ext_cases[i].ext);
    }
}

static const struct test_case cases[] = {
    {"Delivered-To and Return-Path lines", t_lines},
    {"Delivered-To match", t_dtline_match},
    {"HOST2 HOST3 HOST4", t_hostparts},
    {"EXT2 EXT3 EXT4", t_extparts},
};

TEST_MAIN(cases)
