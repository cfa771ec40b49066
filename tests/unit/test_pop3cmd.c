/* SPDX-License-Identifier: ISC */
/*
 * test_pop3cmd - the POP3 command parser: every verb in any case, the
 * argument as qmail's reader splits it (first run of spaces dropped, the
 * rest whole), control bytes flagged, and the numbers of RETR/TOP/DELE
 * refusing signs, spaces, overflow and empty text.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "pop3cmd.h"

struct parse_case {
    const char *line;
    size_t len; /* 0: strlen(line) */
    enum pop3_verb verb;
    const char *arg;
    bool ctl;
};

static const struct parse_case parses[] = {
    {"USER joe", 0, POP3_USER, "joe", false},
    {"user joe", 0, POP3_USER, "joe", false},
    {"uSeR joe", 0, POP3_USER, "joe", false},
    {"PASS secret word ", 0, POP3_PASS, "secret word ", false},
    {"PASS    lead", 0, POP3_PASS, "lead", false},
    {"PASS", 0, POP3_PASS, "", false},
    {"PASS ", 0, POP3_PASS, "", false},
    {"APOP joe 0123456789abcdef", 0, POP3_APOP, "joe 0123456789abcdef", false},
    {"AUTH PLAIN", 0, POP3_AUTH, "PLAIN", false},
    {"stls", 0, POP3_STLS, "", false},
    {"Capa", 0, POP3_CAPA, "", false},
    {"QUIT", 0, POP3_QUIT, "", false},
    {"noop", 0, POP3_NOOP, "", false},
    {"STAT", 0, POP3_STAT, "", false},
    {"LIST", 0, POP3_LIST, "", false},
    {"list 3", 0, POP3_LIST, "3", false},
    {"RETR 1", 0, POP3_RETR, "1", false},
    {"DELE 12", 0, POP3_DELE, "12", false},
    {"rset", 0, POP3_RSET, "", false},
    {"top 1 10", 0, POP3_TOP, "1 10", false},
    {"UIDL", 0, POP3_UIDL, "", false},
    {"last", 0, POP3_LAST, "", false},
    {"RETR 1\r", 0, POP3_RETR, "1", false}, /* a CR left by the caller */
    {"", 0, POP3_UNKNOWN, "", false},
    {" ", 0, POP3_UNKNOWN, "", false},
    {" USER joe", 0, POP3_UNKNOWN, "USER joe", false},
    {"RETRX 1", 0, POP3_UNKNOWN, "1", false},
    {"RET", 0, POP3_UNKNOWN, "", false},
    {"TOPS", 0, POP3_UNKNOWN, "", false},
    {"XTND XMIT", 0, POP3_UNKNOWN, "XMIT", false},
    {"RETR\t1", 0, POP3_UNKNOWN, "", true},
    {"USER jo\x01e", 0, POP3_USER, "jo\x01e", true},
    {"PASS a\x7f", 0, POP3_PASS, "a\x7f", true},
    {"RE\0TR 1", 7, POP3_UNKNOWN, "1", true},
    {"USER joe\0x", 10, POP3_USER, "joe\0x", true},
    {"USER j\xc3\xa9", 0, POP3_USER, "j\xc3\xa9",
     false}, /* UTF-8 is not a control */
    {"\r", 0, POP3_UNKNOWN, "", false},
    {"\r\r", 0, POP3_UNKNOWN, "", true},
};

static void
t_parse(void)
{
    for (size_t i = 0; i < sizeof parses / sizeof parses[0]; i++) {
        const struct parse_case *t = &parses[i];
        size_t len = t->len ? t->len : strlen(t->line);
        /* an argument with a NUL runs to the line's end */
        size_t alen =
            t->len && *t->arg
                ? (size_t)(t->line + len -
                           (const char *)memmem(t->line + 1, len - 1, t->arg,
                                                strlen(t->arg)))
                : strlen(t->arg);
        struct pop3cmd c;

        pop3cmd_parse(t->line, len, &c);
        if (!CHECK_INT(c.verb, t->verb) | !CHECK_INT(c.ctl, t->ctl) |
            !harness_check_mem(c.arg, c.arglen, t->arg, alen, "arg", __FILE__,
                               __LINE__))
            fprintf(stderr, "  in case %zu\n", i);
        /* the argument always points into the line, or is "" */
        CHECK(c.arglen == 0 ||
              (c.arg >= t->line && c.arg + c.arglen <= t->line + len));
    }
}

static void
t_parse_null(void)
{
    struct pop3cmd c;

    pop3cmd_parse(NULL, 0, &c);
    CHECK_INT(c.verb, POP3_UNKNOWN);
    CHECK_INT(c.arglen, 0);
    CHECK_STR(c.arg, "");
}

static void
t_parse_long(void)
{
    static char line[1 << 20];
    struct pop3cmd c;

    memset(line, 'A', sizeof line);
    pop3cmd_parse(line, sizeof line, &c);
    CHECK_INT(c.verb, POP3_UNKNOWN);
    CHECK(!c.ctl);
    memcpy(line, "PASS ", 5);
    pop3cmd_parse(line, sizeof line, &c);
    CHECK_INT(c.verb, POP3_PASS);
    CHECK_INT(c.arglen, sizeof line - 5);
    line[sizeof line / 2] = '\0';
    pop3cmd_parse(line, sizeof line, &c);
    CHECK(c.ctl);
}

struct num_case {
    const char *s;
    int ok;
    unsigned long n;
    const char *rest;
};

static const struct num_case nums[] = {
    {"1", 1, 1, ""},
    {"0", 1, 0, ""},
    {"007", 1, 7, ""},
    {"12 ", 1, 12, ""},
    {"12   5", 1, 12, "5"},
    {"3x", 1, 3, "x"},
    {"4294967296", 1, 4294967296UL, ""},
    {"18446744073709551615", 1, ULONG_MAX, ""},
    {"18446744073709551616", 0, 0, NULL},
    {"99999999999999999999999", 0, 0, NULL},
    {"", 0, 0, NULL},
    {" 1", 0, 0, NULL},
    {"+1", 0, 0, NULL},
    {"-1", 0, 0, NULL},
    {"x1", 0, 0, NULL},
    {"\t1", 0, 0, NULL},
    {"0x10", 1, 0, "x10"},
};

static void
t_number(void)
{
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        const struct num_case *t = &nums[i];
        unsigned long n = 4242;
        const char *rest = NULL;
        size_t restlen = 99;
        int r = pop3cmd_number(t->s, strlen(t->s), &n, &rest, &restlen);

        if (!CHECK_INT(r, t->ok))
            fprintf(stderr, "  number case \"%s\"\n", t->s);
        if (r != 1) {
            CHECK_INT(n, 4242); /* untouched */
            continue;
        }
        CHECK(n == t->n);
        CHECK(harness_check_mem(rest, restlen, t->rest, strlen(t->rest), "rest",
                                __FILE__, __LINE__));
    }
}

static void
t_number_bounds(void)
{
    unsigned long n = 0;
    const char *rest;
    size_t restlen;

    /* the length is respected: "12" of "123" */
    CHECK_INT(pop3cmd_number("123", 2, &n, &rest, &restlen), 1);
    CHECK_INT(n, 12);
    CHECK_INT(restlen, 0);
    CHECK_INT(pop3cmd_number("123", 0, &n, &rest, &restlen), 0);
    CHECK_INT(pop3cmd_number(NULL, 0, &n, &rest, &restlen), 0);
    /* rest and restlen may be left out */
    CHECK_INT(pop3cmd_number("5", 1, &n, NULL, NULL), 1);
    CHECK_INT(n, 5);
}

static void
t_names(void)
{
    CHECK_STR(pop3cmd_verb_name(POP3_USER), "USER");
    CHECK_STR(pop3cmd_verb_name(POP3_TOP), "TOP");
    CHECK_STR(pop3cmd_verb_name(POP3_LAST), "LAST");
    CHECK_STR(pop3cmd_verb_name(POP3_UNKNOWN), "?");
    CHECK_STR(pop3cmd_verb_name((enum pop3_verb)999), "?");
    /* every verb's name parses back to it */
    for (int v = POP3_USER; v <= POP3_LAST; v++) {
        struct pop3cmd c;
        const char *name = pop3cmd_verb_name((enum pop3_verb)v);

        pop3cmd_parse(name, strlen(name), &c);
        CHECK_INT(c.verb, v);
    }
}

static const struct test_case cases[] = {
    {"parse", t_parse},
    {"parse_null", t_parse_null},
    {"parse_long", t_parse_long},
    {"number", t_number},
    {"number_bounds", t_number_bounds},
    {"names", t_names},
};

TEST_MAIN(cases)
