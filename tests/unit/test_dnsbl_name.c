/* SPDX-License-Identifier: ISC */
/*
 * test_dnsbl_name - DNSBL and RHSBL query names against RFC 5782's own
 * examples (2.1: 192.0.2.99 -> 99.2.0.192.bad.example.com; 2.4:
 * 2001:db8:1:2:3:4:567:89ab -> b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.
 * 1.0.0.0.8.b.d.0.1.0.0.2.bad.example.com), mapped addresses, and
 * zones or domains that must not make a query: empty labels, control
 * bytes, spaces, 8-bit bytes, address literals, names past 253 bytes.
 */
#include <errno.h>
#include <string.h>

#include "dnsbl_name.h"
#include "harness.h"

static const struct {
    const char *ip, *zone, *want; /* want NULL: refused with errno err */
    int err;
} ip_cases[] = {
    {"192.0.2.99", "bad.example.com", "99.2.0.192.bad.example.com", 0},
    {"127.0.0.2", "zen.example.", "2.0.0.127.zen.example", 0},
    {"127.0.0.2", "ZEN.Example", "2.0.0.127.zen.example", 0},
    {"::ffff:192.0.2.99", "bad.example.com", "99.2.0.192.bad.example.com",
     0},
    {"2001:db8:1:2:3:4:567:89ab", "bad.example.com",
     "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2."
     "bad.example.com",
     0},
    {"::1", "v6.example",
     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
     "v6.example",
     0},
    {"127.0.0.2", "", NULL, EINVAL},
    {"127.0.0.2", ".", NULL, EINVAL},
    {"127.0.0.2", "a..b", NULL, EINVAL},
    {"127.0.0.2", ".zen.example", NULL, EINVAL},
    {"127.0.0.2", "zen.example..", NULL, EINVAL},
    {"127.0.0.2", "zen example", NULL, EINVAL},
    {"127.0.0.2", "zen\r\n.example", NULL, EINVAL},
    {"127.0.0.2", "zen\x80.example", NULL, EINVAL},
    {"127.0.0.2", "zen\\.example", NULL, EINVAL},
    {"127.0.0.2", "zen.example:text", NULL, EINVAL},
};

static void
test_ip_forms(void)
{
    struct bstr out = BSTR_INIT;

    for (size_t i = 0; i < sizeof ip_cases / sizeof ip_cases[0]; i++) {
        struct ipaddr ip;
        int r;

        CHECK(ipaddr_scan(ip_cases[i].ip, strlen(ip_cases[i].ip), &ip));
        errno = 0;
        r = dnsbl_name(&out, &ip, ip_cases[i].zone);
        if (ip_cases[i].want) {
            CHECK_INT(r, 0);
            CHECK_BSTR(out, ip_cases[i].want);
        } else {
            CHECK_INT(r, -1);
            CHECK_INT(errno, ip_cases[i].err);
            CHECK_INT(out.len, 0);
        }
    }
    bstr_free(&out);
}

/* label - a label of n 'a's */
static void
label(char *buf, size_t n)
{
    memset(buf, 'a', n);
    buf[n] = '\0';
}

static void
test_lengths(void)
{
    struct bstr out = BSTR_INIT;
    struct ipaddr v4, v6;
    char zone[400], lab[80];

    CHECK(ipaddr_scan("10.20.30.40", 11, &v4));
    CHECK(ipaddr_scan("2001:db8::1", 11, &v6));
    /* a 63-byte label is fine, 64 is not */
    label(lab, 63);
    CHECK_INT(dnsbl_name(&out, &v4, lab), 0);
    CHECK_INT(out.len, 12 + 63);
    label(lab, 64);
    CHECK_INT(dnsbl_name(&out, &v4, lab), -1);
    CHECK_INT(errno, EINVAL);
    /* zone of 4 labels of 60 + dots = 243 bytes: "40.30.20.10." (12) makes
       255, over 253; an IPv6 name (64 bytes of nibbles) is over sooner */
    zone[0] = '\0';
    for (int i = 0; i < 4; i++) {
        label(lab, 60);
        strcat(zone, lab);
        if (i < 3)
            strcat(zone, ".");
    }
    CHECK_INT(strlen(zone), 243);
    CHECK_INT(dnsbl_name(&out, &v4, zone), -1);
    CHECK_INT(errno, ENAMETOOLONG);
    CHECK_INT(out.len, 0);
    /* 241 bytes of zone + 12 = 253: the longest that fits */
    zone[241] = '\0';
    zone[240] = 'a';
    CHECK_INT(dnsbl_name(&out, &v4, zone), 0);
    CHECK_INT(out.len, 253);
    /* 189 + 64 = 253 for IPv6; 190 is one too many */
    memset(zone, 'b', 189);
    for (int i = 50; i < 189; i += 51)
        zone[i] = '.';
    zone[189] = '\0';
    CHECK_INT(dnsbl_name(&out, &v6, zone), 0);
    CHECK_INT(out.len, 253);
    zone[189] = 'b';
    zone[190] = '\0';
    CHECK_INT(dnsbl_name(&out, &v6, zone), -1);
    CHECK_INT(errno, ENAMETOOLONG);
    /* a zone far past any limit */
    memset(zone, 'c', sizeof zone - 1);
    zone[sizeof zone - 1] = '\0';
    CHECK_INT(dnsbl_name(&out, &v4, zone), -1);
    CHECK_INT(errno, ENAMETOOLONG);
    bstr_free(&out);
}

static void
test_family(void)
{
    struct bstr out = BSTR_INIT;
    struct ipaddr ip;

    memset(&ip, 0, sizeof ip);
    ip.family = AF_UNIX;
    CHECK_INT(dnsbl_name(&out, &ip, "zen.example"), -1);
    CHECK_INT(errno, EAFNOSUPPORT);
    bstr_free(&out);
}

static const struct {
    const char *domain, *zone, *want;
} rhs_cases[] = {
    {"example.com", "dbl.example", "example.com.dbl.example"},
    {"Mail.Example.COM.", "dbl.example.", "mail.example.com.dbl.example"},
    {"[192.0.2.1]", "dbl.example", NULL},
    {"", "dbl.example", NULL},
    {"example.com", "", NULL},
    {"exa mple.com", "dbl.example", NULL},
    {"example..com", "dbl.example", NULL},
    {"example.com\n250 ok", "dbl.example", NULL},
    {"user@example.com", "dbl.example", NULL},
};

static void
test_rhs(void)
{
    struct bstr out = BSTR_INIT;

    for (size_t i = 0; i < sizeof rhs_cases / sizeof rhs_cases[0]; i++) {
        int r = dnsbl_rhsname(&out, rhs_cases[i].domain, rhs_cases[i].zone);

        if (rhs_cases[i].want) {
            CHECK_INT(r, 0);
            CHECK_BSTR(out, rhs_cases[i].want);
        } else {
            CHECK_INT(r, -1);
            CHECK_INT(errno, EINVAL);
            CHECK_INT(out.len, 0);
        }
    }
    bstr_free(&out);
}

static const struct test_case cases[] = {
    {"ip_forms", test_ip_forms},
    {"lengths", test_lengths},
    {"family", test_family},
    {"rhs", test_rhs},
};

TEST_MAIN(cases)
