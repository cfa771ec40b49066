/* SPDX-License-Identifier: ISC */
/* test_ctl - control files with qmail's semantics, and the table loader. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "harness.h"

static void
put(const char *name, const char *content)
{
    FILE *f = fopen(name, "w");

    if (!f)
        return;
    fputs(content, f);
    fclose(f);
}

static void
enter_tmp(void)
{
    CHECK(chdir(harness_tmpdir()) == 0);
    mkdir("control", 0755);
}

static void
t_readline(void)
{
    struct bstr b = BSTR_INIT;

    enter_tmp();
    put("control/me", "mx.example.com  \t\nsecond line\n");
    CHECK_INT(ctl_readline("control/me", &b), 1);
    CHECK_BSTR(b, "mx.example.com");
    put("control/empty", "");
    CHECK_INT(ctl_readline("control/empty", &b), 1);
    CHECK_BSTR(b, "");
    put("control/nonl", "no newline");
    CHECK_INT(ctl_readline("control/nonl", &b), 1);
    CHECK_BSTR(b, "no newline");
    CHECK_INT(ctl_readline("control/absent", &b), 0);
    CHECK_INT(b.len, 0);
    bstr_free(&b);
}

static void
t_readulong(void)
{
    unsigned long u = 5;

    enter_tmp();
    put("control/databytes", "10000000\n");
    CHECK_INT(ctl_readulong("control/databytes", &u), 1);
    CHECK_INT(u, 10000000);
    put("control/bad", "12abc\n");
    CHECK_INT(ctl_readulong("control/bad", &u), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(ctl_readulong("control/absent", &u), 0);
}

static void
t_readlist(void)
{
    struct bstr b = BSTR_INIT;
    const char *it;
    int n = 0;

    enter_tmp();
    put("control/rcpthosts",
        "example.com\n\n# comment\n.example.net  \nlast-no-newline");
    CHECK_INT(ctl_readlist("control/rcpthosts", &b), 1);
    for (it = ctl_list_next(&b, NULL); it; it = ctl_list_next(&b, it)) {
        n++;
        if (n == 1)
            CHECK_STR(it, "example.com");
        if (n == 2)
            CHECK_STR(it, ".example.net");
        if (n == 3)
            CHECK_STR(it, "last-no-newline");
    }
    CHECK_INT(n, 3);
    CHECK_INT(ctl_readlist("control/absent", &b), 0);
    CHECK(ctl_list_next(&b, NULL) == NULL);
    bstr_free(&b);
}

static void
t_unreadable_is_error(void)
{
    struct bstr b = BSTR_INIT;

    enter_tmp();
    mkdir("control/adir", 0755); /* reading a directory fails: EISDIR */
    CHECK_INT(ctl_readline("control/adir", &b), -1);
    bstr_free(&b);
}

struct conf {
    struct bstr me, greeting, rcpthosts;
    unsigned long databytes, timeout;
    bool have_rcpthosts;
};

static const struct ctl_setting table[] = {
    {"me", CTL_LINE, NULL, 0, 0, offsetof(struct conf, me), CTL_NOFLAG},
    {"smtpgreeting", CTL_LINE, "@me", 0, 0, offsetof(struct conf, greeting),
     CTL_NOFLAG},
    {"rcpthosts", CTL_LIST, NULL, 0, 0, offsetof(struct conf, rcpthosts),
     offsetof(struct conf, have_rcpthosts)},
    {"databytes", CTL_ULONG, "0", 0, (unsigned long)-1,
     offsetof(struct conf, databytes), CTL_NOFLAG},
    {"timeoutsmtpd", CTL_ULONG, "1200", 1, 86400,
     offsetof(struct conf, timeout), CTL_NOFLAG},
};

static void
t_load_table(void)
{
    struct conf c = {0};
    const char *bad = NULL;

    enter_tmp();
    unlink("control/me");
    unlink("control/rcpthosts");
    unlink("control/databytes");
    CHECK_INT(ctl_load(table, 5, &c, &bad), -1);
    CHECK_STR(bad, "me");
    put("control/me", "host.example\n");
    CHECK_INT(ctl_load(table, 5, &c, &bad), 0);
    CHECK_BSTR(c.greeting, "host.example");
    CHECK(!c.have_rcpthosts);
    CHECK_INT(c.databytes, 0);
    CHECK_INT(c.timeout, 1200);
    put("control/smtpgreeting", "Welcome !\n");
    put("control/rcpthosts", "a.test\n");
    put("control/timeoutsmtpd", "0\n");
    CHECK_INT(ctl_load(table, 5, &c, &bad), -1);
    CHECK_STR(bad, "timeoutsmtpd");
    put("control/timeoutsmtpd", "30\n");
    CHECK_INT(ctl_load(table, 5, &c, &bad), 0);
    CHECK_BSTR(c.greeting, "Welcome !");
    CHECK(c.have_rcpthosts);
    CHECK_INT(c.timeout, 30);
    bstr_free(&c.me);
    bstr_free(&c.greeting);
    bstr_free(&c.rcpthosts);
}

static const struct test_case tests[] = {
    {"first line, trailing space stripped", t_readline},
    {"numbers", t_readulong},
    {"lists skip blanks and comments", t_readlist},
    {"unreadable file is an error", t_unreadable_is_error},
    {"settings table with defaults and ranges", t_load_table},
};

TEST_MAIN(tests)
