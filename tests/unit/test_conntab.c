/* SPDX-License-Identifier: ISC */
/*
 * test_conntab - tcpserver's child table: per-address counts, limits,
 * removal, and a long random run checked against a plain array model.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conntab.h"
#include "harness.h"

static void
ip4(unsigned char ip[16], unsigned a)
{
    static const unsigned char pre[12] = {0, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0xff, 0xff};
    memcpy(ip, pre, 12);
    ip[12] = (unsigned char)(a >> 24);
    ip[13] = (unsigned char)(a >> 16);
    ip[14] = (unsigned char)(a >> 8);
    ip[15] = (unsigned char)a;
}

static void
test_basic(void)
{
    struct conntab t;
    unsigned char a[16], b[16], got[16];

    ip4(a, 0x7f000001);
    ip4(b, 0x7f000002);
    CHECK_INT(conntab_init(&t, 3), 0);
    CHECK_INT(conntab_count(&t, a), 0);
    CHECK_INT(conntab_add(&t, 100, a), 0);
    CHECK_INT(conntab_add(&t, 101, a), 0);
    CHECK_INT(conntab_add(&t, 102, b), 0);
    CHECK_INT(conntab_count(&t, a), 2);
    CHECK_INT(conntab_count(&t, b), 1);
    CHECK_INT(t.n, 3);
    /* full */
    CHECK_INT(conntab_add(&t, 103, b), -1);
    CHECK_INT(errno, ENOSPC);
    CHECK_INT(conntab_remove(&t, 100, got), 1);
    CHECK(memcmp(got, a, 16) == 0);
    CHECK_INT(conntab_count(&t, a), 1);
    CHECK_INT(conntab_remove(&t, 100, NULL), 0); /* already gone */
    CHECK_INT(conntab_remove(&t, 999, NULL), 0);
    CHECK_INT(conntab_add(&t, 101, b), -1);      /* pid already there */
    CHECK_INT(errno, EEXIST);
    CHECK_INT(conntab_add(&t, 0, b), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(conntab_remove(&t, 101, NULL), 1);
    CHECK_INT(conntab_remove(&t, 102, NULL), 1);
    CHECK_INT(conntab_count(&t, a), 0);
    CHECK_INT(conntab_count(&t, b), 0);
    CHECK_INT(t.n, 0);
    conntab_free(&t);
    CHECK_INT(conntab_init(&t, 0), -1);
    CHECK_INT(conntab_init(&t, CONNTAB_MAX + 1), -1);
}

/* Random adds and removes against a model; few addresses, many pids. */
static void
test_model(void)
{
    enum { LIMIT = 50, ROUNDS = 200000 };
    struct conntab t;
    struct {
        int pid;
        unsigned ip;
    } live[LIMIT];
    size_t n = 0;
    unsigned seed = 7;
    int nextpid = 2;
    bool ok = true;

    CHECK_INT(conntab_init(&t, LIMIT), 0);
    for (int round = 0; round < ROUNDS && ok; round++) {
        unsigned char ip[16];

        seed = seed * 1103515245u + 12345u;
        if (n < LIMIT && (seed >> 16) % 2) {
            unsigned a = 0x0a000000u + (seed >> 20) % 7;
            ip4(ip, a);
            ok = CHECK_INT(conntab_add(&t, nextpid, ip), 0);
            live[n].pid = nextpid++;
            live[n].ip = a;
            n++;
        } else if (n) {
            size_t k = (seed >> 8) % n;
            unsigned char got[16];
            ip4(ip, live[k].ip);
            ok = CHECK_INT(conntab_remove(&t, live[k].pid, got), 1) &&
                 CHECK(memcmp(got, ip, 16) == 0);
            live[k] = live[--n];
        }
        for (unsigned a = 0; a < 7 && ok; a++) {
            size_t want = 0;
            for (size_t k = 0; k < n; k++)
                want += live[k].ip == 0x0a000000u + a;
            ip4(ip, 0x0a000000u + a);
            ok = CHECK_INT(conntab_count(&t, ip), want);
        }
        ok = ok && CHECK_INT(t.n, n);
    }
    if (!ok)
        printf("    model diverged\n");
    conntab_free(&t);
}

static const struct test_case cases[] = {
    {"add, count, remove, limits", test_basic},
    {"random run against a model", test_model},
};

TEST_MAIN(cases)
