/* SPDX-License-Identifier: ISC */
/*
 * test_local_assign - users/assign lines, the cdb qmail-newu builds from
 * them (qmail-1.03's keys and values), and lookups: exact before
 * wildcard, longest wildcard prefix, case, the catch-all, bad files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "assign.h"
#include "cdbmap.h"
#include "harness.h"

static const struct {
    const char *line;
    int kind;
    const char *why; /* a word the reason must contain */
} line_cases[] = {
    {"=joe:joe:507:100:/home/joe:::", ASSIGN_ENTRY, NULL},
    {"+joe-:joe:507:100:/home/joe:-::", ASSIGN_ENTRY, NULL},
    {"+:alias:7790:2108:/var/qmail/alias:-::", ASSIGN_ENTRY, NULL},
    {"+dom.com-:dom.com:508:503:/home/vpopmail/domains/dom.com:-::",
     ASSIGN_ENTRY, NULL},
    {"=joe:joe:507:100:/home/joe:::trailing junk", ASSIGN_ENTRY, NULL},
    {"=joe:joe:507:100:/home/joe:::\r", ASSIGN_ENTRY, NULL},
    {"=:nobody:1:1:/x:::", ASSIGN_ENTRY, NULL},
    {".", ASSIGN_END, NULL},
    {".anything", ASSIGN_END, NULL},
    {"", ASSIGN_BAD, "begin"},
    {"joe:joe:507:100:/home/joe:::", ASSIGN_BAD, "begin"},
    {"#=joe:joe:507:100:/home/joe:::", ASSIGN_BAD, "begin"},
    {"=joe:joe:507:100:/home/joe::", ASSIGN_BAD, "few"},
    {"=joe", ASSIGN_BAD, "few"},
    {"=joe::507:100:/home/joe:::", ASSIGN_BAD, "user"},
    {"=joe:joe:x507:100:/home/joe:::", ASSIGN_BAD, "uid"},
    {"=joe:joe::100:/home/joe:::", ASSIGN_BAD, "uid"},
    {"=joe:joe:99999999999:100:/home/joe:::", ASSIGN_BAD, "uid"},
    {"=joe:joe:4294967295:100:/home/joe:::", ASSIGN_BAD, "uid"},
    {"=joe:joe:507:-1:/home/joe:::", ASSIGN_BAD, "gid"},
    {"=joe:joe:507:100:home/joe:::", ASSIGN_BAD, "absolute"},
    {"=joe:joe:507:100::::", ASSIGN_BAD, "absolute"},
};

static void
t_lines(void)
{
    for (size_t i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
        struct assign_entry e;
        const char *why;
        int k = assign_parse_line(line_cases[i].line,
                                  strlen(line_cases[i].line), &e, &why);

        if (!CHECK_INT(k, line_cases[i].kind))
            printf("    line: %s\n", line_cases[i].line);
        if (line_cases[i].why &&
            !CHECK(why && strstr(why, line_cases[i].why)))
            printf("    line: %s (why: %s)\n", line_cases[i].line,
                   why ? why : "(none)");
    }
}

static void
t_nul_in_line(void)
{
    struct assign_entry e;
    const char *why;

    CHECK_INT(assign_parse_line("=jo\0e:joe:1:1:/h:::", 19, &e, &why),
              ASSIGN_BAD);
    CHECK(strstr(why, "NUL") != NULL);
}

static void
t_fields(void)
{
    struct assign_entry e;
    struct bstr k = BSTR_INIT, v = BSTR_INIT;
    const char *why;
    static const char line[] = "+Dom.COM-:dom.com:508:503:/h/dom.com:-:pre:";

    CHECK_INT(assign_parse_line(line, sizeof line - 1, &e, &why),
              ASSIGN_ENTRY);
    CHECK_INT(e.type, '+');
    CHECK_INT(e.uid, 508);
    CHECK_INT(e.gid, 503);
    CHECK(assign_key(&k, &e) == 0);
    CHECK_BSTR(k, "!dom.com-"); /* lowercase, no NUL for a wildcard */
    CHECK(assign_value(&v, &e) == 0);
    CHECK(v.len == 32 &&
          memcmp(v.s, "dom.com\0" "508\0" "503\0" "/h/dom.com\0-\0pre", 32) ==
              0);
    CHECK(assign_parse_line("=Joe:joe:1:2:/h:::", 18, &e, &why) ==
          ASSIGN_ENTRY);
    CHECK(assign_key(&k, &e) == 0);
    CHECK(k.len == 5 && memcmp(k.s, "!joe\0", 5) == 0);
    bstr_free(&k);
    bstr_free(&v);
}

static const char assign_text[] =
    "=joe:joe:507:100:/home/joe:::\n"
    "+joe-:joe:507:100:/home/joe:-::\n"
    "+dom.com-:vpopmail:89:89:/home/vpopmail/domains/dom.com:-::\n"
    "+dom.com-sales-:sales:90:90:/home/sales:-:team-:\n"
    "=Boss:bill:600:100:/home/bill:-:boss:\n"
    "=joe:second:1:1:/second:::\n"
    "+:alias:7790:2108:/var/qmail/alias:-::\n"
    ".\n"
    "=ignored:after:1:1:/the/dot:::\n";

/* local -> "user uid gid home dash ext", or "" when nothing matches */
static const struct {
    const char *local, *want;
} lookup_cases[] = {
    {"joe", "joe 507 100 /home/joe  "},
    {"JOE", "joe 507 100 /home/joe  "},
    {"joe-", "joe 507 100 /home/joe - "},
    {"joe-list-owner", "joe 507 100 /home/joe - list-owner"},
    {"Joe-Mixed", "joe 507 100 /home/joe - Mixed"},
    {"dom.com-info", "vpopmail 89 89 /home/vpopmail/domains/dom.com - info"},
    {"dom.com-sales-bob", "sales 90 90 /home/sales - team-bob"},
    {"dom.com-sales-", "sales 90 90 /home/sales - team-"},
    {"dom.com-sales", "vpopmail 89 89 /home/vpopmail/domains/dom.com - sales"},
    {"boss", "bill 600 100 /home/bill - boss"},
    {"boss-x", "alias 7790 2108 /var/qmail/alias - boss-x"},
    {"bill", "alias 7790 2108 /var/qmail/alias - bill"},
    {"ignored", "alias 7790 2108 /var/qmail/alias - ignored"},
    {"joe.smith", "alias 7790 2108 /var/qmail/alias - joe.smith"},
};

static void
describe(const struct local_user *u, struct bstr *out)
{
    bstr_truncate(out, 0);
    if (bstr_catf(out, "%s %lu %lu %s %s %s", u->user.s, u->uid, u->gid,
                  u->home.s, u->dash.s ? u->dash.s : "",
                  u->ext.s ? u->ext.s : "") == -1)
        bstr_truncate(out, 0);
}

static void
t_compile_and_lookup(void)
{
    struct bstr cdb = BSTR_INIT, tmp = BSTR_INIT, errs = BSTR_INIT;
    struct bstr got = BSTR_INIT, wild = BSTR_INIT;
    size_t n = 0;

    CHECK(bstr_catf(&cdb, "%s/users.cdb", harness_tmpdir()) == 0);
    CHECK(bstr_catf(&tmp, "%s/users.tmp", harness_tmpdir()) == 0);
    CHECK_INT(assign_compile(assign_text, sizeof assign_text - 1, cdb.s,
                             tmp.s, &errs, &n),
              0);
    CHECK_INT(n, 7);
    CHECK(access(tmp.s, F_OK) == -1);
    /* the list of wildcard characters: "-" once */
    CHECK_INT(cdbmap_find(cdb.s, "", 0, &wild), 1);
    CHECK_BSTR(wild, "-");
    for (size_t i = 0; i < sizeof lookup_cases / sizeof lookup_cases[0];
         i++) {
        struct local_user u;
        const char *l = lookup_cases[i].local;

        local_user_init(&u);
        CHECK_INT(assign_lookup(cdb.s, l, strlen(l), &u), 1);
        describe(&u, &got);
        if (!CHECK_STR(got.s ? got.s : "", lookup_cases[i].want))
            printf("    local: %s\n", l);
        local_user_free(&u);
    }
    bstr_free(&cdb);
    bstr_free(&tmp);
    bstr_free(&errs);
    bstr_free(&got);
    bstr_free(&wild);
}

static void
t_no_catchall(void)
{
    static const char text[] = "+ab-:x:1:1:/x:-::\n=exact:y:2:2:/y:::\n.\n";
    struct bstr cdb = BSTR_INIT, errs = BSTR_INIT;
    struct local_user u;
    size_t n;

    CHECK(bstr_catf(&cdb, "%s/nc.cdb", harness_tmpdir()) == 0);
    CHECK_INT(assign_compile(text, sizeof text - 1, cdb.s, NULL, &errs, &n),
              0);
    local_user_init(&u);
    CHECK_INT(assign_lookup(cdb.s, "other", 5, &u), 0);
    CHECK_INT(assign_lookup(cdb.s, "ab", 2, &u), 0); /* "ab-" wants the dash */
    CHECK_INT(assign_lookup(cdb.s, "ab-z", 4, &u), 1);
    CHECK_INT(assign_lookup(cdb.s, "exact-no", 8, &u), 0);
    CHECK_INT(assign_lookup("/nonexistent/users/cdb", "x", 1, &u), 0);
    local_user_free(&u);
    bstr_free(&cdb);
    bstr_free(&errs);
}

static void
t_bad_file_keeps_old(void)
{
    static const char good[] = "=a:a:1:1:/a:::\n.\n";
    static const char bad[] = "=a:a:1:1:/a:::\n"
                              "=b:b:x:1:/b:::\n"
                              "garbage\n"
                              "=c:c:1:1:relative:::\n"
                              ".\n";
    struct bstr cdb = BSTR_INIT, errs = BSTR_INIT;
    struct local_user u;
    size_t n;

    CHECK(bstr_catf(&cdb, "%s/keep.cdb", harness_tmpdir()) == 0);
    CHECK_INT(assign_compile(good, sizeof good - 1, cdb.s, NULL, &errs, &n),
              0);
    CHECK_INT(assign_compile(bad, sizeof bad - 1, cdb.s, NULL, &errs, &n),
              -1);
    CHECK_INT(errno, EINVAL);
    CHECK(bstr_catc(&errs, '\0') == 0);
    CHECK(strstr(errs.s, "line 2: uid") != NULL);
    CHECK(strstr(errs.s, "line 3: line must begin") != NULL);
    CHECK(strstr(errs.s, "line 4: home") != NULL);
    CHECK(strstr(errs.s, "line 1") == NULL);
    local_user_init(&u);
    CHECK_INT(assign_lookup(cdb.s, "a", 1, &u), 1);
    local_user_free(&u);
    bstr_free(&cdb);
    bstr_free(&errs);
}

static void
t_missing_dot(void)
{
    static const char text[] = "=a:a:1:1:/a:::\n";
    static const char nonl[] = "=a:a:1:1:/a:::\n=b:b:1:1:/b:::";
    struct bstr cdb = BSTR_INIT, errs = BSTR_INIT;
    size_t n;

    CHECK(bstr_catf(&cdb, "%s/nodot.cdb", harness_tmpdir()) == 0);
    CHECK_INT(assign_compile(text, sizeof text - 1, cdb.s, NULL, &errs, &n),
              -1);
    CHECK(bstr_catc(&errs, '\0') == 0);
    CHECK(strstr(errs.s, "line 2: no final line with a single dot") != NULL);
    CHECK_INT(assign_compile(nonl, sizeof nonl - 1, cdb.s, NULL, &errs, &n),
              -1);
    CHECK(bstr_catc(&errs, '\0') == 0);
    CHECK(strstr(errs.s, "line 2: last line has no newline") != NULL);
    CHECK(access(cdb.s, F_OK) == -1);
    /* the empty file is an error too; a lone dot is an empty map */
    CHECK_INT(assign_compile("", 0, cdb.s, NULL, &errs, &n), -1);
    CHECK_INT(assign_compile(".\n", 2, cdb.s, NULL, &errs, &n), 0);
    CHECK_INT(n, 0);
    bstr_free(&cdb);
    bstr_free(&errs);
}

static void
t_many_errors_capped(void)
{
    struct bstr text = BSTR_INIT, cdb = BSTR_INIT, errs = BSTR_INIT;
    size_t n, lines = 0;

    for (int i = 0; i < 100; i++)
        CHECK(bstr_cats(&text, "bad\n") == 0);
    CHECK(bstr_cats(&text, ".\n") == 0);
    CHECK(bstr_catf(&cdb, "%s/cap.cdb", harness_tmpdir()) == 0);
    CHECK_INT(assign_compile(text.s, text.len, cdb.s, NULL, &errs, &n), -1);
    for (size_t i = 0; i < errs.len; i++)
        lines += errs.s[i] == '\n';
    CHECK_INT(lines, ASSIGN_MAX_ERRORS + 1);
    bstr_free(&text);
    bstr_free(&cdb);
    bstr_free(&errs);
}

static const struct {
    const char *v;
    size_t len;
    int ok;
} value_cases[] = {
    {"u\0" "1\0" "2\0/h\0-\0e", 12, 1},
    {"u\0" "1\0" "2\0/h\0-\0e\0", 13, 1},  /* trailing NUL tolerated */
    {"u\0" "1\0" "2\0/h\0\0", 10, 1},      /* empty dash and ext */
    {"u\0" "1\0" "2\0/h\0-", 10, 0},        /* ext missing */
    {"u\0" "x\0" "2\0/h\0-\0e", 12, 0},
    {"\0" "1\0" "2\0/h\0-\0e", 11, 0},
    {"u\0" "1\0" "2\0h\0-\0e", 11, 0},
    {"u\0" "1\0" "2\0/h\0-\0e\0x", 14, 0},
};

static void
t_values(void)
{
    for (size_t i = 0; i < sizeof value_cases / sizeof value_cases[0]; i++) {
        struct local_user u;
        int r;

        local_user_init(&u);
        r = assign_value_parse(value_cases[i].v, value_cases[i].len, &u);
        if (!CHECK_INT(r, value_cases[i].ok ? 0 : -1))
            printf("    value case %zu\n", i);
        local_user_free(&u);
    }
}

static const struct test_case cases[] = {
    {"assign lines", t_lines},
    {"NUL in a line", t_nul_in_line},
    {"fields, keys and values", t_fields},
    {"compile and lookup", t_compile_and_lookup},
    {"no catch-all", t_no_catchall},
    {"bad file keeps the old cdb", t_bad_file_keeps_old},
    {"missing final dot", t_missing_dot},
    {"many errors capped", t_many_errors_capped},
    {"cdb values", t_values},
};

TEST_MAIN(cases)
