/* SPDX-License-Identifier: ISC */
/*
 * test_vassign - virtual domains' lines in users/assign, as vpopmail's
 * vadddomain writes them (qmail-users(5)): added before the "." line,
 * replaced in place, removed, other lines and comments kept byte for
 * byte, a missing "." added, lines after "." left alone, a domain that
 * is a prefix of another not confused with it, bad names and homes.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "vassign.h"

#define S(lit) lit, sizeof(lit) - 1

static const char seed[] = "=joe:joe:1001:1001:/home/joe:::\n"
                           "+dom.com-:dom.com:508:503:/home/vpopmail/domains/"
                           "dom.com:-::\n"
                           "+dom.com.au-:dom.com.au:508:503:/home/vpopmail/"
                           "domains/dom.com.au:-::\n"
                           ".\n";

static void
t_add(void)
{
    struct bstr out = BSTR_INIT, line = BSTR_INIT;

    CHECK_INT(vassign_set(S(seed), "new.test", 89, 89,
                          "/home/vpopmail/domains/new.test", &out), 0);
    CHECK_BSTR(out, "=joe:joe:1001:1001:/home/joe:::\n"
                    "+dom.com-:dom.com:508:503:/home/vpopmail/domains/"
                    "dom.com:-::\n"
                    "+dom.com.au-:dom.com.au:508:503:/home/vpopmail/"
                    "domains/dom.com.au:-::\n"
                    "+new.test-:new.test:89:89:/home/vpopmail/domains/"
                    "new.test:-::\n"
                    ".\n");
    CHECK_INT(vassign_find(out.s, out.len, "new.test", &line), 1);
    CHECK_BSTR(line, "+new.test-:new.test:89:89:/home/vpopmail/domains/"
                     "new.test:-::");
    CHECK_INT(vassign_find(out.s, out.len, "dom", &line), 0);
    /* an empty file gets its "." */
    bstr_truncate(&out, 0);
    CHECK_INT(vassign_set("", 0, "a.test", 1, 2, "/d/a.test", &out), 0);
    CHECK_BSTR(out, "+a.test-:a.test:1:2:/d/a.test:-::\n.\n");
    bstr_free(&out);
    bstr_free(&line);
}

static void
t_replace_and_delete(void)
{
    struct bstr out = BSTR_INIT, out2 = BSTR_INIT;

    CHECK_INT(vassign_set(S(seed), "dom.com", 600, 601, "/srv/dom.com", &out),
              0);
    CHECK_BSTR(out, "=joe:joe:1001:1001:/home/joe:::\n"
                    "+dom.com-:dom.com:600:601:/srv/dom.com:-::\n"
                    "+dom.com.au-:dom.com.au:508:503:/home/vpopmail/"
                    "domains/dom.com.au:-::\n"
                    ".\n");
    CHECK_INT(vassign_del(out.s, out.len, "dom.com", &out2), 0);
    CHECK_BSTR(out2, "=joe:joe:1001:1001:/home/joe:::\n"
                     "+dom.com.au-:dom.com.au:508:503:/home/vpopmail/"
                     "domains/dom.com.au:-::\n"
                     ".\n");
    bstr_truncate(&out, 0);
    CHECK_INT(vassign_del(out2.s, out2.len, "dom.com", &out), -1);
    CHECK_INT(errno, ENOENT);
    bstr_free(&out);
    bstr_free(&out2);
}

static void
t_after_the_end(void)
{
    static const char text[] = "# comment\n.\n+late.test-:late.test:1:1:/x:-::\n";
    struct bstr out = BSTR_INIT, line = BSTR_INIT;

    CHECK_INT(vassign_find(S(text), "late.test", &line), 0);
    CHECK_INT(vassign_set(S(text), "b.test", 1, 1, "/b", &out), 0);
    CHECK_BSTR(out, "# comment\n+b.test-:b.test:1:1:/b:-::\n.\n"
                    "+late.test-:late.test:1:1:/x:-::\n");
    bstr_free(&out);
    bstr_free(&line);
}

static void
t_bad(void)
{
    static const char *const names[] = {
        "",        "Dom.com", "dom..com", ".dom.com", "dom.com.", "-dom.com",
        "dom-.com", "dom.com/..", "dom:com", "dom com", "d\nx",
    };
    struct bstr out = BSTR_INIT;

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!CHECK(!vdomain_name_ok(names[i], strlen(names[i]))))
            CHECK_STR(names[i], "(the name above)");
        CHECK_INT(vassign_set(S(seed), names[i], 1, 1, "/d", &out), -1);
    }
    CHECK(vdomain_name_ok(S("a-b.example.com")));
    CHECK(vdomain_name_ok(S("x1")));
    CHECK_INT(vassign_set(S(seed), "ok.test", 1, 1, "relative", &out), -1);
    CHECK_INT(vassign_set(S(seed), "ok.test", 1, 1, "/a:b", &out), -1);
    CHECK_INT(vassign_set(S(seed), "ok.test", 1, 1, "/a\nb", &out), -1);
    CHECK_INT(errno, EINVAL);
    bstr_free(&out);
}

static const struct test_case cases[] = {
    {"a domain added before the final dot", t_add},
    {"replaced in place, deleted", t_replace_and_delete},
    {"lines after the final dot", t_after_the_end},
    {"bad names and homes", t_bad},
};

TEST_MAIN(cases)
