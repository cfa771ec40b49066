/* SPDX-License-Identifier: ISC */
/* test_route - qmail-send's routing rules, table-driven. */
#include <string.h>

#include "harness.h"
#include "route.h"

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
t_table(void)
{
    struct bstr locals = LIST("mx.example.test\0localhost\0");
    struct bstr pct = LIST("mx.example.test\0");
    struct bstr virt = LIST("virt.test:vpop\0postmaster@virt.test:pm\0"
                            ".wild.test:wild\0sub.wild.test:\0");
    struct route r;
    struct bstr out = BSTR_INIT;
    static const struct {
        const char *in;
        enum route_chan chan;
        const char *out;
    } t[] = {
        {"joe@mx.example.test", ROUTE_LOCAL, "joe@mx.example.test"},
        {"Joe@MX.Example.TEST", ROUTE_LOCAL, "Joe@MX.Example.TEST"},
        {"joe", ROUTE_LOCAL, "joe@mx.example.test"},
        {"joe@remote.test", ROUTE_REMOTE, "joe@remote.test"},
        {"a@virt.test", ROUTE_LOCAL, "vpop-a@virt.test"},
        {"A@VIRT.test", ROUTE_LOCAL, "vpop-A@VIRT.test"},
        {"postmaster@virt.test", ROUTE_LOCAL, "pm-postmaster@virt.test"},
        {"x@deep.wild.test", ROUTE_LOCAL, "wild-x@deep.wild.test"},
        {"x@sub.wild.test", ROUTE_REMOTE, "x@sub.wild.test"},
        {"x@wild.test", ROUTE_REMOTE, "x@wild.test"},
        {"user%remote.test@mx.example.test", ROUTE_REMOTE, "user@remote.test"},
        {"u%localhost@mx.example.test", ROUTE_LOCAL, "u@localhost"},
        {"user%remote.test@localhost", ROUTE_LOCAL,
         "user%remote.test@localhost"},
        {"a%b%c.test@mx.example.test", ROUTE_REMOTE, "a%b@c.test"},
    };

    CHECK(route_init(&r, &locals, &pct, &virt, "mx.example.test") == 0);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        enum route_chan c = route_addr(&r, t[i].in, strlen(t[i].in), &out);

        if (!CHECK_INT(c, t[i].chan) || !CHECK_STR(out.s, t[i].out))
            CHECK_STR(t[i].in, "(the case above)");
    }
    route_free(&r);
    bstr_free(&out);
    bstr_free(&locals);
    bstr_free(&pct);
    bstr_free(&virt);
}

static void
t_catchall_and_errors(void)
{
    struct bstr empty = BSTR_INIT;
    struct bstr virt = LIST(":alias-catch\0");
    struct bstr bad = LIST("no-colon.test\0");
    struct route r;
    struct bstr out = BSTR_INIT;

    CHECK(route_init(&r, &empty, &empty, &virt, "h.test") == 0);
    CHECK_INT(route_addr(&r, "x@any.test", 10, &out), ROUTE_LOCAL);
    CHECK_BSTR(out, "alias-catch-x@any.test");
    route_free(&r);
    CHECK(route_init(&r, &empty, &empty, &bad, "h.test") == -1);
    bstr_free(&out);
    bstr_free(&virt);
    bstr_free(&bad);
}

static const struct test_case tests[] = {
    {"locals, virtualdomains, percenthack, envnoathost", t_table},
    {"catch-all and bad lines", t_catchall_and_errors},
};

TEST_MAIN(tests)
