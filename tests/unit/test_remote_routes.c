/* SPDX-License-Identifier: ISC */
/*
 * test_remote_routes - control/smtproutes: every line form (relay, port,
 * literals, empty relay, "domain::port"), bad lines, and the order of
 * matching: exact, longest suffix, default; first line among equals.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "routes.h"

static const struct {
    const char *line;
    int ok;
    const char *domain;
    enum route_relay kind;
    const char *relay; /* name, or the literal's canonical text */
    unsigned port;
} line_cases[] = {
    {"example.com:relay.example.net", 1, "example.com", ROUTE_NAME,
     "relay.example.net", 0},
    {"Example.COM:Relay.Example.NET:2525", 1, "example.com", ROUTE_NAME,
     "relay.example.net", 2525},
    {"caramail.com:213.186.33.9", 1, "caramail.com", ROUTE_LITERAL,
     "213.186.33.9", 0},
    {"x.test:[192.0.2.1]", 1, "x.test", ROUTE_LITERAL, "192.0.2.1", 0},
    {"x.test:[192.0.2.1]:26", 1, "x.test", ROUTE_LITERAL, "192.0.2.1", 26},
    {"x.test:[2001:DB8::1]:587", 1, "x.test", ROUTE_LITERAL, "2001:db8::1",
     587},
    {"x.test:[IPv6:2001:db8::2]", 1, "x.test", ROUTE_LITERAL, "2001:db8::2",
     0},
    {"x.test:[::ffff:192.0.2.7]", 1, "x.test", ROUTE_LITERAL, "192.0.2.7",
     0},
    {".sub.test:smarthost", 1, ".sub.test", ROUTE_NAME, "smarthost", 0},
    {":smarthost.example:25", 1, "", ROUTE_NAME, "smarthost.example", 25},
    {":[127.0.0.2]:2525", 1, "", ROUTE_LITERAL, "127.0.0.2", 2525},
    {"x.test:", 1, "x.test", ROUTE_MX, "", 0},
    {"x.test::2526", 1, "x.test", ROUTE_MX, "", 2526},
    {"::2527", 1, "", ROUTE_MX, "", 2527},
    {"[192.0.2.9]:relay", 1, "[192.0.2.9]", ROUTE_NAME, "relay", 0},
    {"[IPv6:2001:db8::9]:[127.0.0.3]", 1, "[ipv6:2001:db8::9]",
     ROUTE_LITERAL, "127.0.0.3", 0},
    {"nocolon.test", 0, NULL, ROUTE_MX, NULL, 0},
    {"", 0, NULL, ROUTE_MX, NULL, 0},
    {"x.test:relay:", 0, NULL, ROUTE_MX, NULL, 0},
    {"x.test:relay:0", 0, NULL, ROUTE_MX, NULL, 0},
    {"x.test:relay:65536", 0, NULL, ROUTE_MX, NULL, 0},
    {"x.test:relay:25x", 0, NULL, ROUTE_MX, NULL, 0},
    {"x.test:relay:25:26", 0, NULL, ROUTE_MX, NULL, 0},
    {"x.test:[192.0.2.1", 0, NULL, ROUTE_MX, NULL, 0},
    {"x.test:[192.0.2.256]", 0, NULL, ROUTE_MX, NULL, 0},
    {"x.test:[192.0.2.1]x", 0, NULL, ROUTE_MX, NULL, 0},
    {"x.test:2001:db8::1", 0, NULL, ROUTE_MX, NULL, 0},
    {"x.test:re lay", 0, NULL, ROUTE_MX, NULL, 0},
    {"x test:relay", 0, NULL, ROUTE_MX, NULL, 0},
    {"[192.0.2.9:relay", 0, NULL, ROUTE_MX, NULL, 0},
};

static void
t_lines(void)
{
    for (size_t i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
        struct route_entry e;
        const char *l = line_cases[i].line;
        int r = routes_parse_line(l, strlen(l), &e);
        bool ok = true;

        if (!line_cases[i].ok) {
            ok = CHECK_INT(r, -1) && CHECK_INT(errno, EINVAL);
        } else if (CHECK_INT(r, 0)) {
            char ip[IPADDR_FMT];

            ok = CHECK_STR(e.domain, line_cases[i].domain) &&
                 CHECK_INT(e.kind, line_cases[i].kind) &&
                 CHECK_INT(e.port, line_cases[i].port);
            if (e.kind == ROUTE_LITERAL) {
                ipaddr_fmt(ip, &e.ip);
                ok = ok && CHECK_STR(ip, line_cases[i].relay);
            } else {
                ok = ok && CHECK_STR(e.relay, line_cases[i].relay);
            }
            routes_entry_free(&e);
        } else {
            ok = false;
        }
        if (!ok)
            CHECK_STR(l, "(the line above)");
    }
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
t_match(void)
{
    struct bstr l = LIST("a.b.example.com:exact\0"
                         ".example.com:suffix-short\0"
                         ".b.example.com:suffix-long\0"
                         ":default\0"
                         "a.b.example.com:second-exact\0"
                         ".b.example.com:second-long\0"
                         "mx.test:\0"
                         "[192.0.2.1]:lit\0");
    static const struct {
        const char *domain;
        const char *relay; /* NULL: the MX route */
    } t[] = {
        {"a.b.example.com", "exact"},
        {"A.B.Example.Com", "exact"},
        {"c.b.example.com", "suffix-long"},
        {"x.c.b.example.com", "suffix-long"},
        {"b.example.com", "suffix-short"},
        {"z.example.com", "suffix-short"},
        {"example.com", "default"},
        {"other.test", "default"},
        {"mx.test", NULL},
        {"sub.mx.test", "default"},
        {"[192.0.2.1]", "lit"},
        {"[192.0.2.2]", "default"},
    };
    struct routes r;
    size_t bad;

    CHECK(routes_load(&r, &l, &bad) == 0);
    CHECK_INT(r.n, 8);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const struct route_entry *e = routes_match(&r, t[i].domain);

        if (!CHECK(e != NULL))
            continue;
        if (t[i].relay ? !CHECK_STR(e->relay, t[i].relay)
                       : !CHECK_INT(e->kind, ROUTE_MX))
            CHECK_STR(t[i].domain, "(the domain above)");
    }
    routes_free(&r);
    bstr_free(&l);
}

static void
t_no_default(void)
{
    struct bstr l = LIST("x.test:relay\0");
    struct bstr empty = BSTR_INIT;
    struct routes r;
    size_t bad;

    CHECK(routes_load(&r, &l, &bad) == 0);
    CHECK(routes_match(&r, "y.test") == NULL);
    CHECK(routes_match(&r, "sub.x.test") == NULL);
    CHECK(routes_match(&r, "") == NULL);
    routes_free(&r);
    CHECK(routes_load(&r, &empty, &bad) == 0);
    CHECK_INT(r.n, 0);
    CHECK(routes_match(&r, "x.test") == NULL);
    routes_free(&r);
    bstr_free(&l);
}

static void
t_bad_file(void)
{
    struct bstr l = LIST("x.test:relay\0y.test:relay:99999\0z.test:r\0");
    struct routes r;
    size_t bad = 0;

    CHECK_INT(routes_load(&r, &l, &bad), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(bad, 2);
    CHECK_INT(r.n, 0);
    bstr_free(&l);
}

static void
t_literal(void)
{
    struct ipaddr ip;
    char s[IPADDR_FMT];

    CHECK(routes_scan_literal("[127.0.0.1]", 11, &ip));
    ipaddr_fmt(s, &ip);
    CHECK_STR(s, "127.0.0.1");
    CHECK(routes_scan_literal("[ipv6:::1]", 10, &ip));
    CHECK_INT(ip.family, AF_INET6);
    CHECK(routes_scan_literal("[::1]", 5, &ip));
    CHECK(!routes_scan_literal("127.0.0.1", 9, &ip));
    CHECK(!routes_scan_literal("[]", 2, &ip));
    CHECK(!routes_scan_literal("[IPv6:]", 7, &ip));
    CHECK(!routes_scan_literal("[IPv6:127.0.0.1]", 16, &ip));
    CHECK(!routes_scan_literal("[host.test]", 11, &ip));
}

static const struct test_case cases[] = {
    {"line forms", t_lines},
    {"matching order", t_match},
    {"no default route", t_no_default},
    {"a bad line spoils the file", t_bad_file},
    {"address literals", t_literal},
};

TEST_MAIN(cases)
