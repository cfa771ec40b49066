/* SPDX-License-Identifier: ISC */
/*
 * test_ident - RFC 1413 replies as tcpserver -r reads them, and a query
 * to 127.0.0.1:113 where nothing listens, which must fail fast.  (The
 * e2e tests run a fake identd on port 113 when they can bind it.)
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "ident.h"

static const struct {
    const char *reply;
    const char *user; /* NULL: no usable answer */
} cases_tab[] = {
    {"6193, 23 : USERID : UNIX : stjohns\r\n", "stjohns"},
    {"6193 , 23 : USERID : UNIX : joe\r\n", "joe"},
    {"6193,23:USERID:UNIX:joe", "joe"},
    {"6193, 23 : userid : OTHER,US-ASCII : a:b c \r\n", "a:b c"},
    {"6193, 23 : USERID : UNIX :   spaced\n", "spaced"},
    {"6193, 23 : USERID : UNIX : x\x01y\r\n", "x?y"},
    {"6193, 23 : ERROR : NO-USER\r\n", NULL},
    {"6193, 24 : USERID : UNIX : joe\r\n", NULL},
    {"6194, 23 : USERID : UNIX : joe\r\n", NULL},
    {"6193 23 : USERID : UNIX : joe\r\n", NULL},
    {"6193, 23 : USERID : UNIX : \r\n", NULL},
    {"6193, 23 : USERID : UNIX\r\n", NULL},
    {"6193, 23 : USERID\r\n: UNIX : joe\r\n", NULL},
    {"", NULL},
    {"garbage", NULL},
};

static void
test_parse(void)
{
    struct bstr u = BSTR_INIT;

    for (size_t i = 0; i < sizeof cases_tab / sizeof cases_tab[0]; i++) {
        const char *r = cases_tab[i].reply;
        int got = ident_parse(r, strlen(r), 6193, 23, &u);

        if (!CHECK_INT(got, cases_tab[i].user ? 1 : 0)) {
            printf("    reply: %s\n", r);
            continue;
        }
        if (got)
            CHECK_BSTR(u, cases_tab[i].user);
    }
    bstr_free(&u);
}

static void
test_too_long(void)
{
    char reply[600];
    struct bstr u = BSTR_INIT;
    int n = snprintf(reply, sizeof reply, "1, 2 : USERID : UNIX : ");

    memset(reply + n, 'a', IDENT_USER_MAX);
    CHECK_INT(ident_parse(reply, (size_t)n + IDENT_USER_MAX, 1, 2, &u), 1);
    CHECK_INT(u.len, IDENT_USER_MAX);
    memset(reply + n, 'a', IDENT_USER_MAX + 1);
    CHECK_INT(ident_parse(reply, (size_t)n + IDENT_USER_MAX + 1, 1, 2, &u),
              0);
    bstr_free(&u);
}

/* Nothing listens on port 113 of 127.0.0.1 in a test box: a refusal. */
static void
test_query_refused(void)
{
    struct sockaddr_in l, r;
    struct bstr u = BSTR_INIT;
    time_t t0 = time(NULL);
    int probe = socket(AF_INET, SOCK_STREAM, 0);

    memset(&r, 0, sizeof r);
    r.sin_family = AF_INET;
    r.sin_port = htons(IDENT_PORT);
    r.sin_addr.s_addr = htonl(0x7f000001);
    if (probe != -1 && connect(probe, (struct sockaddr *)&r, sizeof r) == 0) {
        printf("    something listens on 127.0.0.1:113; skipped\n");
        close(probe);
        return;
    }
    if (probe != -1)
        close(probe);
    l = r;
    l.sin_port = htons(2525);
    r.sin_port = htons(40000);
    CHECK_INT(ident_query((struct sockaddr *)&l, sizeof l,
                          (struct sockaddr *)&r, sizeof r, 5, &u),
              0);
    CHECK(time(NULL) - t0 < 4);
    bstr_free(&u);
}

static const struct test_case cases[] = {
    {"reply parsing", test_parse},
    {"over-long user ids refused", test_too_long},
    {"refused query fails fast", test_query_refused},
};

TEST_MAIN(cases)
