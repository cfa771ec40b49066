/* SPDX-License-Identifier: ISC */
/*
 * test_vpasswd - vpopmail's vpasswd lines: the lines vpopmail 5.4's
 * vadduser writes (with and without the clear-text field), lenient reads
 * of short lines, refusals (control bytes, a ':' where it breaks the
 * line, bad numbers, over-long fields), new names (path tricks, case,
 * the domain's own file names), and the table: sorted insertion,
 * duplicates, deletion, the file's text back byte for byte.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "vpw.h"

static void
t_parse(void)
{
    static const char l1[] = "postmaster:$1$ab$Qx0mVv1m1X.wJpQ3o7xx1.:1:0:"
                             "Postmaster:/home/vpopmail/domains/dom.com/"
                             "postmaster:NOQUOTA";
    static const char l2[] = "joe:$6$s$h:2:2048:Joe Bloggs:/home/vpopmail/"
                             "domains/dom.com/0/joe:50000000S,1000C:pa:ss";
    struct vpw pw;
    struct bstr b = BSTR_INIT;

    if (CHECK_INT(vpw_parse(l1, sizeof l1 - 1, &pw), 0)) {
        CHECK_STR(pw.name, "postmaster");
        CHECK_STR(pw.passwd, "$1$ab$Qx0mVv1m1X.wJpQ3o7xx1.");
        CHECK_INT(pw.uid, 1);
        CHECK_INT(pw.gid, 0);
        CHECK_STR(pw.gecos, "Postmaster");
        CHECK_STR(pw.dir, "/home/vpopmail/domains/dom.com/postmaster");
        CHECK_STR(pw.quota, "NOQUOTA");
        CHECK(pw.clear == NULL);
        CHECK_INT(vpw_format(&pw, &b), 0);
        CHECK(b.len == sizeof l1 && memcmp(b.s, l1, sizeof l1 - 1) == 0 &&
              b.s[b.len - 1] == '\n');
        vpw_free(&pw);
    }
    bstr_truncate(&b, 0);
    if (CHECK_INT(vpw_parse(l2, sizeof l2 - 1, &pw), 0)) {
        CHECK_INT(pw.uid, 2);
        CHECK_INT(pw.gid, 2048);
        CHECK(pw.gid & VPW_NO_SMTP);
        CHECK_STR(pw.quota, "50000000S,1000C");
        CHECK_STR(pw.clear, "pa:ss"); /* the rest of the line */
        CHECK_INT(vpw_format(&pw, &b), 0);
        CHECK(b.len == sizeof l2 && memcmp(b.s, l2, sizeof l2 - 1) == 0);
        vpw_free(&pw);
    }
    /* short lines read as vpopmail reads them: missing fields empty */
    if (CHECK_INT(vpw_parse("old:xyz", 7, &pw), 0)) {
        CHECK_STR(pw.passwd, "xyz");
        CHECK_INT(pw.uid, 0);
        CHECK_STR(pw.dir, "");
        CHECK_STR(pw.quota, "");
        vpw_free(&pw);
    }
    if (CHECK_INT(vpw_parse("e:::::/d:", 9, &pw), 0)) {
        CHECK_INT(pw.uid, 0);
        CHECK_STR(pw.dir, "/d");
        CHECK_STR(pw.quota, "");
        vpw_free(&pw);
    }
    bstr_free(&b);
}

static void
t_parse_bad(void)
{
    static const char *const bad[] = {
        "",           "nocolon",      ":pw:1:0:g:/d:NOQUOTA",
        "a:p:x:0:g:/d:NOQUOTA",      "a:p:1:-1:g:/d:NOQUOTA",
        "a:p:1:99999999999:g:/d:Q",  "a:p\r:1:0:g:/d:NOQUOTA",
        "a:p:1:0:g\t:/d:NOQUOTA",
    };
    static const char nul[] = "a:p:1:0:g\0x:/d:NOQUOTA";
    char longline[VPW_FIELD_MAX + 40];
    struct vpw pw;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!CHECK_INT(vpw_parse(bad[i], strlen(bad[i]), &pw), -1) ||
            !CHECK_INT(errno, EINVAL))
            CHECK_STR(bad[i], "(the line above)");
    CHECK_INT(vpw_parse(nul, sizeof nul - 1, &pw), -1);
    memcpy(longline, "a:", 2);
    memset(longline + 2, 'x', VPW_FIELD_MAX + 1);
    CHECK_INT(vpw_parse(longline, VPW_FIELD_MAX + 3, &pw), -1);
}

static void
t_format_bad(void)
{
    char name[] = "joe", none[] = "", empty[] = "", gecos[] = "a:b",
         ok[] = "ok", dir[] = "/d", dir2[] = "/d\n/x", quota[] = "NOQUOTA",
         clear[] = "with:colon ok";
    struct vpw pw = {name, none, 1, 0, gecos, dir, quota, NULL};
    struct bstr b = BSTR_INIT;

    CHECK_INT(vpw_format(&pw, &b), -1); /* a ':' in the gecos */
    CHECK_INT(errno, EINVAL);
    pw.gecos = ok;
    pw.dir = dir2;
    CHECK_INT(vpw_format(&pw, &b), -1); /* a newline: a second line */
    pw.dir = dir;
    pw.name = empty;
    CHECK_INT(vpw_format(&pw, &b), -1);
    pw.name = name;
    pw.clear = clear;
    CHECK_INT(vpw_format(&pw, &b), 0);
    CHECK_BSTR(b, "joe::1:0:ok:/d:NOQUOTA:with:colon ok\n");
    bstr_free(&b);
}

static void
t_names(void)
{
    static const char *const good[] = {"joe", "j.doe", "a_b-c", "0",
                                       "abcdefghijklmnopqrstuvwxyz012345"};
    static const char *const bad[] = {
        "",       "Joe",      "../etc", "a/b",   "a..b",       ".hidden",
        "-x",     "a:b",      "a b",    "a\nb",  "vpasswd",    "vpasswd.cdb", "vscram.cdb",
        "caf\xc3\xa9", "abcdefghijklmnopqrstuvwxyz0123456"};

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!CHECK(vpw_name_ok(good[i], strlen(good[i]))))
            CHECK_STR(good[i], "(the name above)");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!CHECK(!vpw_name_ok(bad[i], strlen(bad[i]))))
            CHECK_STR(bad[i], "(the name above)");
    CHECK(!vpw_name_ok("a\0b", 3));
}

static struct vpw
entry(const char *name)
{
    struct vpw pw;
    char line[200];

    strcpy(line, name);
    strcat(line, "::1:0:g:/d/");
    strcat(line, name);
    strcat(line, ":NOQUOTA");
    if (vpw_parse(line, strlen(line), &pw) == -1)
        memset(&pw, 0, sizeof pw);
    return pw;
}

static void
t_table(void)
{
    static const char text[] = "bob::1:0:g:/d/bob:NOQUOTA\n"
                               "\n"
                               "dave::1:0:g:/d/dave:NOQUOTA\n"
                               "dave::1:0:second:/d/dave:NOQUOTA\n";
    struct vpw_table t;
    struct vpw pw;
    struct bstr b = BSTR_INIT;
    size_t bad;

    if (!CHECK_INT(vpw_table_parse(&t, text, sizeof text - 1, &bad), 0))
        return;
    CHECK_INT(t.n, 3);
    CHECK_STR(vpw_table_find(&t, "dave")->gecos, "g"); /* the first */
    pw = entry("carol");
    CHECK_INT(vpw_table_add(&t, &pw), 0);
    CHECK(pw.name == NULL); /* taken over */
    pw = entry("alice");
    CHECK_INT(vpw_table_add(&t, &pw), 0);
    pw = entry("zed");
    CHECK_INT(vpw_table_add(&t, &pw), 0);
    pw = entry("bob");
    CHECK_INT(vpw_table_add(&t, &pw), -1);
    CHECK_INT(errno, EEXIST);
    vpw_free(&pw);
    CHECK_INT(vpw_table_del(&t, "dave"), 0); /* both lines */
    CHECK_INT(vpw_table_del(&t, "nobody"), -1);
    CHECK_INT(errno, ENOENT);
    CHECK_INT(vpw_table_format(&t, &b), 0);
    CHECK_BSTR(b, "alice::1:0:g:/d/alice:NOQUOTA\n"
                   "bob::1:0:g:/d/bob:NOQUOTA\n"
                   "carol::1:0:g:/d/carol:NOQUOTA\n"
                   "zed::1:0:g:/d/zed:NOQUOTA\n");
    vpw_table_free(&t);
    bstr_free(&b);
    /* a bad line spoils the file, naming the line */
    CHECK_INT(vpw_table_parse(&t, "a::1:0:g:/d:Q\nb::x:0:g:/d:Q\n", 28, &bad),
              -1);
    CHECK_INT(bad, 2);
    CHECK_INT(t.n, 0);
}

static const struct test_case cases[] = {
    {"lines as vpopmail writes them, and short ones", t_parse},
    {"lines refused", t_parse_bad},
    {"nothing written that breaks a line", t_format_bad},
    {"names of new accounts", t_names},
    {"the table: sorted insertion, duplicates, deletion", t_table},
};

TEST_MAIN(cases)
