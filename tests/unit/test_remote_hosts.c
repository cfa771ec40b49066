/* SPDX-License-Identifier: ISC */
/*
 * test_remote_hosts - our own addresses (interfaces, moreipme, notipme)
 * and the candidates for a destination with a resolver of fixed
 * answers: smtproutes relays (no loop check), literals, MX order,
 * implicit MX, the best-preference-MX-is-me bounce and qmail's "only
 * better MXs than us" rule, DNS failures and their texts (qmail-1.03's,
 * byte for byte; a null MX's of our own; hostile names made safe).
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "harness.h"
#include "hosts.h"
#include "ipme.h"
#include "routes.h"

static struct ipaddr
ip(const char *s)
{
    struct ipaddr a;

    memset(&a, 0, sizeof a);
    if (!ipaddr_scan(s, strlen(s), &a))
        a.family = 0;
    return a;
}

static struct bstr
list(const char *items, size_t len)
{
    struct bstr b = BSTR_INIT;

    if (bstr_catb(&b, items, len) == -1)
        b.len = 0;
    return b;
}

#define LIST(lit) list(lit, sizeof(lit) - 1)

static void
t_ipme(void)
{
    struct bstr more = LIST("203.0.113.50\0" "2001:db8::50\0");
    struct bstr notme = LIST("::1\0");
    struct bstr bad = LIST("not-an-ip\0");
    struct bstr empty = BSTR_INIT;
    struct ipme m;
    struct ipaddr a;
    const char *why;

    CHECK(ipme_load(&m, &empty, &empty, &why) == 0);
    a = ip("127.0.0.1");
    CHECK(ipme_is(&m, &a));
    a = ip("::ffff:127.0.0.1");
    CHECK(ipme_is(&m, &a));
    a = ip("0.0.0.0");
    CHECK(ipme_is(&m, &a));
    a = ip("::");
    CHECK(ipme_is(&m, &a));
    a = ip("127.0.0.2");
    CHECK(!ipme_is(&m, &a)); /* the test sinks live there */
    a = ip("203.0.113.50");
    CHECK(!ipme_is(&m, &a));
    ipme_free(&m);

    CHECK(ipme_load(&m, &more, &notme, &why) == 0);
    a = ip("203.0.113.50");
    CHECK(ipme_is(&m, &a));
    a = ip("2001:db8::50");
    CHECK(ipme_is(&m, &a));
    a = ip("::1");
    CHECK(!ipme_is(&m, &a));
    a = ip("127.0.0.1");
    CHECK(ipme_is(&m, &a));
    ipme_free(&m);

    CHECK(ipme_load(&m, &bad, &empty, &why) == -1);
    CHECK_STR(why, "not-an-ip");
    CHECK(ipme_load(&m, &empty, &bad, &why) == -1);
    bstr_free(&more);
    bstr_free(&notme);
    bstr_free(&bad);
}

/* ---- a resolver with fixed answers ------------------------------------ */

struct fake_name {
    const char *name;
    int r;          /* DNS_OK, DNS_TEMP, DNS_PERM */
    const char *v;  /* MX: "10 a.test,20 b.test"; IP: "203.0.113.1,::1" */
};

static const struct fake_name fake_mx[] = {
    {"mx.test", DNS_OK, "20 b.test,10 a.test,30 c.test"},
    {"mxport.test", DNS_OK, "20 b.test,10 a.test,30 c.test"},
    {"self.test", DNS_OK, "10 loop.test,20 b.test"},
    {"selfsecond.test", DNS_OK, "10 a.test,20 loop.test,30 c.test"},
    {"selfequal.test", DNS_OK, "10 a.test,10 loop.test"},
    {"implicit.test", DNS_OK, ""},
    {"implicitme.test", DNS_OK, ""},
    {"noaddr.test", DNS_OK, "10 gone.test,20 empty.test"},
    {"soft.test", DNS_TEMP, NULL},
    {"nx.test", DNS_PERM, NULL},
    {"nullmx.test", HOSTS_NULLMX, NULL},
    {"mxsoft.test", DNS_OK, "10 softhost.test,20 loop.test"},
    {"mxsoftok.test", DNS_OK, "10 softhost.test,20 a.test"},
    {"dup.test", DNS_OK, "10 a.test,20 a2.test"},
};

static const struct fake_name fake_ip[] = {
    {"a.test", DNS_OK, "2001:db8::a,203.0.113.1"},
    {"a2.test", DNS_OK, "203.0.113.1,203.0.113.2"},
    {"b.test", DNS_OK, "203.0.113.2"},
    {"c.test", DNS_OK, "::ffff:203.0.113.3"},
    {"loop.test", DNS_OK, "127.0.0.1"},
    {"implicit.test", DNS_OK, "203.0.113.9"},
    {"implicitme.test", DNS_OK, "127.0.0.1"},
    {"gone.test", DNS_PERM, NULL},
    {"empty.test", DNS_OK, ""},
    {"softhost.test", DNS_TEMP, NULL},
    {"relay.test", DNS_OK, "127.0.0.1"},
    {"softrelay.test", DNS_TEMP, NULL},
};

static const struct fake_name *
find(const struct fake_name *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

static int
fake_mx_fn(void *ctx, const char *domain, struct hosts_mx **out, size_t *n,
           struct bstr *err)
{
    const struct fake_name *f =
        find(fake_mx, sizeof fake_mx / sizeof fake_mx[0], domain);
    const char *p;

    (void)ctx;
    *out = NULL;
    *n = 0;
    if (!f)
        return DNS_PERM;
    if (f->r != DNS_OK) {
        if (bstr_copys(err, "the fake says no") == -1)
            return DNS_TEMP;
        return f->r;
    }
    *out = calloc(8, sizeof **out);
    for (p = f->v; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char *sp = memchr(p, ' ', len);

        (*out)[*n].pref = (unsigned)atoi(p);
        memcpy((*out)[*n].name, sp + 1, len - (size_t)(sp + 1 - p));
        (*n)++;
        p += len + (comma ? 1 : 0);
    }
    return DNS_OK;
}

static int
fake_ip_fn(void *ctx, const char *name, struct ipaddr **out, size_t *n,
           struct bstr *err)
{
    const struct fake_name *f =
        find(fake_ip, sizeof fake_ip / sizeof fake_ip[0], name);
    const char *p;

    (void)ctx;
    *out = NULL;
    *n = 0;
    if (!f)
        return DNS_PERM;
    if (f->r != DNS_OK) {
        if (bstr_copys(err, "the fake says no") == -1)
            return DNS_TEMP;
        return f->r;
    }
    *out = calloc(8, sizeof **out);
    for (p = f->v; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        ipaddr_scan(p, len, &(*out)[*n]);
        (*n)++;
        p += len + (comma ? 1 : 0);
    }
    return DNS_OK;
}

/* fixed_ipme - this host as the tests see it, whatever its interfaces. */
static void
fixed_ipme(struct ipme *m)
{
    struct ipaddr a = ip("127.0.0.1");

    ipme_init(m);
    CHECK(ipme_add(m, &a) == 0);
    a = ip("::1");
    CHECK(ipme_add(m, &a) == 0);
}

static const struct hosts_resolver fake = {NULL, fake_mx_fn, fake_ip_fn};

#define AMBIG                                                                 \
    "Sorry. Although I'm listed as a best-preference MX or A for that "       \
    "host,\nit isn't in my control/locals file, so I don't treat it as "       \
    "local. (#5.4.6)\n"
#define TEMPDNS "Sorry, I couldn't find any host by that name. (#4.1.2)\n"

static const struct {
    const char *domain;
    enum outcome_kind k;
    const char *want; /* "pref ip port;..." or the exact text */
} host_cases[] = {
    {"mx.test", OUTCOME_OK,
     "10 2001:db8::a 25;10 203.0.113.1 25;20 203.0.113.2 25;30 203.0.113.3 25"},
    {"dup.test", OUTCOME_OK, "10 2001:db8::a 25;10 203.0.113.1 25;"
                             "20 203.0.113.2 25"},
    {"implicit.test", OUTCOME_OK, "0 203.0.113.9 25"},
    {"[203.0.113.77]", OUTCOME_OK, "0 203.0.113.77 25"},
    {"[ipv6:2001:db8::77]", OUTCOME_OK, "0 2001:db8::77 25"},
    {"selfsecond.test", OUTCOME_OK, "10 2001:db8::a 25;10 203.0.113.1 25"},
    {"mxsoftok.test", OUTCOME_OK, "20 2001:db8::a 25;20 203.0.113.1 25"},
    {"self.test", OUTCOME_PERM, AMBIG},
    {"selfequal.test", OUTCOME_PERM, AMBIG},
    {"implicitme.test", OUTCOME_PERM, AMBIG},
    {"[127.0.0.1]", OUTCOME_PERM, AMBIG},
    /* qmail-1.03: a temporary DNS failure is temp_dns, one line */
    {"mxsoft.test", OUTCOME_TEMP, TEMPDNS},
    {"soft.test", OUTCOME_TEMP, TEMPDNS},
    {"nx.test", OUTCOME_PERM,
     "Sorry, I couldn't find any host named nx.test. (#5.1.2)\n"},
    {"noaddr.test", OUTCOME_TEMP, TEMPDNS},
    {"[not.an.ip]", OUTCOME_PERM,
     "Sorry, I couldn't find any host named [not.an.ip]. (#5.1.2)\n"},
    /* envelope bytes that are not printable ASCII show as '?' */
    {"[a\nb]", OUTCOME_PERM,
     "Sorry, I couldn't find any host named [a?b]. (#5.1.2)\n"},
    {"nx\r\n\x01" "caf\xc3\xa9 x.test", OUTCOME_PERM,
     "Sorry, I couldn't find any host named nx???caf???x.test. (#5.1.2)\n"},
    {"nullmx.test", OUTCOME_PERM,
     "Sorry, nullmx.test accepts no mail: its MX is \".\" (null MX). "
     "(#5.1.10)\n"},
    /* routed ones */
    {"routed.test", OUTCOME_OK, "0 127.0.0.1 2525"},
    {"lit.test", OUTCOME_OK, "0 127.0.0.1 25"},
    {"sub.suffix.test", OUTCOME_OK, "0 203.0.113.66 26"},
    {"mxport.test", OUTCOME_OK,
     "10 2001:db8::a 2600;10 203.0.113.1 2600;20 203.0.113.2 2600;"
     "30 203.0.113.3 2600"},
    {"softrelay.test", OUTCOME_TEMP, TEMPDNS},
    {"nxrelay.test", OUTCOME_PERM,
     "Sorry, I couldn't find any host named nx.relay.test. (#5.1.2)\n"},
};

static void
t_hosts(void)
{
    struct bstr rl = LIST("routed.test:relay.test:2525\0"
                          "lit.test:[127.0.0.1]\0"
                          ".suffix.test:[203.0.113.66]:26\0"
                          "mxport.test::2600\0"
                          "softrelay.test:softrelay.test\0"
                          "nxrelay.test:nx.relay.test\0");
    struct routes rt;
    struct ipme me;
    struct bstr why = BSTR_INIT, got = BSTR_INIT;
    size_t bad;

    CHECK(routes_load(&rt, &rl, &bad) == 0);
    fixed_ipme(&me);
    for (size_t i = 0; i < sizeof host_cases / sizeof host_cases[0]; i++) {
        struct hosts h;
        enum outcome_kind k;
        bool ok;

        bstr_truncate(&why, 0);
        k = hosts_find(host_cases[i].domain, &rt, &me, &fake, &h, &why);
        ok = CHECK_INT(k, host_cases[i].k);
        if (ok && k == OUTCOME_OK) {
            bstr_truncate(&got, 0);
            for (size_t j = 0; j < h.n; j++) {
                char s[IPADDR_FMT];

                ipaddr_fmt(s, &h.a[j].ip);
                CHECK(bstr_catf(&got, "%s%u %s %u", j ? ";" : "",
                                h.a[j].pref, s, h.port) == 0);
            }
            ok = CHECK_BSTR(got, host_cases[i].want);
        } else if (ok) {
            ok = CHECK_BSTR(why, host_cases[i].want);
        }
        if (!ok)
            CHECK_STR(host_cases[i].domain, "(the domain above)");
    }
    routes_free(&rt);
    ipme_free(&me);
    bstr_free(&rl);
    bstr_free(&why);
    bstr_free(&got);
}

/* a relay is never checked against our addresses; notipme is honoured */
static void
t_relay_and_notipme(void)
{
    struct bstr rl = LIST("routed.test:relay.test\0");
    struct bstr empty = BSTR_INIT, notme = LIST("127.0.0.1\0");
    struct routes rt;
    struct ipme me;
    struct hosts h;
    struct bstr why = BSTR_INIT;
    size_t bad;
    const char *b;

    CHECK(routes_load(&rt, &rl, &bad) == 0);
    fixed_ipme(&me);
    CHECK_INT(hosts_find("routed.test", &rt, &me, &fake, &h, &why),
              OUTCOME_OK);
    CHECK(h.relay);
    CHECK_INT(h.n, 1);
    ipme_free(&me);
    /* the whole set, interfaces included, minus notipme */
    CHECK(ipme_load(&me, &empty, &notme, &b) == 0);
    CHECK_INT(hosts_find("self.test", &rt, &me, &fake, &h, &why),
              OUTCOME_OK);
    CHECK(!h.relay);
    CHECK_INT(h.n, 2);
    ipme_free(&me);
    routes_free(&rt);
    bstr_free(&rl);
    bstr_free(&notme);
    bstr_free(&why);
}

static const struct test_case cases[] = {
    {"our addresses", t_ipme},
    {"candidates", t_hosts},
    {"relays and notipme", t_relay_and_notipme},
};

TEST_MAIN(cases)
