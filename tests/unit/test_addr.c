/* SPDX-License-Identifier: ISC */
/*
 * test_addr - RFC 5321 path parsing: what is accepted, how it is stored,
 * and why the rest is refused.
 */
#include <string.h>

#include "addr.h"
#include "harness.h"

struct pcase {
    const char *in;
    unsigned flags;
    int status;
    const char *out; /* queue form on ADDR_OK */
    size_t used;     /* 0: strlen(in) */
};

#define N ADDR_F_NULL_OK
#define U ADDR_F_UTF8
#define B ADDR_F_NOBRACKET

static const struct pcase cases[] = {
    {"<a@b.c>", 0, ADDR_OK, "a@b.c", 0},
    {"<>", N, ADDR_OK, "", 0},
    {"<>", 0, ADDR_SYNTAX, NULL, 0},
    {"<postmaster>", 0, ADDR_OK, "postmaster", 0},
    {"<John.Doe@Example.COM>", 0, ADDR_OK, "John.Doe@Example.COM", 0},
    {"<a@b.c> SIZE=100", 0, ADDR_OK, "a@b.c", 7},
    {"<\"john doe\"@example.com>", 0, ADDR_OK, "john doe@example.com", 0},
    {"<\"a\\\"b\"@example.com>", 0, ADDR_OK, "a\"b@example.com", 0},
    {"<\"user@remote\"@local.test>", 0, ADDR_OK, "user@remote@local.test", 0},
    {"<@relay.test:user@final.test>", 0, ADDR_OK, "user@final.test", 0},
    {"<@a.test,@b.test:user@final.test>", 0, ADDR_OK, "user@final.test", 0},
    {"<user%remote@local.test>", 0, ADDR_OK, "user%remote@local.test", 0},
    {"<remote!user@local.test>", 0, ADDR_OK, "remote!user@local.test", 0},
    {"<a@[127.0.0.1]>", 0, ADDR_OK, "a@[127.0.0.1]", 0},
    {"<a@[IPv6:::1]>", 0, ADDR_OK, "a@[IPv6:::1]", 0},
    {"<a@[300.0.0.1]>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a@[IPv6:zz]>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a@[tag:x]>", 0, ADDR_SYNTAX, NULL, 0},
    {"a@b.c", B, ADDR_OK, "a@b.c", 0},
    {"a@b.c SIZE=1", B, ADDR_OK, "a@b.c", 5},
    {"a@b.c", 0, ADDR_SYNTAX, NULL, 0},
    {"<a@b.c", 0, ADDR_SYNTAX, NULL, 0},
    {"<a@b.c>>", 0, ADDR_OK, "a@b.c", 7},
    {"<user@remote@local.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a..b@c.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<.a@c.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a.@c.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a@c..d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a@c.d.>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a@-c.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a@c-.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a@>", 0, ADDR_SYNTAX, NULL, 0},
    {"<@c.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<\"\"@c.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<\"unterminated@c.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a b@c.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a\r\n@c.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<\"a\r\nb\"@c.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a@c.d\r\nRCPT TO:<x@y>>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a(comment)@c.d>", 0, ADDR_SYNTAX, NULL, 0},
    {"<@relay.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"<@relay.test,user@x.y>", 0, ADDR_SYNTAX, NULL, 0},
    /* Only a leading A-d-l ("@dom,@dom:", RFC 5321 4.1.2) is a route, and
     * only it is dropped; any other ":" is not in a Dot-string, so the
     * path is refused, never cut to what follows its last ":" (qmail-1.03
     * keeps <a-..:..:x@host> whole, RFC 5321 refuses it, so do we) */
    {"<a-..:..:x@host.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a-b:x@host.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"<a:b:x@host.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"<:x@host.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"a-..:..:x@host.test", B, ADDR_SYNTAX, NULL, 0},
    {"a:x@host.test", B, ADDR_SYNTAX, NULL, 0},
    {"@a.test:x@host.test", B, ADDR_SYNTAX, NULL, 0}, /* a route needs <> */
    {"<@a.test:b:x@host.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"<@a.test:b:x@host.test>", U | N, ADDR_SYNTAX, NULL, 0},
    {"<@a.test,b.test:x@host.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"<@a.test,@:x@host.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"<@:x@host.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"<@a.test:>", 0, ADDR_SYNTAX, NULL, 0},
    {"<@a.test::x@host.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"<@a-..:..:x@host.test>", 0, ADDR_SYNTAX, NULL, 0},
    {"<@[192.0.2.1]:x@host.test>", 0, ADDR_OK, "x@host.test", 0},
    {"<@a.test,@b.test,@c.test:x@host.test>", 0, ADDR_OK, "x@host.test", 0},
    /* a colon that is part of a quoted local part stays */
    {"<\"a-..:..:x\"@host.test>", 0, ADDR_OK, "a-..:..:x@host.test", 0},
    {"<@a.test:\"b:x\"@host.test>", 0, ADDR_OK, "b:x@host.test", 0},
    /* UTF-8 (RFC 6531) */
    {"<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", U, ADDR_OK,
     "j\xc3\xb6rg@b\xc3\xbc" "cher.example", 0},
    {"<j\xc3\xb6rg@example.com>", 0, ADDR_NEEDUTF8, NULL, 0},
    {"<a@b\xc3\xbc" "cher.example>", 0, ADDR_NEEDUTF8, NULL, 0},
    {"<j\xc3rg@example.com>", U, ADDR_BADUTF8, NULL, 0},
    {"<j\xc0\xafrg@example.com>", U, ADDR_BADUTF8, NULL, 0},   /* overlong */
    {"<j\xed\xa0\x80rg@example.com>", U, ADDR_BADUTF8, NULL, 0}, /* surrogate */
    {"<j\xff@example.com>", U, ADDR_BADUTF8, NULL, 0},
};

static void
t_parse_table(void)
{
    struct bstr out = BSTR_INIT;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct pcase *c = &cases[i];
        size_t used = 999;
        int st = addr_parse_path(c->in, strlen(c->in), c->flags, &out, &used);

        if (!CHECK_INT(st, c->status))
            harness_check(false, c->in, __FILE__, __LINE__);
        if (c->status == ADDR_OK && st == ADDR_OK) {
            CHECK_STR(out.s ? out.s : "", c->out);
            CHECK_INT(used, c->used ? c->used : strlen(c->in));
        }
    }
    bstr_free(&out);
}

static void
t_lengths(void)
{
    struct bstr out = BSTR_INIT, in = BSTR_INIT;
    size_t used;

    /* a 255-byte local part is fine, 256 is not */
    CHECK(bstr_cats(&in, "<") == 0);
    for (int i = 0; i < 255; i++)
        CHECK(bstr_catc(&in, 'a') == 0);
    CHECK(bstr_cats(&in, "@x.y>") == 0);
    CHECK_INT(addr_parse_path(in.s, in.len, 0, &out, &used), ADDR_OK);
    bstr_truncate(&in, 0);
    CHECK(bstr_cats(&in, "<") == 0);
    for (int i = 0; i < 256; i++)
        CHECK(bstr_catc(&in, 'a') == 0);
    CHECK(bstr_cats(&in, "@x.y>") == 0);
    CHECK_INT(addr_parse_path(in.s, in.len, 0, &out, &used), ADDR_TOOLONG);

    /* a label of 64 bytes is too long */
    bstr_truncate(&in, 0);
    CHECK(bstr_cats(&in, "<a@") == 0);
    for (int i = 0; i < 64; i++)
        CHECK(bstr_catc(&in, 'b') == 0);
    CHECK(bstr_cats(&in, ".c>") == 0);
    CHECK_INT(addr_parse_path(in.s, in.len, 0, &out, &used), ADDR_TOOLONG);

    /* a domain over 255 bytes is too long */
    bstr_truncate(&in, 0);
    CHECK(bstr_cats(&in, "<a@") == 0);
    for (int i = 0; i < 30; i++)
        CHECK(bstr_cats(&in, "abcdefghi.") == 0);
    CHECK(bstr_cats(&in, "com>") == 0);
    CHECK_INT(addr_parse_path(in.s, in.len, 0, &out, &used), ADDR_TOOLONG);
    bstr_free(&in);
    bstr_free(&out);
}

static void
t_no_overread(void)
{
    struct bstr out = BSTR_INIT;
    const char *s = "<a@b.c>";
    size_t used;

    /* every prefix of a valid path is refused, never read past */
    for (size_t n = 0; n < strlen(s); n++)
        CHECK(addr_parse_path(s, n, 0, &out, &used) != ADDR_OK);
    bstr_free(&out);
}

static void
t_quote(void)
{
    struct bstr out = BSTR_INIT;

    CHECK(addr_quote(&out, "a.b@c.d", 7) == 0);
    CHECK_BSTR(out, "a.b@c.d");
    bstr_truncate(&out, 0);
    CHECK(addr_quote(&out, "john doe@c.d", 12) == 0);
    CHECK_BSTR(out, "\"john doe\"@c.d");
    bstr_truncate(&out, 0);
    CHECK(addr_quote(&out, "a\"b@c.d", 7) == 0);
    CHECK_BSTR(out, "\"a\\\"b\"@c.d");
    bstr_truncate(&out, 0);
    CHECK(addr_quote(&out, "user@remote@local", 17) == 0);
    CHECK_BSTR(out, "\"user@remote\"@local");
    bstr_truncate(&out, 0);
    CHECK(addr_quote(&out, "a..b@c", 6) == 0);
    CHECK_BSTR(out, "\"a..b\"@c");
    bstr_truncate(&out, 0);
    CHECK(addr_quote(&out, "postmaster", 10) == 0);
    CHECK_BSTR(out, "postmaster");
    bstr_free(&out);
}

static void
t_utf8_and_helpers(void)
{
    CHECK_INT(addr_utf8_valid("a", 1), 1);
    CHECK_INT(addr_utf8_valid("\xc3\xa9", 2), 2);
    CHECK_INT(addr_utf8_valid("\xc3", 1), 0);
    CHECK_INT(addr_utf8_valid("\xe2\x82\xac", 3), 3);
    CHECK_INT(addr_utf8_valid("\xf0\x9f\x98\x80", 4), 4);
    CHECK_INT(addr_utf8_valid("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    CHECK_INT(addr_utf8_valid("\xe0\x80\x80", 3), 0);     /* overlong */
    CHECK(addr_is_ascii("abc", 3));
    CHECK(!addr_is_ascii("\xc3\xa9", 2));
    CHECK(addr_domain_valid("example.com", 11, false));
    CHECK(!addr_domain_valid("example.com.", 12, false));
    CHECK(addr_domain_valid("[1.2.3.4]", 9, false));
    CHECK_INT(addr_at("a@b@c", 5), 3);
    CHECK_INT(addr_at("abc", 3), 3);
}

static const struct test_case tests[] = {
    {"parse table", t_parse_table},
    {"length caps", t_lengths},
    {"no over-read on truncated input", t_no_overread},
    {"quoting for SMTP", t_quote},
    {"utf-8 and helpers", t_utf8_and_helpers},
};

TEST_MAIN(tests)
