/* SPDX-License-Identifier: ISC */
/* test_bstr - byte strings and the fmt/scan conversions. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "bstr.h"
#include "fmt.h"
#include "harness.h"

static void
t_grow_and_binary(void)
{
    struct bstr b = BSTR_INIT;

    for (int i = 0; i < 10000; i++)
        CHECK(bstr_catc(&b, (char)(i & 0xff)) == 0);
    CHECK_INT(b.len, 10000);
    CHECK_INT(b.s[b.len], 0);
    CHECK_INT((unsigned char)b.s[256], 0);
    CHECK_INT((unsigned char)b.s[257], 1);
    bstr_truncate(&b, 3);
    CHECK_INT(b.len, 3);
    CHECK(bstr_cats(&b, "xyz") == 0);
    CHECK_INT(b.len, 6);
    bstr_free(&b);
    CHECK(b.s == NULL && b.len == 0);
}

static void
t_copy_and_format(void)
{
    struct bstr b = BSTR_INIT, c = BSTR_INIT;

    CHECK(bstr_copys(&b, "Hello") == 0);
    CHECK(bstr_catf(&b, " %d-%s", 42, "x") == 0);
    CHECK_BSTR(b, "Hello 42-x");
    CHECK(bstr_copy(&c, &b) == 0);
    CHECK(bstr_equals(&c, "Hello 42-x"));
    bstr_lower(&c);
    CHECK_BSTR(c, "hello 42-x");
    CHECK(bstr_copys(&b, "") == 0);
    CHECK_INT(b.len, 0);
    CHECK(bstr_catu(&b, 18446744073709551615ULL) == 0);
    CHECK_BSTR(b, "18446744073709551615");
    bstr_free(&b);
    bstr_free(&c);
}

static void
t_overflow_refused(void)
{
    struct bstr b = BSTR_INIT;

    CHECK(bstr_ready(&b, SIZE_MAX) == -1);
    CHECK(bstr_catc(&b, 'a') == 0);
    CHECK(bstr_readyplus(&b, SIZE_MAX - 1) == -1);
    CHECK_BSTR(b, "a");
    bstr_free(&b);
}

static void
t_fmt_scan(void)
{
    char buf[FMT_ULONG + 1];
    unsigned long u = 7;
    unsigned long long ull;

    buf[fmt_ull(buf, 0)] = 0;
    CHECK_STR(buf, "0");
    buf[fmt_ull(buf, 1234567890)] = 0;
    CHECK_STR(buf, "1234567890");
    buf[fmt_ull0(buf, 42, 5)] = 0;
    CHECK_STR(buf, "00042");
    buf[fmt_hex(buf, 0x3f87e06f, 16)] = 0;
    CHECK_STR(buf, "000000003f87e06f");
    CHECK_INT(fmt_ull(NULL, 100), 3);
    CHECK_INT(scan_ulong("123abc", 6, &u), 3);
    CHECK_INT(u, 123);
    CHECK_INT(scan_ulong("abc", 3, &u), 0);
    CHECK_INT(scan_ull("18446744073709551615", 20, &ull), 20);
    CHECK(ull == 18446744073709551615ULL);
    CHECK_INT(scan_ull("18446744073709551616", 20, &ull), 0);
    CHECK_INT(scan_ulong("99", 1, &u), 1);
    CHECK_INT(u, 9);
}

/* a table's text with its "%s" places filled; nothing else is special */
static void
t_fill(void)
{
    struct bstr b = BSTR_INIT;
    const char *two[] = {"a", NULL};

    CHECK(bstr_fill_nargs("no places, 100%") == 0);
    CHECK(bstr_fill_nargs("%s and %s, %d") == 2);
    CHECK(bstr_copys(&b, "> ") == 0);
    CHECK(bstr_cat_fill(&b, "%s and %s, %d%%", two, 2) == 0);
    CHECK(bstr_equals(&b, "> a and (null), %d%%"));
    /* a wrong count: refused, nothing appended */
    CHECK(bstr_cat_fill(&b, "only %s", two, 2) == -1 && errno == EINVAL);
    CHECK(bstr_equals(&b, "> a and (null), %d%%"));
    CHECK(bstr_cat_fill(&b, "", NULL, 0) == 0);
    CHECK(b.len == strlen("> a and (null), %d%%"));
    bstr_free(&b);
}

static const struct test_case tests[] = {
    {"growth keeps bytes and NUL", t_grow_and_binary},
    {"copy, printf, lower", t_copy_and_format},
    {"overflow refused, string intact", t_overflow_refused},
    {"fmt and scan", t_fmt_scan},
    {"template filled", t_fill},
};

TEST_MAIN(tests)
