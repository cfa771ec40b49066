/* SPDX-License-Identifier: ISC */
/* test_datetime - qmail's date format and TAI64N labels. */
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
    {"tai64n round trip", t_tai64n},
};

TEST_MAIN(tests)
