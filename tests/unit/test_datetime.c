/* SPDX-License-Identifier: ISC */
/* test_datetime - qmail's date format and TAI64N labels. */
#include <stdio.h>

#include "datetime.h"
#include "harness.h"

static void
t_date822(void)
{
    struct bstr b = BSTR_INIT;

    /* the seed's Received line: 11 Oct 2003 09:22:28 -0000 */
    CHECK(date822_cat(&b, 1065864148) == 0);
    CHECK_BSTR(b, "11 Oct 2003 09:22:28 -0000");
    bstr_truncate(&b, 0);
    CHECK(date822_cat(&b, 0) == 0);
    CHECK_BSTR(b, "1 Jan 1970 00:00:00 -0000");
    bstr_free(&b);
}

static void
t_date822_matches_gmtime(void)
{
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct bstr b = BSTR_INIT;
    char want[64];

    /* every day over 200 years, plus leap-year edges, against libc */
    for (long long t = -2208988800LL; t < 4102444800LL; t += 86400 + 3607) {
        struct tm tm;
        time_t tt = (time_t)t;

        gmtime_r(&tt, &tm);
        snprintf(want, sizeof want, "%d %s %d %02d:%02d:%02d -0000",
                 tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
        bstr_truncate(&b, 0);
        CHECK(date822_cat(&b, tt) == 0);
        if (!CHECK_STR(b.s, want))
            break;
    }
    bstr_truncate(&b, 0);
    CHECK(date822_cat(&b, 951782400) == 0); /* 2000-02-29 */
    CHECK_BSTR(b, "29 Feb 2000 00:00:00 -0000");
    bstr_free(&b);
}

static void
t_tai64n(void)
{
    char out[TAI64N_LEN + 1];
    struct timespec ts = {0x3f87e06f - 10, 0x3172d234}, back;

    /* the seed's first log stamp */
    tai64n_fmt(out, &ts);
    out[TAI64N_LEN] = 0;
    CHECK_STR(out, "@400000003f87e06f3172d234");
    CHECK(tai64n_scan(out, TAI64N_LEN, &back) == 0);
    CHECK_INT(back.tv_sec, ts.tv_sec);
    CHECK_INT(back.tv_nsec, ts.tv_nsec);
    CHECK(tai64n_scan("@40000000zzzzzzzz00000000", 25, &back) == -1);
    CHECK(tai64n_scan("@4000", 5, &back) == -1);
    CHECK(tai64n_scan("@400000003f87e06fffffffff", 25, &back) == -1);
}

static const struct test_case tests[] = {
    {"date822 as in the seeds", t_date822},
    {"date822 agrees with gmtime over two centuries", t_date822_matches_gmtime},
    {"tai64n round trip", t_tai64n},
};

TEST_MAIN(tests)
