/* SPDX-License-Identifier: ISC */
/*
 * test_pattern - spamcontrol's wildmat lines: which lines are patterns,
 * what each element matches (case ignored), the last matching line
 * deciding with '!' exempting, '@domain' patterns on addresses, and
 * hostile patterns that would make a backtracking matcher explode.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "pattern.h"

struct glob_case {
    const char *pat, *s;
    bool want;
};

/* Rich Salz's wildmat semantics as spamcontrol uses them, plus case. */
static const struct glob_case globs[] = {
    {"*", "", true},
    {"*", "anything@at.all", true},
    {"", "", true},
    {"", "a", false},
    {"abc", "abc", true},
    {"abc", "ABC", true},
    {"abc", "abcd", false},
    {"a?c", "abc", true},
    {"a?c", "ac", false},
    {"*@example.com", "joe@example.com", true},
    {"*@example.com", "joe@example.com.evil", false},
    {"*@*.example.com", "joe@mx.example.com", true},
    {"*@*.example.com", "joe@example.com", false},
    {"spam*@*", "spammer@x.y", true},
    {"*spam*", "nospamhere", true},
    {"[abc]x", "bx", true},
    {"[abc]x", "dx", false},
    {"[^abc]x", "dx", true},
    {"[!abc]x", "ax", false},
    {"[a-f]1", "E1", true},
    {"[a-f]1", "g1", false},
    {"[]]", "]", true},
    {"[a-]", "-", true},
    {"a\\*b", "a*b", true},
    {"a\\*b", "axb", false},
    {"[abc", "[abc", true},   /* no ']': '[' is itself */
    {"[abc", "a", false},
    {"x\\", "x\\", true},     /* a trailing '\' is itself */
    {"*a*b*c*", "xaybzc", true},
    {"*a*b*c*", "xaybz", false},
    {"a*", "a", true},
    {"*a", "ba", true},
    {"**", "x", true},
    {"?*?", "a", false},
    {"?*?", "ab", true},
};

static void
t_glob_table(void)
{
    for (size_t i = 0; i < sizeof globs / sizeof globs[0]; i++) {
        const struct glob_case *c = &globs[i];
        bool got = pattern_glob(c->pat, strlen(c->pat), c->s, strlen(c->s));

        if (!CHECK(got == c->want))
            printf("    pattern \"%s\" subject \"%s\": want %d\n", c->pat,
                   c->s, c->want);
    }
}

static void
t_is_wild(void)
{
    CHECK(!pattern_is_wild("joe@example.com", 15));
    CHECK(!pattern_is_wild("@example.com", 12));
    CHECK(pattern_is_wild("*@example.com", 13));
    CHECK(pattern_is_wild("!joe@example.com", 16));
    CHECK(pattern_is_wild("a?b", 3));
    CHECK(pattern_is_wild("[ab]", 4));
    CHECK(pattern_is_wild("a\\b", 3));
}

/* a ctl list: NUL-terminated items */
static void
mklist(struct bstr *b, const char *const *lines)
{
    bstr_truncate(b, 0);
    for (; *lines; lines++)
        if (bstr_catb(b, *lines, strlen(*lines) + 1) == -1)
            CHECK(0);
}

static void
t_list_order_and_negation(void)
{
    static const char *const lines[] = {
        "plain@example.org",  /* not a pattern: the caller's hash set */
        "*@example.com", "!boss@example.com", "*spam*@example.com",
        "!@friends.example", "@*.bad.example", NULL};
    struct bstr b = BSTR_INIT;
    struct pattern_list l;

    mklist(&b, lines);
    CHECK_INT(pattern_list_build(&l, &b, PATTERN_ADDR), 0);
    CHECK_INT(l.n, 5);
    CHECK_INT(pattern_list_match(&l, "joe@example.com", 15), PATTERN_LISTED);
    CHECK_INT(pattern_list_match(&l, "BOSS@Example.COM", 16),
              PATTERN_EXEMPT);
    /* a later line wins over the exemption before it */
    CHECK_INT(pattern_list_match(&l, "spammer@example.com", 19),
              PATTERN_LISTED);
    CHECK_INT(pattern_list_match(&l, "plain@example.org", 17), PATTERN_NONE);
    CHECK_INT(pattern_list_match(&l, "x@friends.example", 17),
              PATTERN_EXEMPT);
    CHECK_INT(pattern_list_match(&l, "x@mx.bad.example", 16),
              PATTERN_LISTED);
    /* '@' patterns look at the part after the last '@' only */
    CHECK_INT(pattern_list_match(&l, "a@mx.bad.example@good.example", 29),
              PATTERN_NONE);
    CHECK_INT(pattern_list_match(&l, "nobody", 6), PATTERN_NONE);
    /* the deciding line itself, for a log line */
    CHECK_STR(pattern_list_find(&l, "spammer@example.com", 19)->p,
              "*spam*@example.com");
    CHECK_STR(pattern_list_find(&l, "boss@example.com", 16)->p,
              "boss@example.com");
    CHECK(pattern_list_find(&l, "boss@example.com", 16)->neg);
    CHECK(pattern_list_find(&l, "nobody", 6) == NULL);
    pattern_list_free(&l);
    CHECK(l.item == NULL && l.n == 0);
    bstr_free(&b);
}

static void
t_list_without_addr(void)
{
    static const char *const lines[] = {"@*", "*.dialup.example", NULL};
    struct bstr b = BSTR_INIT;
    struct pattern_list l;

    mklist(&b, lines);
    CHECK_INT(pattern_list_build(&l, &b, 0), 0);
    CHECK_INT(pattern_list_match(&l, "host.dialup.example", 19),
              PATTERN_LISTED);
    /* without PATTERN_ADDR, '@*' is a whole-subject pattern */
    CHECK_INT(pattern_list_match(&l, "x@y", 3), PATTERN_NONE);
    CHECK_INT(pattern_list_match(&l, "@y", 2), PATTERN_LISTED);
    pattern_list_free(&l);
    bstr_free(&b);
}

static void
t_empty_list(void)
{
    struct bstr b = BSTR_INIT;
    struct pattern_list l;

    CHECK_INT(pattern_list_build(&l, &b, PATTERN_ADDR), 0);
    CHECK_INT(l.n, 0);
    CHECK_INT(pattern_list_match(&l, "a@b", 3), PATTERN_NONE);
    pattern_list_free(&l);
}

/* '*' storms: a backtracking matcher takes exponential time here; ours
 * must finish 200 of them against 4000-byte subjects in well under a
 * second each round. */
static void
t_star_storm(void)
{
    static char pat[2001], subj[4001];
    struct timespec a, z;
    double ms;

    for (size_t i = 0; i < 2000; i += 2) {
        pat[i] = '*';
        pat[i + 1] = 'a';
    }
    pat[1999] = 'b'; /* never matches: forces every retry */
    memset(subj, 'a', 4000);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int k = 0; k < 20; k++)
        CHECK(!pattern_glob(pat, 2000, subj, 4000));
    clock_gettime(CLOCK_MONOTONIC, &z);
    ms = (double)(z.tv_sec - a.tv_sec) * 1e3 +
         (double)(z.tv_nsec - a.tv_nsec) / 1e6;
    if (!CHECK(ms < 5000))
        printf("    20 storms took %.0f ms\n", ms);
    /* and the same shape that does match */
    pat[1999] = 'a';
    CHECK(pattern_glob(pat, 2000, subj, 4000));
}

/* control bytes and NULs are ordinary bytes, never terminators */
static void
t_hostile_bytes(void)
{
    CHECK(pattern_glob("a?c", 3, "a\0c", 3));
    CHECK(pattern_glob("*\r\n*", 4, "x\r\ny", 4));
    CHECK(!pattern_glob("abc", 3, "ab\0", 3));
    CHECK(pattern_glob("[\x01-\x1f]", 5, "\x07", 1));
    CHECK(pattern_glob("\xff*", 2, "\xff\xfe", 2));
}

static const struct test_case cases[] = {
    {"glob_table", t_glob_table},
    {"is_wild", t_is_wild},
    {"list_order_and_negation", t_list_order_and_negation},
    {"list_without_addr", t_list_without_addr},
    {"empty_list", t_empty_list},
    {"star_storm", t_star_storm},
    {"hostile_bytes", t_hostile_bytes},
};

TEST_MAIN(cases)
