/* SPDX-License-Identifier: ISC */
/*
 * test_smtpd_cmd - qmail-smtpd's command-line, MAIL/RCPT argument and
 * BDAT parsers (src/smtpd/commands.c), table-driven.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "smtpd.h"

/* ---- command lines ---------------------------------------------------- */

static const struct {
    const char *line;
    size_t len; /* 0: strlen */
    enum reason r;
    const char *verb; /* NULL: the unknown-verb entry */
    const char *arg;
} cmd_cases[] = {
    {"HELO ping.ovh.net\r\n", 0, OC_OK, "HELO", "ping.ovh.net"},
    {"helo ping.ovh.net\r\n", 0, OC_OK, "HELO", "ping.ovh.net"},
    {"eHlO x\r\n", 0, OC_OK, "EHLO", "x"},
    {"HELO\r\n", 0, OC_OK, "HELO", ""},
    {"HELO   spaced   \r\n", 0, OC_OK, "HELO", "spaced"},
    {"MAIL FROM:<a@b>\r\n", 0, OC_OK, "MAIL", "FROM:<a@b>"},
    {"MAIL FROM:<a@b>\n", 0, OC_OK, "MAIL", "FROM:<a@b>"},
    {"mail from: <a@b>\r\n", 0, OC_OK, "MAIL", "from: <a@b>"},
    {"RCPT TO:<a@b>", 0, OC_OK, "RCPT", "TO:<a@b>"},
    {"DATA\r\n", 0, OC_OK, "DATA", ""},
    {"BDAT 10 LAST\r\n", 0, OC_OK, "BDAT", "10 LAST"},
    {"RSET\r\n", 0, OC_OK, "RSET", ""},
    {"NOOP whatever\r\n", 0, OC_OK, "NOOP", "whatever"},
    {"VRFY postmaster\r\n", 0, OC_OK, "VRFY", "postmaster"},
    {"HELP\r\n", 0, OC_OK, "HELP", ""},
    {"QUIT\r\n", 0, OC_OK, "QUIT", ""},
    {"quit\r\n", 0, OC_OK, "QUIT", ""},
    {"EXPN list\r\n", 0, OC_OK, NULL, "list"},
    {"MAILX FROM:<a@b>\r\n", 0, OC_OK, NULL, "FROM:<a@b>"},
    {"MAI\r\n", 0, OC_OK, NULL, ""},
    {"\r\n", 0, OC_OK, NULL, ""},
    {"", 0, OC_OK, NULL, ""},
    {"STARTTLS\r\n", 0, OC_OK, "STARTTLS", ""},
    {"AUTH PLAIN AHRpbQB0YQ==\r\n", 0, OC_OK, "AUTH", "PLAIN AHRpbQB0YQ=="},
    {"STARTTLSX\r\n", 0, OC_OK, NULL, ""},
    /* NUL, bare CR inside the line */
    {"HELO a\0b\r\n", 10, OC_BADCMD, NULL, ""},
    {"MAIL FROM:<a@b>\rRCPT TO:<c@d>\r\n", 0, OC_BADCMD, NULL, ""},
    {"HELO x\r\r\n", 0, OC_BADCMD, NULL, ""},
    {"HELO \n x\r\n", 0, OC_BADCMD, NULL, ""},
};

static void
test_cmd_table(void)
{
    for (size_t i = 0; i < sizeof cmd_cases / sizeof cmd_cases[0]; i++) {
        struct smtpd_cmd c;
        size_t len = cmd_cases[i].len ? cmd_cases[i].len
                                      : strlen(cmd_cases[i].line);
        enum reason r = smtpd_cmd_parse(cmd_cases[i].line, len, &c);

        if (!CHECK_INT(r, cmd_cases[i].r))
            printf("    case %zu: %s\n", i, cmd_cases[i].line);
        if (r != OC_OK)
            continue;
        if (cmd_cases[i].verb) {
            if (!CHECK(c.verb->name != NULL) ||
                !CHECK_STR(c.verb->name, cmd_cases[i].verb))
                printf("    case %zu\n", i);
        } else if (!CHECK(c.verb->name == NULL)) {
            printf("    case %zu: matched %s\n", i, c.verb->name);
        }
        CHECK_INT(c.arglen, strlen(cmd_cases[i].arg));
        CHECK(memcmp(c.arg, cmd_cases[i].arg, c.arglen) == 0);
    }
}

static void
test_cmd_length(void)
{
    char line[SMTPD_CMD_MAX + 8];
    struct smtpd_cmd c;

    memset(line, 'x', sizeof line);
    memcpy(line, "NOOP ", 5);
    /* exactly SMTPD_CMD_MAX bytes before CRLF: fine */
    memcpy(line + SMTPD_CMD_MAX, "\r\n", 2);
    CHECK_INT(smtpd_cmd_parse(line, SMTPD_CMD_MAX + 2, &c), OC_OK);
    CHECK_INT(smtpd_cmd_parse(line, SMTPD_CMD_MAX + 1, &c), OC_OK);
    /* one more: too long, with CRLF, LF or none */
    line[SMTPD_CMD_MAX] = 'x';
    memcpy(line + SMTPD_CMD_MAX + 1, "\r\n", 2);
    CHECK_INT(smtpd_cmd_parse(line, SMTPD_CMD_MAX + 3, &c), OC_LONGCMD);
    line[SMTPD_CMD_MAX + 1] = '\n';
    CHECK_INT(smtpd_cmd_parse(line, SMTPD_CMD_MAX + 2, &c), OC_LONGCMD);
    CHECK_INT(smtpd_cmd_parse(line, SMTPD_CMD_MAX + 1, &c), OC_LONGCMD);
}

/* ---- MAIL ---------------------------------------------------------------- */

static const struct {
    const char *arg;
    enum reason r;
    const char *addr;
    int size; /* -1 not given, -2 saturated */
    bool body8, utf8;
} mail_cases[] = {
    {"FROM:<a@b.c>", OC_OK, "a@b.c", -1, false, false},
    {"from:<A@B.C>", OC_OK, "A@B.C", -1, false, false},
    {"FROM:<>", OC_OK, "", -1, false, false},
    {"FROM: <a@b.c>", OC_OK, "a@b.c", -1, false, false},
    {"FROM:   <a@b.c>", OC_OK, "a@b.c", -1, false, false},
    {"FROM:a@b.c", OC_OK, "a@b.c", -1, false, false},
    {"FROM:a@b.c SIZE=10", OC_OK, "a@b.c", 10, false, false},
    {"FROM:<postmaster>", OC_OK, "postmaster", -1, false, false},
    {"FROM:<@relay.example:a@b.c>", OC_OK, "a@b.c", -1, false, false},
    {"FROM:<\"john doe\"@b.c>", OC_OK, "john doe@b.c", -1, false, false},
    {"FROM:<a@[192.0.2.1]>", OC_OK, "a@[192.0.2.1]", -1, false, false},
    {"FROM:<a@b.c> SIZE=1000", OC_OK, "a@b.c", 1000, false, false},
    {"FROM:<a@b.c> size=0", OC_OK, "a@b.c", 0, false, false},
    {"FROM:<a@b.c> SIZE=99999999999999999999999999", OC_OK, "a@b.c", -2,
     false, false},
    {"FROM:<a@b.c> BODY=8BITMIME", OC_OK, "a@b.c", -1, true, false},
    {"FROM:<a@b.c> body=7bit", OC_OK, "a@b.c", -1, false, false},
    {"FROM:<a@b.c> SMTPUTF8", OC_OK, "a@b.c", -1, false, true},
    {"FROM:<a@b.c>  SIZE=5   BODY=8BITMIME SMTPUTF8", OC_OK, "a@b.c", 5,
     true, true},
    {"FROM:<\xc3\xa9t\xc3\xa9@b.c> SMTPUTF8", OC_OK, "\xc3\xa9t\xc3\xa9@b.c",
     -1, false, true},
    {"FROM:<a@\xc3\xa9.example> SMTPUTF8", OC_OK, "a@\xc3\xa9.example", -1,
     false, true},
    /* refusals */
    {"FROM:<\xc3\xa9t\xc3\xa9@b.c>", OC_NEEDUTF8, NULL, 0, false, false},
    {"FROM:<a@\xc3\xa9.example>", OC_NEEDUTF8, NULL, 0, false, false},
    {"FROM:<\xc3\x28@b.c> SMTPUTF8", OC_BADUTF8, NULL, 0, false, false},
    {"FROM:<\xc3\x28@b.c>", OC_BADUTF8, NULL, 0, false, false},
    {"FROM:<\xed\xa0\x80@b.c> SMTPUTF8", OC_BADUTF8, NULL, 0, false, false},
    {"FROM:<a@b.c> SIZE", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> SIZE=", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> SIZE=12x", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> SIZE=-1", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> SIZE=1 SIZE=2", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> BODY=BINARYMIME", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> BODY", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> SMTPUTF8=yes", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> SMTPUTF8 SMTPUTF8", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> RET=HDRS", OC_BADPARAM, NULL, 0, false, false},
    /* RFC 4954 5: checked for shape, then ignored */
    {"FROM:<a@b.c> AUTH=<>", OC_OK, "a@b.c", -1, false, false},
    {"FROM:<a@b.c> AUTH=joe+40example.com", OC_OK, "a@b.c", -1, false, false},
    {"FROM:<a@b.c> AUTH=", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> AUTH=<> AUTH=<>", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> AUTH=a=b", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> =x", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c> -X", OC_BADPARAM, NULL, 0, false, false},
    {"FROM:<a@b.c>junk", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:<a@b.c", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:a@b.c>", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:", OC_SYNTAX, NULL, 0, false, false},
    {"FROM", OC_SYNTAX, NULL, 0, false, false},
    {"TO:<a@b.c>", OC_SYNTAX, NULL, 0, false, false},
    {"<a@b.c>", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:<a b@c.d>", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:<a@b..c>", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:<a@-b.c>", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:<a@b.c.>", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:<.a@b.c>", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:<a\x01@b.c>", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:<\"a\x01\"@b.c>", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:<a@[300.1.1.1]>", OC_SYNTAX, NULL, 0, false, false},
    {"FROM:<@a,b:c@d>", OC_SYNTAX, NULL, 0, false, false},
};

static void
test_mail_table(void)
{
    struct smtpd_mail_arg m = {BSTR_INIT, 0, false, false, false};

    for (size_t i = 0; i < sizeof mail_cases / sizeof mail_cases[0]; i++) {
        const char *a = mail_cases[i].arg;
        enum reason r = smtpd_parse_mail(a, strlen(a), &m);

        if (!CHECK_INT(r, mail_cases[i].r)) {
            printf("    case %zu: %s\n", i, a);
            continue;
        }
        if (r != OC_OK)
            continue;
        if (!CHECK_BSTR(m.addr, mail_cases[i].addr))
            printf("    case %zu: %s\n", i, a);
        if (mail_cases[i].size == -1) {
            CHECK(!m.size_given);
        } else {
            CHECK(m.size_given);
            if (mail_cases[i].size == -2)
                CHECK(m.size == ULLONG_MAX);
            else
                CHECK_INT(m.size, mail_cases[i].size);
        }
        CHECK_INT(m.body8, mail_cases[i].body8);
        CHECK_INT(m.utf8, mail_cases[i].utf8);
    }
    bstr_free(&m.addr);
}

static void
test_mail_longaddr(void)
{
    struct smtpd_mail_arg m = {BSTR_INIT, 0, false, false, false};
    char buf[1100];
    size_t n;

    /* a local part over ADDR_LOCAL_MAX is a syntax error, not a crash */
    n = (size_t)snprintf(buf, sizeof buf, "FROM:<");
    memset(buf + n, 'a', 300);
    n += 300;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "@b.c>");
    CHECK_INT(smtpd_parse_mail(buf, n, &m), OC_SYNTAX);
    bstr_free(&m.addr);
}

/* ---- RCPT ------------------------------------------------------------------ */

static const struct {
    const char *arg;
    bool utf8;
    enum reason r;
    const char *addr;
} rcpt_cases[] = {
    {"TO:<a@b.c>", false, OC_OK, "a@b.c"},
    {"to:<a@b.c>", false, OC_OK, "a@b.c"},
    {"TO: <a@b.c>", false, OC_OK, "a@b.c"},
    {"TO:a@b.c", false, OC_OK, "a@b.c"},
    {"TO:<postmaster>", false, OC_OK, "postmaster"},
    {"TO:<Postmaster>", false, OC_OK, "Postmaster"},
    {"TO:<@local.example:user@remote.example>", false, OC_OK,
     "user@remote.example"},
    {"TO:<@a.example,@b.example:user@remote.example>", false, OC_OK,
     "user@remote.example"},
    {"TO:<\"user@remote\"@local.example>", false, OC_OK,
     "user@remote@local.example"},
    {"TO:<user%remote@local.example>", false, OC_OK,
     "user%remote@local.example"},
    {"TO:<remote!user@local.example>", false, OC_OK,
     "remote!user@local.example"},
    {"TO:<a@[IPv6:::1]>", false, OC_OK, "a@[IPv6:::1]"},
    {"TO:<\xc3\xa9@b.c>", true, OC_OK, "\xc3\xa9@b.c"},
    {"TO:<\xc3\xa9@b.c>", false, OC_NEEDUTF8, NULL},
    {"TO:<\xff@b.c>", true, OC_BADUTF8, NULL},
    {"TO:<>", false, OC_SYNTAX, NULL},
    {"TO:<user@remote@local.example>", false, OC_SYNTAX, NULL},
    /* no domain, '@' in the local part: the queue form would read
     * "user at remote.example" (found by fuzz_addr) */
    {"TO:<\"user@remote.example\">", false, OC_SYNTAX, NULL},
    {"TO:<\"user@remote.example\"@local.example>", false, OC_OK,
     "user@remote.example@local.example"},
    {"TO:<a@b.c> NOTIFY=NEVER", false, OC_BADPARAM, NULL},
    {"TO:<a@b.c> SIZE=1", false, OC_BADPARAM, NULL},
    {"TO:<a@b.c>x", false, OC_SYNTAX, NULL},
    {"FROM:<a@b.c>", false, OC_SYNTAX, NULL},
    {"TO:", false, OC_SYNTAX, NULL},
};

static void
test_rcpt_table(void)
{
    struct bstr a = BSTR_INIT;

    for (size_t i = 0; i < sizeof rcpt_cases / sizeof rcpt_cases[0]; i++) {
        const char *s = rcpt_cases[i].arg;
        enum reason r = smtpd_parse_rcpt(s, strlen(s), rcpt_cases[i].utf8, &a);

        if (!CHECK_INT(r, rcpt_cases[i].r)) {
            printf("    case %zu: %s\n", i, s);
            continue;
        }
        if (r == OC_OK && !CHECK_BSTR(a, rcpt_cases[i].addr))
            printf("    case %zu: %s\n", i, s);
    }
    bstr_free(&a);
}

/* ---- BDAT ------------------------------------------------------------------ */

static const struct {
    const char *arg;
    int ret;
    unsigned long long size;
    bool last;
} bdat_cases[] = {
    {"0", 0, 0, false},
    {"0 LAST", 0, 0, true},
    {"1024", 0, 1024, false},
    {"1024 last", 0, 1024, true},
    {"1024   LAST", 0, 1024, true},
    {"18446744073709551615", 0, 18446744073709551615ULL, false},
    {"18446744073709551616", -1, 0, false},
    {"", -1, 0, false},
    {"LAST", -1, 0, false},
    {"-1", -1, 0, false},
    {"+5", -1, 0, false},
    {"12x", -1, 0, false},
    {"12LAST", -1, 0, false},
    {"12 LASTX", -1, 0, false},
    {"12 FIRST", -1, 0, false},
    {"12 LAST 3", -1, 0, false},
};

static void
test_bdat_table(void)
{
    for (size_t i = 0; i < sizeof bdat_cases / sizeof bdat_cases[0]; i++) {
        const char *s = bdat_cases[i].arg;
        unsigned long long n = 7;
        bool last = false;
        int r = smtpd_parse_bdat(s, strlen(s), &n, &last);

        if (!CHECK_INT(r, bdat_cases[i].ret)) {
            printf("    case %zu: %s\n", i, s);
            continue;
        }
        if (r == 0) {
            CHECK(n == bdat_cases[i].size);
            CHECK_INT(last, bdat_cases[i].last);
        }
    }
}

static const struct test_case cases[] = {
    {"command lines", test_cmd_table},
    {"command length limit", test_cmd_length},
    {"MAIL arguments and parameters", test_mail_table},
    {"MAIL long address", test_mail_longaddr},
    {"RCPT arguments", test_rcpt_table},
    {"BDAT arguments", test_bdat_table},
};

TEST_MAIN(cases)
