/* SPDX-License-Identifier: ISC */
/*
 * test_result - every delivery result text, pinned byte for byte.
 *
 * The expected strings below are the texts qmail-local, qmail-lspawn,
 * qmail-remote, qmail-rspawn, vdelivermail and qmail-send wrote before
 * the texts moved into src/lib/result.c (qmail-1.03's where it had the
 * case): they are the contract scripts and logs parse, so a change here
 * is a change of behaviour.  The parser is checked against the same
 * texts and against what qmail-remote puts around a remote reply.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "result.h"

struct pin {
    enum result_reason r;
    const char *args[5];
    size_t nargs;
    const char *want;
};

static const struct pin pins[] = {
    {RS_NOMEM, {0}, 0, "Out of memory. (#4.3.0)"},
    {RS_HOME_STAT, {"E"}, 1, "Unable to stat home directory: E. (#4.3.0)"},
    {RS_HOME_WRITABLE, {0}, 0, "Uh-oh: home directory is writable. (#4.7.0)"},
    {RS_HOME_STICKY,
     {0},
     0,
     "Home directory is sticky: user is editing his .qmail file. (#4.2.1)"},
    {RS_OPEN, {"F", "E"}, 2, "Unable to open F: E. (#4.3.0)"},
    {RS_READ, {"F", "E"}, 2, "Unable to read F: E. (#4.3.0)"},
    {RS_CHDIR, {"D", "E"}, 2, "Unable to switch to D: E. (#4.3.0)"},
    {RS_DOTQMAIL_WRITABLE, {0}, 0, "Uh-oh: .qmail file is writable. (#4.7.0)"},
    {RS_DOTQMAIL_TOOBIG, {"F"}, 1, "Uh-oh: F is too big. (#4.2.1)"},
    {RS_DOTQMAIL_BLANK,
     {0},
     0,
     "Uh-oh: first line of .qmail file is blank. (#4.2.1)"},
    {RS_DOTQMAIL_XBIT, {"W"}, 1, "Uh-oh: W. (#4.7.0)"},
    {RS_DOTQMAIL_LINE, {"F", "7", "W"}, 3, "Uh-oh: F line 7: W. (#4.2.1)"},
    {RS_NOMAILBOX, {0}, 0, "Sorry, no mailbox here by that name. (#5.1.1)"},
    {RS_REWIND, {0}, 0, "Unable to rewind message. (#4.3.0)"},
    {RS_READ_MSG, {"E"}, 1, "Unable to read message: E. (#4.3.0)"},
    {RS_LOOP,
     {0},
     0,
     "This message is looping: it already has my Delivered-To line. "
     "(#5.4.6)"},
    {RS_MAILDIR_OPEN, {"D/", "E"}, 2, "Unable to open maildir D/: E. (#4.2.1)"},
    {RS_MAILDIR_FULL,
     {"D/", "E"},
     2,
     "Unable to write to maildir D/: E. (#4.2.2)"},
    {RS_MAILDIR_WRITE,
     {"D/", "E"},
     2,
     "Unable to write to maildir D/: E. (#4.3.0)"},
    {RS_MBOX_OPEN, {"F", "E"}, 2, "Unable to open F: E. (#4.2.1)"},
    {RS_MBOX_DOTLOCK,
     {"F", "30"},
     2,
     "Lock file F.lock has been there for 30 seconds straight. (#4.3.0)"},
    {RS_MBOX_LOCK, {"F", "E"}, 2, "Unable to lock F: E. (#4.3.0)"},
    {RS_MBOX_LOCKED,
     {0},
     0,
     "File has been locked for 30 seconds straight. (#4.3.0)"},
    {RS_MBOX_WRITE, {"F", "E"}, 2, "Unable to write F: E. (#4.3.0)"},
    {RS_FORK, {"E"}, 1, "Unable to fork: E. (#4.3.0)"},
    {RS_RUN_SH, {"E"}, 1, "Unable to run /bin/sh: E. (#4.3.0)"},
    {RS_WAIT, {"E"}, 1, "Unable to wait for program: E. (#4.3.0)"},
    {RS_CRASHED, {0}, 0, "Aack, child crashed. (#4.3.0)"},
    {RS_MESS_OPEN,
     {"mess/1/2", "E"},
     2,
     "Unable to open message mess/1/2: E. (#4.3.0)"},
    {RS_MESS_SETUP, {"E"}, 1, "Unable to set up message: E. (#4.3.0)"},
    {RS_LSPAWN_NOMEM, {0}, 0, "Out of memory in qmail-lspawn. (#4.3.0)"},
    {RS_USERS,
     {"Unable to read users/cdb: E."},
     1,
     "Unable to read users/cdb: E. (#4.3.0)"},
    {RS_ROOT, {0}, 0, "Not allowed to perform deliveries as root. (#5.7.1)"},
    {RS_SETUSER, {"U", "E"}, 2, "Unable to switch to user U: E. (#4.3.0)"},
    {RS_RUN, {"P", "E"}, 2, "Unable to run P: E. (#4.3.0)"},
    {RS_LOCAL_CRASHED, {"11"}, 1, "qmail-local crashed (signal 11). (#4.3.0)"},
    {RS_LSPAWN_ONE,
     {0},
     0,
     "qmail-lspawn takes one recipient per delivery. (#4.3.0)"},
    {RS_LSPAWN_BUSY,
     {0},
     0,
     "Too many deliveries at once in qmail-lspawn. (#4.3.0)"},
    {RS_LSPAWN_PIPE,
     {0},
     0,
     "Unable to create a pipe in qmail-lspawn. (#4.3.0)"},
    {RS_LSPAWN_FORK, {0}, 0, "Unable to fork in qmail-lspawn. (#4.3.0)"},
    {RS_MISUSED, {0}, 0, "I (qmail-remote) was invoked improperly. (#5.3.5)"},
    {RS_CTL_READ, {"F", "E"}, 2, "Unable to read control file F: E. (#4.3.0)"},
    {RS_CTLS_READ, {0}, 0, "Unable to read control files. (#4.3.0)"},
    {RS_HOME_CHDIR, {0}, 0, "Unable to switch to home directory. (#4.3.0)"},
    {RS_DNS_SETUP, {"E"}, 1, "Unable to set up DNS: E. (#4.3.0)"},
    {RS_OSERR, {0}, 0, "System resources temporarily unavailable. (#4.3.0)"},
    {RS_OUTGOINGIP_BAD,
     {"X"},
     1,
     "control/outgoingip: X is not an IP address. (#4.3.0)"},
    {RS_OUTGOINGIP_TWO,
     {"6"},
     1,
     "control/outgoingip: more than one IPv6 address. (#4.3.0)"},
    {RS_AUTH_MODE,
     {"F"},
     1,
     "Sorry, F holds passwords and others may read it (chmod 600 it). "
     "(#4.3.0)"},
    {RS_AUTH_LINE,
     {"F", "3"},
     2,
     "F: line 3 is not host:user:password. (#4.3.0)"},
    {RS_ROUTES_LINE,
     {"3"},
     1,
     "control/smtproutes: line 3 is not a route. (#4.3.0)"},
    {RS_IPME_BAD,
     {"X"},
     1,
     "control/moreipme or control/notipme: X is not an IP address. "
     "(#4.3.0)"},
    {RS_TLSDEST_LINE,
     {"3"},
     1,
     "control/tlsdestinations: line 3 is not a policy. (#4.3.0)"},
    {RS_HOST_NONE,
     {"h.example"},
     1,
     "Sorry, I couldn't find any host named h.example. (#5.1.2)"},
    {RS_HOST_NULLMX,
     {"h.example"},
     1,
     "Sorry, h.example accepts no mail: its MX is \".\" (null MX). "
     "(#5.1.10)"},
    {RS_HOST_TEMP,
     {0},
     0,
     "Sorry, I couldn't find any host by that name. (#4.1.2)"},
    {RS_MX_LOOP,
     {0},
     0,
     "Sorry. Although I'm listed as a best-preference MX or A for that "
     "host,\nit isn't in my control/locals file, so I don't treat it as "
     "local. (#5.4.6)"},
    {RS_NOCONN,
     {0},
     0,
     "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)"},
    {RS_UNBOUND,
     {"192.0.2.1", "E"},
     2,
     "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"
     "Unable to connect from 192.0.2.1 (control/outgoingip): E."},
    {RS_SENT_BAD,
     {"192.0.2.1", "junk", "Possible duplicate! "},
     3,
     "Connected to 192.0.2.1 but it sent junk. Possible duplicate! "
     "(#4.4.2)"},
    {RS_SENT_BAD,
     {"192.0.2.1", "junk", ""},
     3,
     "Connected to 192.0.2.1 but it sent junk. (#4.4.2)"},
    {RS_DIED,
     {"192.0.2.1", ""},
     2,
     "Connected to 192.0.2.1 but connection died. (#4.4.2)"},
    {RS_DIED,
     {"192.0.2.1", "Possible duplicate! "},
     2,
     "Connected to 192.0.2.1 but connection died. Possible duplicate! "
     "(#4.4.2)"},
    {RS_TLS_FAILED,
     {"192.0.2.1", "W: D", "P"},
     3,
     "Sorry, TLS with 192.0.2.1 failed: W: D; P. (#4.7.5)"},
    {RS_AUTH_NOTLS,
     {"192.0.2.1"},
     1,
     "Sorry, control/smtproutes-auth has a login for 192.0.2.1, and I send "
     "passwords only over TLS, which it did not give. (#4.7.0)"},
    {RS_AUTH_NOMECH,
     {"192.0.2.1"},
     1,
     "Sorry, 192.0.2.1 offers neither AUTH PLAIN nor AUTH LOGIN, and "
     "control/smtproutes-auth has a login for it. (#4.7.0)"},
    {RS_AUTH_REFUSED,
     {"192.0.2.1", "U"},
     2,
     "Connected to 192.0.2.1 but my login as U was refused. (#4.7.0)"},
    {RS_NOREAD, {0}, 0, "Unable to read message. (#4.3.0)"},
    {RS_SENDER_CTL,
     {0},
     0,
     "Sorry, the envelope sender contains control characters. (#5.1.7)"},
    {RS_RCPT_CTL,
     {0},
     0,
     "Sorry, the recipient address contains control characters. (#5.1.3)"},
    {RS_NORCPT_LEFT,
     {0},
     0,
     "Sorry, no recipient could be given to the remote host. (#5.1.3)"},
    {RS_SENDER_UTF8,
     {"192.0.2.1"},
     1,
     "Sorry, 192.0.2.1 does not take UTF-8 addresses (SMTPUTF8), and the "
     "sender is one. (#5.6.7)"},
    {RS_RCPT_UTF8,
     {"192.0.2.1"},
     1,
     "Sorry, 192.0.2.1 does not take UTF-8 addresses (SMTPUTF8). (#5.6.7)"},
    {RS_TOOBIG,
     {"2000", "192.0.2.1", "1000"},
     3,
     "Sorry, the message is 2000 bytes, more than 192.0.2.1 accepts (1000 "
     "bytes). (#5.3.4)"},
    {RS_R_GREETING,
     {"192.0.2.1"},
     1,
     "Connected to 192.0.2.1 but greeting failed."},
    {RS_R_HELO,
     {"192.0.2.1"},
     1,
     "Connected to 192.0.2.1 but my name was rejected."},
    {RS_R_SENDER,
     {"192.0.2.1"},
     1,
     "Connected to 192.0.2.1 but sender was rejected."},
    {RS_R_RCPT, {"192.0.2.1"}, 1, "192.0.2.1 does not like recipient."},
    {RS_R_GIVEUP, {"192.0.2.1"}, 1, "Giving up on 192.0.2.1."},
    {RS_R_DATA, {"192.0.2.1"}, 1, "192.0.2.1 failed on DATA command."},
    {RS_R_AFTERDATA,
     {"192.0.2.1"},
     1,
     "192.0.2.1 failed after I sent the message."},
    {RS_R_ACCEPTED, {"192.0.2.1"}, 1, "192.0.2.1 accepted message."},
    {RS_NOTE_PLAIN,
     {"192.0.2.1", "it refused STARTTLS: 454"},
     2,
     "TLS: none, STARTTLS with 192.0.2.1 failed: it refused STARTTLS: 454; "
     "sent without TLS."},
    {RS_NOTE_TLS,
     {"TLSv1.3", "TLS_AES_256_GCM_SHA384", "256", "verified"},
     4,
     "TLS: TLSv1.3 with TLS_AES_256_GCM_SHA384 (256 bits), certificate "
     "verified."},
    {RS_REMOTE_START, {0}, 0, "Unable to start qmail-remote. (#4.3.0)"},
    {RS_REMOTE_CRASHED, {"9"}, 1, "qmail-remote crashed (signal 9). (#4.3.0)"},
    {RS_REMOTE_FAILED,
     {"111"},
     1,
     "qmail-remote failed (exit code 111). (#4.3.0)"},
    {RS_REMOTE_NOREPORT,
     {0},
     0,
     "qmail-remote ended without a report. (#4.3.0)"},
    {RS_REMOTE_GARBLED, {0}, 0, "qmail-remote garbled its report. (#4.3.0)"},
    {RS_NORCPTS, {0}, 0, "No recipients. (#4.3.0)"},
    {RS_EXPIRED,
     {0},
     0,
     "The queue administrator expired this message. (#5.4.7)"},
};

static void
t_pinned(void)
{
    bool seen[RS_COUNT] = {false};
    struct bstr b = BSTR_INIT;

    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++) {
        const struct pin *p = &pins[i];

        seen[p->r] = true;
        CHECK_INT(result_nargs(p->r), p->nargs);
        if (!CHECK(result_set(&b, p->r, p->args, p->nargs) == 0))
            continue;
        if (!CHECK_BSTR(b, p->want))
            printf("    %s\n", result_get(p->r)->name);
    }
    /* every reason is pinned */
    for (int r = 0; r < RS_COUNT; r++)
        if (!CHECK(seen[r]))
            printf("    reason %d (%s) has no pinned text\n", r,
                   result_get((enum result_reason)r)->name);
    bstr_free(&b);
}

static void
t_table_consistent(void)
{
    for (int r = 0; r < RS_COUNT; r++) {
        const struct result *o = result_get((enum result_reason)r);
        char tag[24];
        const char *at;

        CHECK_INT(o->reason, r);
        CHECK(o->name && o->text);
        if (!o->esc) {
            /* a line the remote's reply decides: no code of its own */
            CHECK(strstr(o->text, "(#") == NULL);
            CHECK(r >= RS_R_GREETING && r <= RS_NOTE_TLS);
            continue;
        }
        CHECK(o->kind == OUTCOME_TEMP || o->kind == OUTCOME_PERM);
        /* the class of the code is the kind */
        CHECK_INT(o->esc[0], o->kind == OUTCOME_PERM ? '5' : '4');
        CHECK_INT(result_exit((enum result_reason)r),
                  o->kind == OUTCOME_PERM ? EXIT_PERM : EXIT_TEMP);
        /* the text names its code exactly once, and only "%s" is a
         * conversion (arguments are strings, so the types match) */
        snprintf(tag, sizeof tag, "(#%s)", o->esc);
        at = strstr(o->text, tag);
        if (!CHECK(at != NULL && strstr(at + 1, "(#") == NULL))
            printf("    %s\n", o->text);
        for (const char *p = strchr(o->text, '%'); p; p = strchr(p + 2, '%'))
            if (!CHECK(p[1] == 's'))
                printf("    %s\n", o->text);
        CHECK(o->text[strlen(o->text) - 1] != '\n');
    }
}

static void
t_args(void)
{
    struct bstr b = BSTR_INIT;
    char n[FMT_ULONG];

    /* a wrong count changes nothing and says EINVAL */
    CHECK(bstr_cats(&b, "keep") == 0);
    errno = 0;
    CHECK_INT(result_cat(&b, RS_OPEN, RESULT_ARGS("only one")), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_BSTR(b, "keep");
    CHECK_INT(result_cat(&b, RS_NOMEM, RESULT_ARGS("extra")), -1);
    /* result_set empties on failure */
    result_set(&b, RS_OPEN, RESULT_NOARGS);
    CHECK_INT(b.len, 0);
    /* arguments are copied as they are: a "%s" in one is not expanded,
     * a NUL ends it, a newline stays */
    CHECK_INT(result_set(&b, RS_OPEN, RESULT_ARGS("%s%n", "a\nb")), 0);
    CHECK_BSTR(b, "Unable to open %s%n: a\nb. (#4.3.0)");
    CHECK_STR(result_num(n, 0), "0");
    /* the remote's reply, quoted after qmail-remote's words */
    bstr_truncate(&b, 0);
    CHECK_INT(result_said(&b, "", 0), 0);
    CHECK_INT(b.len, 0);
    CHECK_INT(result_said(&b, "550 no\n", 7), 0);
    CHECK_BSTR(b, "Remote host said: 550 no\n");
    CHECK_STR(result_num(n, 18446744073709551615ULL), "18446744073709551615");
    /* an out-of-range reason is a temporary failure, not a crash */
    CHECK_INT(result_get((enum result_reason)RS_COUNT)->kind, OUTCOME_TEMP);
    bstr_free(&b);
}

static void
t_parse(void)
{
    static const char refused[] =
        "192.0.2.7 does not like recipient.\n"
        "Remote host said: 550 5.1.1 <x@example>: no such user\n"
        "Giving up on 192.0.2.7.\n";
    static const char multi[] =
        "Connected to 192.0.2.7 but sender was rejected.\n"
        "Remote host said: 553-first\n553 5.7.1 second\n";
    static const char local[] = "Sorry, no mailbox here by that name. "
                                "(#5.1.1)\n";
    struct result_view v;
    char ip[IPADDR_FMT];

    result_parse(refused, sizeof refused - 1, &v);
    CHECK_STR(v.esc, "5.1.1");
    CHECK(v.said != NULL);
    if (v.said)
        CHECK(v.saidlen == strlen("550 5.1.1 <x@example>: no such user") &&
              memcmp(v.said, "550 5.1.1 <x@example>: no such user",
                     v.saidlen) == 0);
    CHECK(v.has_ip);
    ipaddr_fmt(ip, &v.ip);
    CHECK_STR(ip, "192.0.2.7");

    result_parse(multi, sizeof multi - 1, &v);
    CHECK(!v.has_ip); /* "Connected" is no address */
    CHECK_INT(v.saidlen, strlen("553-first\n553 5.7.1 second"));
    CHECK_STR(v.esc, "5.7.1"); /* the last line's: it ends the reply */

    result_parse(local, sizeof local - 1, &v);
    CHECK_STR(v.esc, "5.1.1");
    CHECK(v.said == NULL && v.saidlen == 0 && !v.has_ip);

    /* the text's last code wins; a server's own code beats ours */
    result_parse("a (#4.3.0) b (#4.2.2)", 21, &v);
    CHECK_STR(v.esc, "4.2.2");
    {
        static const char t[] = "Connected to 192.0.2.1 but connection "
                                "died. (#4.4.2)\nRemote host said: 421 "
                                "4.7.0 try later\n";
        result_parse(t, sizeof t - 1, &v);
        CHECK_STR(v.esc, "4.7.0");
    }
    /* hostile: codes that are no codes, a class that is not 2/4/5,
     * a code of another class than its reply, nothing at all */
    result_parse("(#9.9.9) (#4.3) (#4.x.0) (#", 27, &v);
    CHECK_STR(v.esc, "");
    /* not x.y.z: none of these is a Status a DSN may carry */
    {
        static const char *const bad[] = {"(#41234)",
                                          "(#4.....)",
                                          "(#4..1.1)",
                                          "(#4.1.)",
                                          "(#4.1234.1)",
                                          "(#4.1.1.1)",
                                          "(#.4.1.1)",
                                          "Remote host said: 550 5..1 x",
                                          "Remote host said: 550 5.1.1234 x"};

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            result_parse(bad[i], strlen(bad[i]), &v);
            if (!CHECK_STR(v.esc, ""))
                printf("    %s\n", bad[i]);
        }
        result_parse("Remote host said: 550 5.1.1", 27, &v);
        CHECK_STR(v.esc, "5.1.1");
        result_parse("Remote host said: 550 5.1.1\n", 28, &v);
        CHECK_STR(v.esc, "5.1.1");
        result_parse("Remote host said: 550-5.1.1 a\n550 5.1.2 b\nGiving up "
                     "(#4.4.1)\n",
                     61, &v);
        CHECK_STR(v.esc, "5.1.2");
        result_parse("(#5.1.10)", 9, &v);
        CHECK_STR(v.esc, "5.1.10");
        result_parse("(#4.123.123)", 12, &v);
        CHECK_STR(v.esc, "4.123.123");
    }
    result_parse("Remote host said: 550 4.1.1 no", 31, &v);
    CHECK_STR(v.esc, "");
    result_parse("", 0, &v);
    CHECK_STR(v.esc, "");
    CHECK(v.said == NULL);
    result_parse("Remote host said: ", 18, &v);
    CHECK(v.said == NULL);
}

/* parse whatever: 1 MiB of garbage with NULs, never past the end */
static void
t_parse_garbage(void)
{
    static char buf[1 << 20];
    unsigned x = 12345;
    struct result_view v;

    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = "(#45.0123\nRemote host said: 550 \0x"[(x >> 16) % 34];
    }
    result_parse(buf, sizeof buf, &v);
    CHECK(strlen(v.esc) < sizeof v.esc);
    CHECK(v.said == NULL ||
          (v.said >= buf && v.said + v.saidlen <= buf + sizeof buf));
}

static const struct test_case tests[] = {
    {"every text pinned byte for byte", t_pinned},
    {"table: code, kind and conversions agree", t_table_consistent},
    {"arguments: counted, copied as they are", t_args},
    {"parse: code, remote reply, address", t_parse},
    {"parse: 1 MiB of garbage", t_parse_garbage},
};

TEST_MAIN(tests)
