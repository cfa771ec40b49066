/* SPDX-License-Identifier: ISC */
/*
 * test_conn - the parts of tcpserver's child that need no socket: host
 * names from DNS made safe for TCPREMOTEHOST, and a rule's assignments
 * applied to the environment.
 */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "harness.h"

static const struct {
    const char *in, *out; /* out NULL: refused */
} host_cases[] = {
    {"localhost", "localhost"},
    {"Mail.Example.COM.", "mail.example.com"},
    {"a-b_c.example", "a-b_c.example"},
    {"", NULL},
    {".", NULL},
    {"a..b", NULL},
    {".a", NULL},
    {"a b", NULL},
    {"a\nb", NULL},
    {"evil:host", NULL},
    {"=x", NULL},
};

static void
test_host_clean(void)
{
    struct bstr b = BSTR_INIT;

    for (size_t i = 0; i < sizeof host_cases / sizeof host_cases[0]; i++) {
        bool ok;

        CHECK_INT(bstr_copys(&b, host_cases[i].in), 0);
        ok = conn_host_clean(&b);
        if (!CHECK_INT(ok, host_cases[i].out != NULL))
            continue;
        if (ok)
            CHECK_BSTR(b, host_cases[i].out);
    }
    CHECK_INT(bstr_copys(&b, ""), 0);
    for (int i = 0; i < 255; i++)
        CHECK_INT(bstr_catc(&b, i % 2 ? '.' : 'a'), 0);
    CHECK(!conn_host_clean(&b));
    bstr_free(&b);
}

static void
test_setenv_rules(void)
{
    static const char d[] = "A\0+QNG_T1=\0+QNG_T2= x, y\0+QNG_T3=a=b\0"
                            "+QNG_T2=again\0D\0+=nameless\0";

    setenv("QNG_T1", "old", 1);
    CHECK_INT(conn_setenv_rules(d, sizeof d - 1), 0);
    CHECK_STR(getenv("QNG_T1"), "");
    CHECK_STR(getenv("QNG_T2"), "again"); /* later records win */
    CHECK_STR(getenv("QNG_T3"), "a=b");
}

static const struct test_case cases[] = {
    {"host names cleaned for TCPREMOTEHOST", test_host_clean},
    {"rule assignments into the environment", test_setenv_rules},
};

TEST_MAIN(cases)
