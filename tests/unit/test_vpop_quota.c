/* SPDX-License-Identifier: ISC */
/*
 * test_vpop_quota - Maildir++ quotas as Courier's README.maildirquota
 * defines them: quota strings (both units, either, any order, vpopmail's
 * NOQUOTA and bare byte counts, refusals), the limit exactly reached,
 * and maildirsize files: sums with negative deltas, a torn last line,
 * corrupt files, the recalculation rule; the helpers of a
 * recalculation (sizes from Courier's ",S=" names, the T flag, the file
 * written back) and the fill percentage of the quota warning.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "harness.h"
#include "quota.h"

#define S(lit) lit, sizeof(lit) - 1

static void
t_parse(void)
{
    struct mdquota q;
    struct bstr b = BSTR_INIT;

    CHECK_INT(mdq_parse(S("1000000S,1000C"), &q), 0);
    CHECK(q.has_bytes && q.bytes == 1000000 && q.has_count && q.count == 1000);
    CHECK_INT(mdq_format(&q, &b), 0);
    CHECK_BSTR(b, "1000000S,1000C");
    CHECK_INT(mdq_parse(S("1000C,20S"), &q), 0);
    CHECK(q.bytes == 20 && q.count == 1000);
    CHECK_INT(mdq_parse(S("50000000S"), &q), 0);
    CHECK(q.has_bytes && !q.has_count);
    CHECK_INT(mdq_parse(S("7C"), &q), 0);
    CHECK(!q.has_bytes && q.has_count && q.count == 7);
    CHECK_INT(mdq_parse(S("NOQUOTA"), &q), 0);
    CHECK(!mdq_limited(&q));
    bstr_truncate(&b, 0);
    CHECK_INT(mdq_format(&q, &b), 0);
    CHECK_BSTR(b, "NOQUOTA");
    CHECK_INT(mdq_parse(S("52428800"), &q), 0); /* vpopmail's old form */
    CHECK(q.has_bytes && q.bytes == 52428800 && !q.has_count);
    bstr_free(&b);
}

static void
t_parse_bad(void)
{
    static const char *const bad[] = {
        "S",   "10X",  "10S,",  ",10S",   "10S,,5C", "10S,20S", "-5S",
        "1 S", "10s",  "noquota", "99999999999999999999S", "10S 5C",
    };
    struct mdquota q;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!CHECK_INT(mdq_parse(bad[i], strlen(bad[i]), &q), -1) ||
            !CHECK_INT(errno, EINVAL))
            CHECK_STR(bad[i], "(the quota above)");
}

static void
t_over(void)
{
    struct mdquota q = {true, true, 1000, 10};
    struct mdusage u = {900, 9};

    CHECK(!mdq_over(&q, &u, 100, 1)); /* exactly at the limit */
    CHECK(mdq_over(&q, &u, 101, 1));
    CHECK(mdq_over(&q, &u, 1, 2));
    u.bytes = -50; /* a file gone wrong: counts as empty */
    CHECK(!mdq_over(&q, &u, 1000, 1));
    u.bytes = LLONG_MAX;
    CHECK(mdq_over(&q, &u, LLONG_MAX, 0)); /* no overflow */
    q.has_bytes = q.has_count = false;
    CHECK(!mdq_over(&q, &u, LLONG_MAX, LLONG_MAX));
}

static void
t_maildirsize(void)
{
    struct mdquota q;
    struct mdusage u;
    size_t n;

    /* blanks around and between the numbers, as some writers pad */
    CHECK_INT(mdsize_parse(S("1000000S,1000C\n"
                             "  4000    12 \n\t5\t1\n"), &q, &u, &n), 0);
    CHECK(u.bytes == 4005 && u.count == 13 && n == 2);
    CHECK_INT(mdsize_parse(S("1000000S,1000C\n"
                             "4000 12\n"
                             "1200 1\n"
                             "-1200 -1\n"
                             "350  1\n"), &q, &u, &n), 0);
    CHECK(q.bytes == 1000000 && q.count == 1000);
    CHECK(u.bytes == 4350 && u.count == 13);
    CHECK_INT(n, 4);
    /* a writer that died mid-line: that line is left out */
    CHECK_INT(mdsize_parse(S("100S\n10 1\n99"), &q, &u, &n), 0);
    CHECK(u.bytes == 10 && u.count == 1 && n == 1);
    /* just the quota line */
    CHECK_INT(mdsize_parse(S("NOQUOTA\n"), &q, &u, &n), 0);
    CHECK(!mdq_limited(&q) && u.bytes == 0 && n == 0);
    /* corrupt: recalculate */
    CHECK_INT(mdsize_parse(S("100S"), &q, &u, &n), -1);
    CHECK_INT(mdsize_parse(S("garbage\n1 1\n"), &q, &u, &n), -1);
    CHECK_INT(mdsize_parse(S("100S\n1\n"), &q, &u, &n), -1);
    CHECK_INT(mdsize_parse(S("100S\n1 x\n"), &q, &u, &n), -1);
    CHECK_INT(mdsize_parse(S("100S\n1 1 1\n"), &q, &u, &n), -1);
    CHECK_INT(mdsize_parse(S("100S\n1\0 1\n"), &q, &u, &n), -1);
    CHECK_INT(mdsize_parse(S("100S\n \n"), &q, &u, &n), -1);
    CHECK_INT(errno, EINVAL);
}

static void
t_stale(void)
{
    CHECK(!mdsize_stale(100, 10, false));
    CHECK(mdsize_stale(MDQ_RECALC_SIZE, 0, false));
    CHECK(!mdsize_stale(100, MDQ_RECALC_AGE, true));
    CHECK(mdsize_stale(100, MDQ_RECALC_AGE + 1, true));
    CHECK(!mdsize_stale(100, 100000, false));
}

static void
t_names(void)
{
    static const struct {
        const char *name;
        bool has;
        unsigned long long size;
        bool trashed;
    } tab[] = {
        {"1700000000.M1P2Q3.host,S=1234", true, 1234, false},
        {"1700000000.M1P2Q3.host,S=1234:2,S", true, 1234, false},
        {"1700000000.M1P2Q3.host,S=1234,W=1260:2,ST", true, 1234, true},
        {"1700000000.12345.host,S=0:2,", true, 0, false},
        {"1700000000.M1P2Q3.host", false, 0, false},
        {"1700000000.M1P2Q3.host:2,T", false, 0, true},
        {"1700000000.M1P2Q3.host:2,DFRST", false, 0, true},
        {"1700000000.M1P2Q3.host:1,T", false, 0, false}, /* not ":2," */
        {"1700000000.M1P2Q3.host:2,a,T", false, 0, false},
        {"host,S=:2,S", false, 0, false},
        {"host,S=12x:2,", true, 12, false},
        {"host:2,S,S=99", false, 0, false}, /* after the info: not ours */
        {"h,S=99999999999999999999999", false, 0, false},
        {",S=5", true, 5, false},
        {"", false, 0, false},
    };

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        unsigned long long sz = 777;
        size_t len = strlen(tab[i].name);
        bool has = mdq_name_size(tab[i].name, len, &sz);

        if (!CHECK_INT(has, tab[i].has) ||
            (has && !CHECK_INT(sz, tab[i].size)) ||
            !CHECK_INT(mdq_name_trashed(tab[i].name, len), tab[i].trashed))
            CHECK_STR(tab[i].name, "(the name above)");
    }
}

static void
t_percent(void)
{
    struct mdquota q = {true, true, 1000, 10};
    struct mdusage u = {899, 1};

    CHECK_INT(mdq_percent(&q, &u), 89);
    u.bytes = 900;
    CHECK_INT(mdq_percent(&q, &u), 90);
    u.bytes = 0;
    u.count = 9; /* the count is the tighter limit */
    CHECK_INT(mdq_percent(&q, &u), 90);
    u.count = 1000;
    CHECK_INT(mdq_percent(&q, &u), 1000);
    u.count = -5;
    u.bytes = -5;
    CHECK_INT(mdq_percent(&q, &u), 0);
    q.has_count = false;
    q.bytes = 0; /* a quota of nothing is full */
    CHECK_INT(mdq_percent(&q, &u), 100);
    q.bytes = ULLONG_MAX / 2; /* no overflow */
    u.bytes = LLONG_MAX;
    CHECK_INT(mdq_percent(&q, &u), 100);
    q.has_bytes = false;
    CHECK_INT(mdq_percent(&q, &u), 0);
}

static void
t_write_back(void)
{
    struct mdquota q = {true, true, 1000000, 1000}, q2;
    struct mdusage u = {4350, 13}, u2;
    struct bstr b = BSTR_INIT;
    size_t n;

    CHECK_INT(mdsize_format(&q, &u, &b), 0);
    CHECK_BSTR(b, "1000000S,1000C\n4350 13\n");
    CHECK_INT(mdsize_delta(-1200, -1, &b), 0);
    CHECK_BSTR(b, "1000000S,1000C\n4350 13\n-1200 -1\n");
    /* what is written reads back */
    CHECK_INT(mdsize_parse(b.s, b.len, &q2, &u2, &n), 0);
    CHECK(mdq_same(&q, &q2) && u2.bytes == 3150 && u2.count == 12 && n == 2);
    q2.count = 999;
    CHECK(!mdq_same(&q, &q2));
    q2.has_count = false;
    CHECK(!mdq_same(&q, &q2));
    q.has_count = false;
    q.count = 5; /* a unit that is not set does not count */
    CHECK(mdq_same(&q, &q2));
    q.has_bytes = false;
    CHECK_INT(mdsize_format(&q, &u, &b), 0);
    CHECK_BSTR(b, "NOQUOTA\n4350 13\n");
    bstr_free(&b);
}

static const struct test_case cases[] = {
    {"quota strings", t_parse},
    {"quota strings refused", t_parse_bad},
    {"over quota, the limit exactly, overflow", t_over},
    {"maildirsize: sums, a torn line, corrupt files", t_maildirsize},
    {"when to recalculate", t_stale},
    {"message names: ,S= sizes and the T flag", t_names},
    {"how full: the warning's percentage", t_percent},
    {"a recalculated maildirsize, and a delta line", t_write_back},
};

TEST_MAIN(cases)
