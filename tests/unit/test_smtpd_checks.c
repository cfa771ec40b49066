/* SPDX-License-Identifier: ISC */
/*
 * test_smtpd_checks - the pure parts of qmail-smtpd's spamcontrol
 * checks: RFC 5321 4.1.2's Domain and address-literal for the HELO
 * syntax check, the "seconds" values of tarpitdelay and greetdelay, and
 * badrcptto / maxrcpt decisions on a session built by hand.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "smtpd.h"

struct helo_case {
    const char *h;
    bool ok;
};

static const struct helo_case helos[] = {
    {"mail.example.com", true},
    {"localhost", true},
    {"a", true},
    {"1.2.3.4", true}, /* digits are labels: the bareip check's business */
    {"xn--bcher-kva.example", true},
    {"[192.0.2.1]", true},
    {"[IPv6:2001:db8::1]", true},
    {"[ipv6:::1]", true},
    {"", false},
    {"-a.example", false},
    {"a-.example", false},
    {"a..example", false},
    {".example", false},
    {"example.", false}, /* RFC 5321 Domain has no root dot */
    {"under_score.example", false},
    {"sp ace.example", false},
    {"[300.1.1.1]", false},
    {"[192.0.2.1", false},
    {"[IPv6:zz::1]", false},
    {"[]", false},
    {"caf\xc3\xa9.example", false},
    {"a\x01.example", false},
};

static void
t_helo_syntax(void)
{
    char label[80], longname[300];

    for (size_t i = 0; i < sizeof helos / sizeof helos[0]; i++)
        if (!CHECK(smtpd_checks_helo_syntax(helos[i].h, strlen(helos[i].h)) ==
                   helos[i].ok))
            printf("    \"%s\": want %d\n", helos[i].h, helos[i].ok);
    memset(label, 'a', 63);
    CHECK(smtpd_checks_helo_syntax(label, 63));
    memset(label, 'a', 64);
    CHECK(!smtpd_checks_helo_syntax(label, 64));
    /* 255 bytes in all at most */
    for (size_t i = 0; i < sizeof longname; i++)
        longname[i] = i % 10 == 9 ? '.' : 'b';
    CHECK(smtpd_checks_helo_syntax(longname, 249));
    CHECK(!smtpd_checks_helo_syntax(longname, 259));
    /* a NUL inside is not a name */
    CHECK(!smtpd_checks_helo_syntax("a\0b", 3));
}

static void
t_secs(void)
{
    unsigned long ms = 7;

    CHECK_INT(smtpd_checks_secs("5", &ms), 0);
    CHECK_INT(ms, 5000);
    CHECK_INT(smtpd_checks_secs("0", &ms), 0);
    CHECK_INT(ms, 0);
    CHECK_INT(smtpd_checks_secs("0.3", &ms), 0);
    CHECK_INT(ms, 300);
    CHECK_INT(smtpd_checks_secs("1.25", &ms), 0);
    CHECK_INT(ms, 1250);
    CHECK_INT(smtpd_checks_secs(".5", &ms), 0);
    CHECK_INT(ms, 500);
    CHECK_INT(smtpd_checks_secs("3600", &ms), 0);
    CHECK_INT(ms, 3600000);
    ms = 7;
    const char *bad[] = {"", "3601", "1.2345", "5s", "-1", "1.", ".",
                         " 1", "99999999999999999999", "0x10", NULL};
    for (size_t i = 0; bad[i]; i++)
        if (!CHECK(smtpd_checks_secs(bad[i], &ms) == -1))
            printf("    \"%s\" taken\n", bad[i]);
    CHECK_INT(ms, 7); /* untouched by a refusal */
    CHECK_INT(smtpd_checks_secs(NULL, &ms), -1);
}

/* a session with the settings a control directory would give */
static void
mkcf(struct smtpd_config *cf, const char *badrcptto)
{
    memset(cf, 0, sizeof *cf);
    /* a ctl list: every item NUL-terminated, the last one too */
    if (bstr_catb(&cf->badrcptto, badrcptto, strlen(badrcptto) + 1) == -1 ||
        bstr_copys(&cf->tarpitdelay, "5") == -1 ||
        bstr_copys(&cf->greetdelay, "0") == -1)
        CHECK(0);
    for (size_t i = 0; i < cf->badrcptto.len; i++)
        if (cf->badrcptto.s[i] == '\n')
            cf->badrcptto.s[i] = '\0';
}

static enum reason
rcpt(struct smtpd_session *s, const char *a)
{
    struct bstr b = BSTR_INIT;
    enum reason r;

    if (bstr_copys(&b, a) == -1)
        return OC_NOMEM;
    r = smtpd_checks_rcpt(s, &b);
    bstr_free(&b);
    return r;
}

static void
t_badrcptto_and_maxrcpt(void)
{
    struct smtpd_config cf;
    struct smtpd_session s;

    mkcf(&cf, "Trap@Example.test\n@gone.test\n*-bounce@example.test\n"
              "!vip-bounce@example.test\n!keep@gone.test");
    CHECK_INT(smtpd_checks_init(&cf), 0);
    memset(&s, 0, sizeof s);
    s.cf = &cf;
    s.chk.badrcptto = true;
    CHECK_INT(rcpt(&s, "trap@example.test"), OC_BADRCPTTO);
    CHECK_INT(rcpt(&s, "TRAP@EXAMPLE.TEST"), OC_BADRCPTTO);
    CHECK_INT(rcpt(&s, "x@GONE.test"), OC_BADRCPTTO);
    CHECK_INT(rcpt(&s, "keep@gone.test"), OC_OK);
    CHECK_INT(rcpt(&s, "list-bounce@example.test"), OC_BADRCPTTO);
    CHECK_INT(rcpt(&s, "vip-bounce@example.test"), OC_OK);
    CHECK_INT(rcpt(&s, "user@example.test"), OC_OK);
    CHECK_INT(rcpt(&s, "postmaster"), OC_OK);
    /* trusted: no check; NOBADRCPTTO: no check */
    s.relayclient = "";
    CHECK_INT(rcpt(&s, "trap@example.test"), OC_OK);
    s.relayclient = NULL;
    s.chk.badrcptto = false;
    CHECK_INT(rcpt(&s, "trap@example.test"), OC_OK);
    /* maxrcpt for strangers, SMTPD_RCPT_MAX for everyone */
    s.chk.maxrcpt = 2;
    s.txn.nrcpt = 2;
    CHECK_INT(rcpt(&s, "a@example.test"), OC_MAXRCPT);
    s.relayclient = "";
    CHECK_INT(rcpt(&s, "a@example.test"), OC_OK);
    s.txn.nrcpt = SMTPD_RCPT_MAX;
    CHECK_INT(rcpt(&s, "a@example.test"), OC_TOOMANYRCPT);
    smtpd_checks_free(&cf);
    CHECK(cf.checks == NULL);
    bstr_free(&cf.badrcptto);
    bstr_free(&cf.tarpitdelay);
    bstr_free(&cf.greetdelay);
}

static void
t_bad_settings(void)
{
    struct smtpd_config cf;

    mkcf(&cf, "");
    CHECK_INT(bstr_copys(&cf.tarpitdelay, "soon"), 0);
    CHECK_INT(smtpd_checks_init(&cf), -1);
    CHECK_STR(cf.checks_bad, "tarpitdelay");
    CHECK_INT(bstr_copys(&cf.tarpitdelay, "1"), 0);
    CHECK_INT(bstr_catb(&cf.helocheck, "me\0sytnax", 10), 0);
    CHECK_INT(smtpd_checks_init(&cf), -1);
    CHECK_STR(cf.checks_bad, "helocheck");
    smtpd_checks_free(&cf);
    bstr_free(&cf.badrcptto);
    bstr_free(&cf.tarpitdelay);
    bstr_free(&cf.greetdelay);
    bstr_free(&cf.helocheck);
}

static const struct test_case cases[] = {
    {"helo_syntax", t_helo_syntax},
    {"secs", t_secs},
    {"badrcptto_and_maxrcpt", t_badrcptto_and_maxrcpt},
    {"bad_settings", t_bad_settings},
};

TEST_MAIN(cases)
