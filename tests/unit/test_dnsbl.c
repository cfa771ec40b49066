/* SPDX-License-Identifier: ISC */
/*
 * test_dnsbl - the site syntax of control/dnsbl and control/rhsbl, which
 * is Postfix's postscreen_dnsbl_sites (postconf(5)): zone[=filter][*weight],
 * filter d.d.d.d where d is a number or [list] of numbers and n..m ranges
 * joined by ';', weight a whole number (negative: an allow list), default
 * 1; and the item splitter (blanks or commas, '#' comments).  The lookups
 * need a network and are tested end to end (test_smtpd_dnsbl.py); here
 * only which queries a lookup holds, with no server to send them to.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "deadline.h"
#include "dnsbl.h"
#include "harness.h"

static bool
parse(const char *s, struct dnsbl_site *site, const char **why)
{
    *why = NULL;
    return dnsbl_site_parse(s, strlen(s), site, why) == 0;
}

static bool
matches(const struct dnsbl_site *site, unsigned a, unsigned b, unsigned c,
        unsigned d)
{
    unsigned char ip[4] = {(unsigned char)a, (unsigned char)b,
                           (unsigned char)c, (unsigned char)d};

    return dnsbl_site_match(site, ip);
}

/* Postfix's own examples and the forms seen in admins' configurations. */
static void
t_good_sites(void)
{
    static const struct {
        const char *in, *zone;
        int weight;
        bool filtered;
    } t[] = {
        {"zen.spamhaus.org", "zen.spamhaus.org", 1, false},
        {"zen.spamhaus.org*3", "zen.spamhaus.org", 3, false},
        {"swl.spamhaus.org*-4", "swl.spamhaus.org", -4, false},
        {"list.dnswl.org=127.0.[2..15].0*-2", "list.dnswl.org", -2, true},
        {"wl.mailspike.net=127.0.0.[17;18]*-1", "wl.mailspike.net", -1, true},
        {"zen.spamhaus.org=127.0.0.[10;11]*8", "zen.spamhaus.org", 8, true},
        {"example.com=127.0.0.4", "example.com", 1, true},
        {"Zen.Example.ORG.", "zen.example.org", 1, false},
        {"b.barracudacentral.org*+2", "b.barracudacentral.org", 2, false},
        {"x_y-z.example*0", "x_y-z.example", 0, false},
        {"bl.example*1000", "bl.example", 1000, false},
        {"bl.example*-1000", "bl.example", -1000, false},
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct dnsbl_site site;
        const char *why;

        if (!CHECK(parse(t[i].in, &site, &why))) {
            printf("    %s: %s\n", t[i].in, why);
            continue;
        }
        CHECK_STR(site.zone, t[i].zone);
        CHECK_INT(site.weight, t[i].weight);
        CHECK_INT(site.filtered, t[i].filtered);
    }
}

static void
t_filters(void)
{
    struct dnsbl_site s;
    const char *why;

    CHECK(parse("bl.example=127.0.0.[2..11]", &s, &why));
    CHECK(!matches(&s, 127, 0, 0, 1));
    CHECK(matches(&s, 127, 0, 0, 2));
    CHECK(matches(&s, 127, 0, 0, 11));
    CHECK(!matches(&s, 127, 0, 0, 12));
    CHECK(!matches(&s, 127, 0, 1, 2));

    CHECK(parse("bl.example=127.0.[0..255].[4;5]", &s, &why));
    CHECK(matches(&s, 127, 0, 0, 4));
    CHECK(matches(&s, 127, 0, 255, 5));
    CHECK(!matches(&s, 127, 0, 7, 6));
    CHECK(!matches(&s, 128, 0, 7, 4));

    CHECK(parse("bl.example=127.0.0.[1;3..5;7]", &s, &why));
    for (unsigned v = 0; v < 10; v++)
        CHECK_INT(matches(&s, 127, 0, 0, v),
                  v == 1 || v == 3 || v == 4 || v == 5 || v == 7);

    CHECK(parse("bl.example=127.0.0.2", &s, &why));
    CHECK(matches(&s, 127, 0, 0, 2));
    CHECK(!matches(&s, 127, 0, 0, 3));

    CHECK(parse("bl.example=[0..255].[0..255].[0..255].[0..255]", &s, &why));
    CHECK(matches(&s, 0, 0, 0, 0));
    CHECK(matches(&s, 255, 255, 255, 255));

    /* no filter: any answer lists */
    CHECK(parse("bl.example", &s, &why));
    CHECK(matches(&s, 1, 2, 3, 4));
}

static void
t_bad_sites(void)
{
    static const char *const bad[] = {
        "", "=127.0.0.2", "*2", "bl.example=", "bl.example*", "bl.example*-",
        "bl.example*x", "bl.example*1.5", "bl.example*1001",
        "bl.example*99999999999999999999", "bl.example=127.0.0",
        "bl.example=127.0.0.2.1", "bl.example=127.0.0.256",
        "bl.example=127.0.0.-1", "bl.example=127.0.0.0002",
        "bl.example=127.0.0.[2..", "bl.example=127.0.0.[]",
        "bl.example=127.0.0.[5..2]", "bl.example=127.0.0.[1;]",
        "bl.example=127.0.0.[;1]", "bl.example=127.0.0.[1;;2]",
        "bl.example=127.0.0.[1..2..3]", "bl.example=127.0.0.[[1]]",
        "bl.example=127.0.0.]1[", "bl.example=127.0.0.[1]x",
        "bl.example=127.0.0.2*", "bl.example*2=127.0.0.2",
        "bl..example", ".bl.example", "bl.example..", "nodot",
        "bl example", "bl.ex\001ample", "bl.ex\x80mple", "bl.example/x",
        "bl.ex@mple", "bl!.example", "bl.exa%mple", "bl.ex:ample",
        "bl.example=127.0.0.2=127.0.0.3",
        "bl.example*1*2",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dnsbl_site s;
        const char *why = NULL;

        if (!CHECK(!parse(bad[i], &s, &why)))
            printf("    accepted \"%s\"\n", bad[i]);
        else
            CHECK(why != NULL && why[0] != '\0');
    }
}

static void
t_long_names(void)
{
    char zone[300];
    struct dnsbl_site s;
    const char *why;

    /* a label of 63 is fine, 64 is not; 253 in all, not 254 */
    memset(zone, 'a', 63);
    memcpy(zone + 63, ".example", 9);
    CHECK(parse(zone, &s, &why));
    memset(zone, 'a', 64);
    memcpy(zone + 64, ".example", 9);
    CHECK(!parse(zone, &s, &why));
    for (size_t i = 0; i < 253; i++)
        zone[i] = i % 2 ? '.' : 'a';
    zone[253] = '\0';
    CHECK(parse(zone, &s, &why));
    zone[253] = '.';
    zone[254] = 'b';
    zone[255] = '\0';
    CHECK(!parse(zone, &s, &why));
}

/* parse with an explicit length: bytes past it are never read */
static void
t_length_bound(void)
{
    struct dnsbl_site s;
    const char *why;

    CHECK(dnsbl_site_parse("bl.example*2junk", 12, &s, &why) == 0);
    CHECK_INT(s.weight, 2);
    CHECK(dnsbl_site_parse("bl.example=127.0.0.2\0x", 20, &s, &why) == 0);
    CHECK(dnsbl_site_parse("bl.ex\0ample", 11, &s, &why) == -1);
}

static void
t_items(void)
{
    const char *line = "  zen.example*2, wl.example*-1\tbl.example=127.0.0.2,,"
                       " # a comment, not.a.site";
    const char *want[] = {"zen.example*2", "wl.example*-1",
                          "bl.example=127.0.0.2"};
    size_t pos = 0, len, n = 0;
    const char *it;

    while ((it = dnsbl_item_next(line, strlen(line), &pos, &len))) {
        if (n < 3)
            CHECK(len == strlen(want[n]) && memcmp(it, want[n], len) == 0);
        n++;
    }
    CHECK_INT(n, 3);
    pos = 0;
    CHECK(dnsbl_item_next("", 0, &pos, &len) == NULL);
    pos = 0;
    CHECK(dnsbl_item_next("#all.comment", 12, &pos, &len) == NULL);
    pos = 0;
    CHECK(dnsbl_item_next(" , \t\r", 5, &pos, &len) == NULL);
}

/*
 * The queries a lookup holds: a name asked again is the same query until
 * every user dropped it; DNSBL_QUERIES_MAX counts the queries in use, so
 * dropping makes room, and a dropped query's place is reused (a client
 * sending EHLO after EHLO must never use up a session's lookups).
 */
static void
t_add_and_drop(void)
{
    struct dns d;
    struct dnsbl_lookup l;
    char name[64];
    long i, k;

    if (!CHECK(dns_init(&d, NULL) == 0)) {
        dns_free(&d);
        return;
    }
    d.nsrv = 0; /* nothing is sent: every query fails at once */
    dnsbl_init(&l, &d, 100);

    CHECK_INT(dnsbl_add(&l, "a.bl.test"), 0);
    CHECK_INT(dnsbl_add(&l, "A.Bl.Test."), 0); /* the same name */
    CHECK_INT(l.made, 1);
    CHECK_INT(l.inuse, 1);
    dnsbl_drop(&l, 0);
    CHECK_INT(l.inuse, 1); /* one user left */
    CHECK_INT(dnsbl_add(&l, "b.bl.test"), 1);
    dnsbl_drop(&l, 0);
    CHECK_INT(l.inuse, 1);
    dnsbl_drop(&l, 0); /* not in use: ignored */
    dnsbl_drop(&l, 99);
    CHECK_INT(l.inuse, 1);
    /* a dropped name is a new query, in the dropped one's place */
    CHECK_INT(dnsbl_add(&l, "a.bl.test"), 0);
    CHECK_INT(l.made, 3);
    CHECK_STR(dnsbl_qname(&l, 0), "a.bl.test");
    CHECK_INT(dnsbl_add(&l, "bad name.test"), -1);
    CHECK_INT(l.inuse, 2);

    /* the cap counts queries in use, not queries ever made */
    for (int n = 2; n < DNSBL_QUERIES_MAX; n++) {
        snprintf(name, sizeof name, "h%d.rhs.test", n);
        if (!CHECK(dnsbl_add(&l, name) == n))
            break;
    }
    errno = 0;
    CHECK_INT(dnsbl_add(&l, "one.more.test"), -1);
    CHECK_INT(errno, ENOSPC);
    CHECK_INT(dnsbl_add(&l, "h7.rhs.test"), 7); /* asked: still there */
    dnsbl_drop(&l, 7);
    dnsbl_drop(&l, 7);
    k = dnsbl_add(&l, "one.more.test");
    CHECK_INT(k, 7);
    CHECK_INT(l.n, DNSBL_QUERIES_MAX);
    dnsbl_drop(&l, (size_t)k);
    for (int round = 0; round < 1000; round++) {
        snprintf(name, sizeof name, "e%d.rhs.test", round);
        i = dnsbl_add(&l, name);
        if (!CHECK(i == k))
            break;
        dnsbl_drop(&l, (size_t)k);
    }
    CHECK_INT(l.n, DNSBL_QUERIES_MAX);
    CHECK(l.cap <= 2 * DNSBL_QUERIES_MAX);
    CHECK(dnsbl_wait(&l, deadline_in(0)) == 0);
    CHECK_INT(dnsbl_result(&l, 0, NULL, NULL, NULL), DNSBL_FAILED);
    dnsbl_free(&l);
    dns_free(&d);
}

static const struct test_case cases[] = {
    {"good sites", t_good_sites},
    {"filters", t_filters},
    {"bad sites refused with a reason", t_bad_sites},
    {"name lengths", t_long_names},
    {"length bound", t_length_bound},
    {"items of a line", t_items},
    {"queries added, shared and dropped", t_add_and_drop},
};

TEST_MAIN(cases)
