/* SPDX-License-Identifier: ISC */
/*
 * test_smtpd_policy - relay control and badmailfrom (src/smtpd/policy.c):
 * rcpthosts exact and ".suffix" entries, morercpthosts.cdb, literals of
 * our own addresses, routing tricks, and qmail's "no rcpthosts, no relay
 * control".
 */
#include <stdio.h>
#include <string.h>

#include "cdbmap.h"
#include "harness.h"
#include "smtpd.h"

static void
list(struct bstr *b, const char *const *items)
{
    bstr_truncate(b, 0);
    for (; *items; items++)
        CHECK(bstr_cats(b, *items) == 0 && bstr_catc(b, '\0') == 0);
}

static void
test_set(void)
{
    static const char *const items[] = {"a.example", "b.example", "",
                                        "a.example", NULL};
    struct bstr b = BSTR_INIT;
    struct smtpd_set set;
    char many[32];

    list(&b, items);
    CHECK(smtpd_set_build(&set, &b) == 0);
    CHECK(smtpd_set_has(&set, "a.example", 9));
    CHECK(smtpd_set_has(&set, "b.example", 9));
    CHECK(!smtpd_set_has(&set, "a.exampl", 8));
    CHECK(!smtpd_set_has(&set, "a.example.", 10));
    CHECK(!smtpd_set_has(&set, "c.example", 9));
    CHECK(!smtpd_set_has(&set, "a.example\0x", 11));
    smtpd_set_free(&set);

    /* a big list: every item found, nothing else */
    bstr_truncate(&b, 0);
    for (unsigned i = 0; i < 5000; i++)
        CHECK(bstr_catf(&b, "d%u.example", i) == 0 && bstr_catc(&b, 0) == 0);
    CHECK(smtpd_set_build(&set, &b) == 0);
    for (unsigned i = 0; i < 5000; i++) {
        int n = snprintf(many, sizeof many, "d%u.example", i);
        if (!CHECK(smtpd_set_has(&set, many, (size_t)n)))
            break;
    }
    CHECK(!smtpd_set_has(&set, "d5000.example", 13));
    smtpd_set_free(&set);

    /* the empty set */
    bstr_truncate(&b, 0);
    CHECK(smtpd_set_build(&set, &b) == 0);
    CHECK(!smtpd_set_has(&set, "", 0));
    bstr_free(&b);
}

static void
config(struct smtpd_config *cf, const char *const *rcpthosts,
       const char *const *bad)
{
    memset(cf, 0, sizeof *cf);
    CHECK(bstr_copys(&cf->localiphost, "me.example") == 0);
    if (rcpthosts) {
        list(&cf->rcpthosts, rcpthosts);
        cf->rcpthosts_present = true;
    }
    if (bad)
        list(&cf->badmailfrom, bad);
}

static void
unconfig(struct smtpd_config *cf, struct smtpd_policy *p)
{
    smtpd_policy_free(p);
    bstr_free(&cf->localiphost);
    bstr_free(&cf->rcpthosts);
    bstr_free(&cf->badmailfrom);
}

static enum reason
rcpt(struct smtpd_policy *p, const char *a, bool trusted, struct bstr *out)
{
    CHECK(bstr_copys(out, a) == 0);
    return smtpd_policy_rcpt(p, out, trusted);
}

static void
test_rcpthosts(void)
{
    static const char *const hosts[] = {"Example.TEST", ".hosted.example",
                                        "me.example", "# no comment", NULL};
    static const struct {
        const char *addr;
        bool trusted;
        enum reason r;
    } t[] = {
        {"u@example.test", false, OC_OK},
        {"u@EXAMPLE.test", false, OC_OK},
        {"u@sub.example.test", false, OC_NOGATEWAY},
        {"u@a.hosted.example", false, OC_OK},
        {"u@a.b.HOSTED.example", false, OC_OK},
        {"u@hosted.example", false, OC_NOGATEWAY},
        {"u@wanadoo.fr", false, OC_NOGATEWAY},
        {"u@wanadoo.fr", true, OC_OK},
        {"postmaster", false, OC_OK},
        {"u@[192.0.2.77]", false, OC_NOGATEWAY},
        {"u@[127.0.0.1]", false, OC_OK}, /* ours: becomes u@me.example */
        /* routing tricks, refused for untrusted clients even to our domain */
        {"user%remote.example@example.test", false, OC_ROUTING},
        {"user@remote.example@example.test", false, OC_ROUTING},
        {"remote.example!user@example.test", false, OC_ROUTING},
        {"user%remote.example", false, OC_ROUTING},
        {"remote!user", false, OC_ROUTING},
        {"user%remote.example@example.test", true, OC_OK},
    };
    struct smtpd_config cf;
    struct smtpd_policy p;
    struct bstr a = BSTR_INIT;

    config(&cf, hosts, NULL);
    CHECK(smtpd_policy_init(&p, &cf, NULL) == 0);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!CHECK_INT(rcpt(&p, t[i].addr, t[i].trusted, &a), t[i].r))
            printf("    case %zu: %s\n", i, t[i].addr);
    CHECK_INT(rcpt(&p, "u@[127.0.0.1]", false, &a), OC_OK);
    CHECK_BSTR(a, "u@me.example");
    CHECK_INT(rcpt(&p, "u@[127.0.0.1]", true, &a), OC_OK);
    CHECK_BSTR(a, "u@me.example");
    CHECK_INT(rcpt(&p, "u@[192.0.2.77]", true, &a), OC_OK);
    CHECK_BSTR(a, "u@[192.0.2.77]");
    unconfig(&cf, &p);
    bstr_free(&a);
}

static void
test_no_rcpthosts(void)
{
    struct smtpd_config cf;
    struct smtpd_policy p;
    struct bstr a = BSTR_INIT;

    /* qmail: without control/rcpthosts there is no relay control */
    config(&cf, NULL, NULL);
    CHECK(smtpd_policy_init(&p, &cf, NULL) == 0);
    CHECK_INT(rcpt(&p, "u@anywhere.example", false, &a), OC_OK);
    CHECK_INT(rcpt(&p, "u%v@anywhere.example", false, &a), OC_ROUTING);
    unconfig(&cf, &p);

    /* an empty rcpthosts file is present: nothing is ours */
    static const char *const none[] = {NULL};
    config(&cf, none, NULL);
    CHECK(smtpd_policy_init(&p, &cf, NULL) == 0);
    CHECK_INT(rcpt(&p, "u@anywhere.example", false, &a), OC_NOGATEWAY);
    CHECK_INT(rcpt(&p, "postmaster", false, &a), OC_OK);
    unconfig(&cf, &p);
    bstr_free(&a);
}

static void
test_morercpthosts(void)
{
    static const char *const hosts[] = {"example.test", NULL};
    struct cdbmap_make mk;
    struct smtpd_config cf;
    struct smtpd_policy p;
    struct bstr a = BSTR_INIT, path = BSTR_INIT, tmp = BSTR_INIT;

    CHECK(bstr_catf(&path, "%s/more.cdb", harness_tmpdir()) == 0);
    CHECK(bstr_catf(&tmp, "%s/more.tmp", harness_tmpdir()) == 0);
    CHECK(cdbmap_make_start(&mk, path.s, tmp.s) == 0);
    CHECK(cdbmap_make_add(&mk, "more.example", 12, "", 0) == 0);
    CHECK(cdbmap_make_add(&mk, ".wild.example", 13, "", 0) == 0);
    CHECK(cdbmap_make_finish(&mk) == 0);

    config(&cf, hosts, NULL);
    CHECK(smtpd_policy_init(&p, &cf, path.s) == 0);
    CHECK(p.more);
    CHECK_INT(rcpt(&p, "u@example.test", false, &a), OC_OK);
    CHECK_INT(rcpt(&p, "u@more.example", false, &a), OC_OK);
    CHECK_INT(rcpt(&p, "u@MORE.Example", false, &a), OC_OK);
    CHECK_INT(rcpt(&p, "u@x.more.example", false, &a), OC_NOGATEWAY);
    CHECK_INT(rcpt(&p, "u@x.wild.example", false, &a), OC_OK);
    CHECK_INT(rcpt(&p, "u@y.x.wild.example", false, &a), OC_OK);
    CHECK_INT(rcpt(&p, "u@wild.example", false, &a), OC_NOGATEWAY);
    CHECK_INT(rcpt(&p, "u@other.example", false, &a), OC_NOGATEWAY);
    unconfig(&cf, &p);

    /* an absent map is no map */
    config(&cf, hosts, NULL);
    CHECK(smtpd_policy_init(&p, &cf, "/nonexistent/more.cdb") == 0);
    CHECK(!p.more);
    unconfig(&cf, &p);
    bstr_free(&a);
    bstr_free(&path);
    bstr_free(&tmp);
}

static void
test_badmailfrom(void)
{
    static const char *const bad[] = {"Spammeur@Spam", "@bad.example", NULL};
    struct smtpd_config cf;
    struct smtpd_policy p;

    config(&cf, NULL, bad);
    CHECK(smtpd_policy_init(&p, &cf, NULL) == 0);
    CHECK(smtpd_policy_badmailfrom(&p, "spammeur@spam", 13));
    CHECK(smtpd_policy_badmailfrom(&p, "SPAMMEUR@SPAM", 13));
    CHECK(!smtpd_policy_badmailfrom(&p, "spammeur@spam.x", 15));
    CHECK(!smtpd_policy_badmailfrom(&p, "other@spam", 10));
    CHECK(smtpd_policy_badmailfrom(&p, "anyone@bad.example", 18));
    CHECK(smtpd_policy_badmailfrom(&p, "anyone@BAD.example", 18));
    CHECK(!smtpd_policy_badmailfrom(&p, "anyone@x.bad.example", 20));
    CHECK(!smtpd_policy_badmailfrom(&p, "", 0));
    CHECK(!smtpd_policy_badmailfrom(&p, "bad.example", 11));
    unconfig(&cf, &p);
}

static void
test_ipme(void)
{
    CHECK_INT(smtpd_ipme("[127.0.0.1]", 11), 1);
    CHECK_INT(smtpd_ipme("[192.0.2.77]", 12), 0);
    CHECK_INT(smtpd_ipme("[IPv6:2001:db8::77]", 19), 0);
    CHECK_INT(smtpd_ipme("[nonsense]", 10), 0);
    CHECK_INT(smtpd_ipme("127.0.0.1", 9), 0);
    CHECK_INT(smtpd_ipme("[]", 2), 0);
}

static const struct test_case cases[] = {
    {"hashed sets", test_set},
    {"rcpthosts", test_rcpthosts},
    {"no rcpthosts", test_no_rcpthosts},
    {"morercpthosts.cdb", test_morercpthosts},
    {"badmailfrom", test_badmailfrom},
    {"own addresses", test_ipme},
};

TEST_MAIN(cases)
