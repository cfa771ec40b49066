/* SPDX-License-Identifier: ISC */
/*
 * test_ipaddr - IP text in and out: strict parsing, RFC 5952 output,
 * masks, mapped addresses, socket addresses.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "ipaddr.h"

/* text in, canonical text out ("" = must not parse) */
static const struct {
    const char *in, *out;
} scan_cases[] = {
    {"1.2.3.4", "1.2.3.4"},
    {"0.0.0.0", "0.0.0.0"},
    {"255.255.255.255", "255.255.255.255"},
    {"256.1.1.1", ""},
    {"01.2.3.4", ""},
    {"1.2.3", ""},
    {"1.2.3.4.", ""},
    {"1.2.3.4.5", ""},
    {"1..3.4", ""},
    {" 1.2.3.4", ""},
    {"1.2.3.4 ", ""},
    {"1.2.3.a", ""},
    {"1.2.3.1000", ""},
    {"", ""},
    {"::", "::"},
    {"::1", "::1"},
    {"1::", "1::"},
    {"2001:DB8::5", "2001:db8::5"},
    {"2001:0db8:0000:0000:0000:0000:0000:0005", "2001:db8::5"},
    {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},   /* first longest run */
    {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"}, /* no :: for one */
    {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},         /* the longer run */
    {"0:0:0:0:0:0:0:0", "::"},
    {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
    {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
    {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
    {"::FFFF:102:304", "::ffff:1.2.3.4"},
    {"::1.2.3.4", "::102:304"},
    {"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
    {"fe80::1%eth0", ""},
    {"1:2:3:4:5:6:7:8:9", ""},
    {"1:2:3:4:5:6:7", ""},
    {"1::2::3", ""},
    {":::", ""},
    {":1::", ""},
    {"1:", ""},
    {"12345::", ""},
    {"g::1", ""},
    {"::1.2.3", ""},
    {"1:2:3:4:5:6:7:1.2.3.4", ""},
    {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
    {"::1.2.3.4:5", ""},
};

static void
test_scan_fmt(void)
{
    for (size_t i = 0; i < sizeof scan_cases / sizeof scan_cases[0]; i++) {
        struct ipaddr ip;
        char buf[IPADDR_FMT];
        bool ok = ipaddr_scan(scan_cases[i].in, strlen(scan_cases[i].in),
                              &ip);

        if (!scan_cases[i].out[0]) {
            if (!CHECK(!ok))
                printf("    accepted \"%s\"\n", scan_cases[i].in);
            continue;
        }
        if (!CHECK(ok)) {
            printf("    refused \"%s\"\n", scan_cases[i].in);
            continue;
        }
        ipaddr_fmt(buf, &ip);
        CHECK_STR(buf, scan_cases[i].out);
    }
}

/* Our formatter against glibc's inet_ntop on many bit patterns. */
static void
test_fmt_matches_libc(void)
{
    unsigned seed = 12345;

    for (int n = 0; n < 20000; n++) {
        struct ipaddr ip = {AF_INET6, {0}};
        char ours[IPADDR_FMT], libc[INET6_ADDRSTRLEN];

        for (int k = 0; k < 8; k++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly zero groups, so that "::" runs are common */
            unsigned w = (seed >> 16) % 3 ? 0 : (seed >> 8) & 0xffff;
            ip.b[2 * k] = (unsigned char)(w >> 8);
            ip.b[2 * k + 1] = (unsigned char)w;
        }
        /* glibc writes ::a.b.c.d for some addresses RFC 5952 does not */
        if (memcmp(ip.b, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0)
            continue;
        ipaddr_fmt(ours, &ip);
        inet_ntop(AF_INET6, ip.b, libc, sizeof libc);
        if (!CHECK_STR(ours, libc))
            break;
        {
            struct ipaddr back;
            CHECK(ipaddr_scan(ours, strlen(ours), &back));
            CHECK(memcmp(back.b, ip.b, 16) == 0);
        }
    }
}

static void
test_mask(void)
{
    static const struct {
        const char *in;
        unsigned prefix;
        const char *out;
    } c[] = {
        {"10.1.2.3", 8, "10.0.0.0"},
        {"10.1.2.3", 0, "0.0.0.0"},
        {"10.1.2.3", 32, "10.1.2.3"},
        {"10.1.2.255", 25, "10.1.2.128"},
        {"10.1.2.255", 31, "10.1.2.254"},
        {"2001:db8:1:2::1", 32, "2001:db8::"},
        {"2001:db8:1:2::1", 128, "2001:db8:1:2::1"},
        {"2001:db8:ffff::", 33, "2001:db8:8000::"},
        {"ffff::", 0, "::"},
    };

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct ipaddr ip;
        char buf[IPADDR_FMT];

        CHECK(ipaddr_scan(c[i].in, strlen(c[i].in), &ip));
        ipaddr_mask(&ip, c[i].prefix);
        ipaddr_fmt(buf, &ip);
        CHECK_STR(buf, c[i].out);
    }
}

static void
test_unmap_equal(void)
{
    struct ipaddr a, b;
    char buf[IPADDR_FMT];
    unsigned char k1[16], k2[16];

    CHECK(ipaddr_scan("::ffff:10.0.0.1", 15, &a));
    CHECK(ipaddr_scan("10.0.0.1", 8, &b));
    CHECK(ipaddr_equal(&a, &b));
    ipaddr_key16(&a, k1);
    ipaddr_key16(&b, k2);
    CHECK(memcmp(k1, k2, 16) == 0);
    CHECK(ipaddr_unmap(&a));
    CHECK_INT(a.family, AF_INET);
    ipaddr_fmt(buf, &a);
    CHECK_STR(buf, "10.0.0.1");
    CHECK(!ipaddr_unmap(&a));
    CHECK(ipaddr_scan("::1", 3, &a));
    CHECK(!ipaddr_unmap(&a));
    CHECK(!ipaddr_equal(&a, &b));
}

static void
test_sockaddr(void)
{
    struct ipaddr ip, back;
    struct sockaddr_storage ss;
    unsigned port = 0;
    socklen_t len;

    CHECK(ipaddr_scan("2001:db8::7", 11, &ip));
    len = ipaddr_to_sockaddr(&ip, 2525, &ss);
    CHECK_INT(len, sizeof(struct sockaddr_in6));
    CHECK_INT(ipaddr_from_sockaddr(&back, &port, (struct sockaddr *)&ss,
                                   len),
              0);
    CHECK_INT(port, 2525);
    CHECK(ipaddr_equal(&ip, &back));
    CHECK(ipaddr_scan("192.0.2.1", 9, &ip));
    len = ipaddr_to_sockaddr(&ip, 25, &ss);
    CHECK_INT(len, sizeof(struct sockaddr_in));
    CHECK_INT(ipaddr_from_sockaddr(&back, &port, (struct sockaddr *)&ss,
                                   len),
              0);
    CHECK_INT(port, 25);
    CHECK_INT(back.family, AF_INET);
    CHECK(ipaddr_equal(&ip, &back));
    ss.ss_family = AF_UNIX;
    CHECK_INT(ipaddr_from_sockaddr(&back, &port, (struct sockaddr *)&ss,
                                   sizeof ss),
              -1);
}

static const struct test_case cases[] = {
    {"scan and canonical text", test_scan_fmt},
    {"RFC 5952 text equals glibc inet_ntop", test_fmt_matches_libc},
    {"prefix masks", test_mask},
    {"mapped addresses", test_unmap_equal},
    {"socket addresses", test_sockaddr},
};

TEST_MAIN(cases)
