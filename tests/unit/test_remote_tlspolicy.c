/* SPDX-License-Identifier: ISC */
/*
 * test_remote_tlspolicy - control/tlsdestinations (every line form, bad
 * lines, matching: exact, longest suffix, default, may without one) and
 * control/smtproutes-auth (passwords with colons and spaces, literals,
 * comments, CR LF, bad lines).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tlspolicy.h"

static const struct {
    const char *line;
    int ok;
    const char *dest;
    enum tls_level level;
} line_cases[] = {
    {"*:may", 1, "", TLS_LEVEL_MAY},
    {"*:", 1, "", TLS_LEVEL_MAY},
    {":verify", 1, "", TLS_LEVEL_VERIFY},
    {"Example.COM:Encrypt", 1, "example.com", TLS_LEVEL_ENCRYPT},
    {".example.net:none", 1, ".example.net", TLS_LEVEL_NONE},
    {"-legacy.example", 1, "legacy.example", TLS_LEVEL_NONE},
    {"[192.0.2.1]:verify", 1, "[192.0.2.1]", TLS_LEVEL_VERIFY},
    {"x.test:maybe", 0, NULL, 0},
    {"x.test", 0, NULL, 0},
    {"-", 0, NULL, 0},
    {"-*", 0, NULL, 0},
    {"-x.test:none", 0, NULL, 0},
    {"x test:may", 0, NULL, 0},
    {"x/test:may", 0, NULL, 0},
    {"x.test:may:extra", 0, NULL, 0},
    {"", 0, NULL, 0},
};

static void
t_lines(void)
{
    for (size_t i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
        struct tlspolicy_entry e;
        const char *l = line_cases[i].line;
        int r = tlspolicy_parse_line(l, strlen(l), &e);
        bool ok;

        if (!line_cases[i].ok) {
            ok = CHECK_INT(r, -1) && CHECK_INT(errno, EINVAL);
        } else {
            ok = CHECK_INT(r, 0) && CHECK_STR(e.dest, line_cases[i].dest) &&
                 CHECK_INT(e.level, line_cases[i].level);
            if (r == 0)
                free(e.dest);
        }
        if (!ok)
            CHECK_STR(l, "(the line above)");
    }
    /* a NUL inside a line is not a line */
    {
        struct tlspolicy_entry e;

        CHECK_INT(tlspolicy_parse_line("x.test:may\0x", 12, &e), -1);
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
    struct bstr l = LIST("a.b.example.com:verify\0"
                         ".example.com:encrypt\0"
                         ".b.example.com:none\0"
                         "*:may\0"
                         "a.b.example.com:none\0");
    struct bstr nodefault = LIST("bank.test:verify\0");
    struct tlspolicy p, q;
    size_t bad;
    static const struct {
        const char *domain;
        enum tls_level level;
        const char *source;
    } t[] = {
        {"a.b.example.com", TLS_LEVEL_VERIFY, "control/tlsdestinations"},
        {"A.B.EXAMPLE.COM", TLS_LEVEL_VERIFY, "control/tlsdestinations"},
        {"c.b.example.com", TLS_LEVEL_NONE, "control/tlsdestinations"},
        {"x.example.com", TLS_LEVEL_ENCRYPT, "control/tlsdestinations"},
        {"example.com", TLS_LEVEL_MAY, "control/tlsdestinations"},
        {"other.test", TLS_LEVEL_MAY, "control/tlsdestinations"},
        {"", TLS_LEVEL_MAY, "control/tlsdestinations"},
    };

    if (!CHECK_INT(tlspolicy_load(&p, &l, &bad), 0))
        return;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct tls_policy r = tlspolicy_find(&p, t[i].domain);

        if (!CHECK_INT(r.level, t[i].level) ||
            !CHECK_STR(r.source, t[i].source))
            CHECK_STR(t[i].domain, "(the domain above)");
    }
    tlspolicy_free(&p);
    /* no default line: may, from the built-in default */
    if (CHECK_INT(tlspolicy_load(&q, &nodefault, &bad), 0)) {
        struct tls_policy r = tlspolicy_find(&q, "elsewhere.test");

        CHECK_INT(r.level, TLS_LEVEL_MAY);
        CHECK_STR(r.source, "default");
        CHECK_INT(tlspolicy_find(&q, "bank.test").level, TLS_LEVEL_VERIFY);
        CHECK_INT(tlspolicy_find(&q, "www.bank.test").level, TLS_LEVEL_MAY);
        tlspolicy_free(&q);
    }
    bstr_free(&l);
    bstr_free(&nodefault);
    CHECK_STR(tls_level_name(TLS_LEVEL_ENCRYPT), "encrypt");
}

static void
t_load_bad(void)
{
    struct bstr l = LIST("a.test:may\0b.test:verify\0c.test:sure\0");
    struct tlspolicy p;
    size_t bad = 0;

    CHECK_INT(tlspolicy_load(&p, &l, &bad), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(bad, 3);
    CHECK_INT(p.n, 0);
    bstr_free(&l);
}

static void
t_auth(void)
{
    static const char text[] =
        "# logins for the smarthosts\n"
        "\n"
        "smarthost.example.net:relay@example.com:pa:ss word\r\n"
        "[192.0.2.1]:u:p\n"
        "[2001:db8::1]:v6user:x\n"
        "192.0.2.9:plain:last line without newline";
    struct authroutes a;
    const struct authroute *r;
    size_t bad;

    if (!CHECK_INT(authroutes_load(&a, text, sizeof text - 1, &bad), 0))
        return;
    CHECK_INT(a.n, 4);
    r = authroutes_find(&a, "SmartHost.Example.NET");
    if (CHECK(r != NULL)) {
        CHECK_STR(r->user, "relay@example.com");
        CHECK_STR(r->pass, "pa:ss word");
    }
    r = authroutes_find(&a, "[2001:db8::1]");
    if (CHECK(r != NULL))
        CHECK_STR(r->user, "v6user");
    r = authroutes_find(&a, "192.0.2.9");
    if (CHECK(r != NULL))
        CHECK_STR(r->pass, "last line without newline");
    CHECK(authroutes_find(&a, "other.example") == NULL);
    authroutes_free(&a);
}

static void
t_auth_bad(void)
{
    static const char *const bad_texts[] = {
        "host:user:ok\nnocolons\n", "host:user:ok\nhost::pass\n",
        "host:user:ok\n:user:pass\n", "host:user:ok\nhost:user\n",
        "host:user:ok\n[192.0.2.1:u:p\n", "host:user:ok\nho st:u:p\n",
    };
    static const char nul[] = "host:user:ok\nhost:u:p\0ass\n";
    struct authroutes a;
    size_t bad;

    for (size_t i = 0; i < sizeof bad_texts / sizeof bad_texts[0]; i++) {
        bad = 0;
        if (!CHECK_INT(authroutes_load(&a, bad_texts[i], strlen(bad_texts[i]),
                                       &bad), -1) ||
            !CHECK_INT(errno, EINVAL) || !CHECK_INT(bad, 2))
            CHECK_STR(bad_texts[i], "(the text above)");
        CHECK_INT(a.n, 0);
    }
    CHECK_INT(authroutes_load(&a, nul, sizeof nul - 1, &bad), -1);
    CHECK_INT(bad, 2);
}

static const struct test_case cases[] = {
    {"tlsdestinations: every line form", t_lines},
    {"tlsdestinations: exact, suffix, default, may", t_match},
    {"tlsdestinations: a bad line makes the file unusable", t_load_bad},
    {"smtproutes-auth: lines, colons in passwords, literals", t_auth},
    {"smtproutes-auth: bad lines", t_auth_bad},
};

TEST_MAIN(cases)
