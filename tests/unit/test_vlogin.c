/* SPDX-License-Identifier: ISC */
/*
 * test_vlogin - vchkpw's decisions as tables: the checkpassword input's
 * fields, user@domain and user%domain, the service by port and program
 * as vpopmail 5.4's vchkpw decides it, and the verdict on a login for
 * an account (hash, CRAM-MD5 in both orders, flags after the password).
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "vlogin.h"

static void
t_fields(void)
{
    static const struct {
        const char *in;
        size_t n;
        int ok;
        const char *third;
    } c[] = {
        {"u\0p\0", 4, 1, NULL}, {"u\0p\0<t@h>\0", 10, 1, "<t@h>"},
        {"u\0\0", 3, 1, NULL}, /* empty password: the verdict refuses */
        {"u\0p", 3, 0, NULL},   {"u\0", 2, 0, NULL},
        {"\0p\0", 3, 0, NULL},  {"u\0p\0t\0x\0", 8, 0, NULL},
        {"", 0, 0, NULL},
    };
    struct vlogin_input in;

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int r = vlogin_fields(c[i].in, c[i].n, &in);

        if (!CHECK_INT(r == 0, c[i].ok))
            printf("  case %zu\n", i);
        if (r == 0 && c[i].third)
            CHECK_STR(in.third, c[i].third);
        if (r == 0 && !c[i].third)
            CHECK(in.third == NULL);
    }
}

static void
t_split(void)
{
    static const struct {
        const char *login, *user, *domain; /* user NULL: refused */
    } c[] = {
        {"joe@dom.test", "joe", "dom.test"},
        {"Joe@Dom.TEST", "joe", "dom.test"},
        {"joe%dom.test", "joe", "dom.test"},
        {"joe%a@b", "joe", "a@b"},
        {"joe", "joe", ""},
        {"@dom.test", NULL, NULL},
        {"joe@", NULL, NULL},
        {"a/b@dom.test", NULL, NULL},
        {"a:b@dom.test", NULL, NULL},
        {"a\tb@dom.test", NULL, NULL},
        {"", NULL, NULL},
    };
    struct bstr u = BSTR_INIT, d = BSTR_INIT;

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int r = vlogin_split(c[i].login, strlen(c[i].login), &u, &d);

        if (!CHECK_INT(r == 0, c[i].user != NULL))
            printf("  case %s\n", c[i].login);
        if (r == 0 && c[i].user) {
            CHECK_BSTR(u, c[i].user);
            CHECK_BSTR(d, c[i].domain);
        }
    }
    bstr_free(&u);
    bstr_free(&d);
}

static void
t_service(void)
{
    static const struct {
        const char *port, *prog, *ip;
        enum vlogin_service want;
    } c[] = {
        {"25", "qmail-pop3d", "192.0.2.1", VLOGIN_SMTP},
        {"465", NULL, "192.0.2.1", VLOGIN_SMTP},
        {"587", NULL, "127.0.0.1", VLOGIN_SMTP},
        {"110", "true", "192.0.2.1", VLOGIN_POP3},
        {"995", NULL, "192.0.2.1", VLOGIN_POP3},
        {"143", NULL, "192.0.2.1", VLOGIN_IMAP},
        {"993", NULL, "192.0.2.1", VLOGIN_IMAP},
        {"110", NULL, "127.0.0.1", VLOGIN_WEBMAIL},
        {"143", NULL, "127.0.0.1", VLOGIN_WEBMAIL},
        {"2525", "/bin/true", "192.0.2.1", VLOGIN_SMTP},
        {NULL, "/usr/sbin/imapd", "192.0.2.1", VLOGIN_IMAP},
        {NULL, "qmail-pop3d", "192.0.2.1", VLOGIN_POP3},
        {NULL, "qmail-pop3d", "127.0.0.1", VLOGIN_WEBMAIL},
        {NULL, NULL, "127.0.0.1", VLOGIN_SMTP},
        {"x25", "qmail-pop3d", "192.0.2.1", VLOGIN_POP3},
    };

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (!CHECK_INT(vlogin_service(c[i].port, c[i].prog, c[i].ip),
                       c[i].want))
            printf("  case %zu\n", i);
    CHECK_STR(vlogin_service_name(VLOGIN_WEBMAIL), "webmail");
}

#define HASH "$1$qngsalt$KV/6xc1zTZAmKFJ86ffBG/" /* "pencil" */
#define CHAL "<1.2@h>"

static void
t_check(void)
{
    char hash[] = HASH, clear[] = "pencil", empty[] = "";
    struct vpw pw = {.passwd = hash, .clear = NULL};
    struct vlogin_input in = {"joe@dom.test", "pencil", NULL};
    const char *mech, *why;
    /* HMAC-MD5("pencil", "<1.2@h>") */
    const char *digest = "4fe8e0c673cc877a12ca791697b6944e";

    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_SMTP, &mech, &why), VLOGIN_OK);
    CHECK_STR(mech, "PLAIN");
    in.pass = "pencil2";
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_SMTP, &mech, &why), VLOGIN_NO);
    CHECK_STR(why, "wrong password");
    /* CRAM-MD5 without, then with the clear text */
    in.pass = CHAL;
    in.third = digest;
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_SMTP, &mech, &why), VLOGIN_NO);
    CHECK_STR(why, "CRAM-MD5 needs a clear-text password");
    pw.clear = clear;
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_SMTP, &mech, &why), VLOGIN_OK);
    CHECK_STR(mech, "CRAM-MD5");
    /* vpopmail's order, for SMTP only */
    in.pass = digest;
    in.third = CHAL;
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_SMTP, &mech, &why), VLOGIN_OK);
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_POP3, &mech, &why), VLOGIN_NO);
    /* the flag counts only after the password */
    in.pass = "pencil";
    in.third = "<123@pop>";
    pw.gid = VPW_NO_POP;
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_POP3, &mech, &why), VLOGIN_NO);
    CHECK_STR(why, "pop access denied");
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_SMTP, &mech, &why), VLOGIN_OK);
    in.pass = "wrong";
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_POP3, &mech, &why), VLOGIN_NO);
    CHECK_STR(why, "wrong password");
    /* no hash: nothing works, not even the clear text */
    pw.gid = 0;
    pw.passwd = empty;
    in.pass = "pencil";
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_SMTP, &mech, &why), VLOGIN_NO);
    CHECK_STR(why, "account has no password");
}

/* APOP with RFC 1939 §7's example: the secret "tanstaaf" */
static void
t_apop(void)
{
    char hash[] = HASH, clear[] = "tanstaaf";
    struct vpw pw = {.passwd = hash, .clear = NULL};
    struct vlogin_input in = {"mrose@dom.test",
                              "c4c9334bac560ecc979e58001b3e22fb",
                              "<1896.697170952@dbc.mtview.ca.us>"};
    const char *mech, *why;

    /* no clear text kept: APOP cannot be checked */
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_POP3, &mech, &why), VLOGIN_NO);
    pw.clear = clear;
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_POP3, &mech, &why), VLOGIN_OK);
    CHECK_STR(mech, "APOP");
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_IMAP, &mech, &why), VLOGIN_OK);
    /* not a POP3 login's field order for SMTP AUTH */
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_SMTP, &mech, &why), VLOGIN_NO);
    /* another timestamp, a digest in upper case, a wrong digest */
    in.third = "<1896.697170953@dbc.mtview.ca.us>";
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_POP3, &mech, &why), VLOGIN_NO);
    CHECK_STR(why, "wrong password");
    in.third = "<1896.697170952@dbc.mtview.ca.us>";
    in.pass = "C4C9334BAC560ECC979E58001B3E22FB";
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_POP3, &mech, &why), VLOGIN_NO);
    in.pass = "c4c9334bac560ecc979e58001b3e22fc";
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_POP3, &mech, &why), VLOGIN_NO);
    /* the account flag still counts */
    in.pass = "c4c9334bac560ecc979e58001b3e22fb";
    pw.gid = VPW_NO_POP;
    CHECK_INT(vlogin_check(&pw, &in, VLOGIN_POP3, &mech, &why), VLOGIN_NO);
    CHECK_STR(why, "pop access denied");
}

/* Dovecot's SERVICE names the service whatever the port */
static void
t_service_named(void)
{
    enum vlogin_service s = VLOGIN_SMTP;

    CHECK_INT(vlogin_service_named("imap", "192.0.2.1", &s), 1);
    CHECK_INT(s, VLOGIN_IMAP);
    CHECK_INT(vlogin_service_named("pop3", "192.0.2.1", &s), 1);
    CHECK_INT(s, VLOGIN_POP3);
    CHECK_INT(vlogin_service_named("imap", "127.0.0.1", &s), 1);
    CHECK_INT(s, VLOGIN_WEBMAIL);
    CHECK_INT(vlogin_service_named("submission", "127.0.0.1", &s), 1);
    CHECK_INT(s, VLOGIN_SMTP);
    CHECK_INT(vlogin_service_named(NULL, "192.0.2.1", &s), 0);
    CHECK_INT(vlogin_service_named("", "192.0.2.1", &s), 0);
    CHECK_INT(vlogin_service_named("IMAP", "192.0.2.1", &s), 0);
    CHECK_INT(vlogin_service_named("lmtp", "192.0.2.1", &s), 0);
}

/* the account's quota as Dovecot's quota rule */
static void
t_quota_rule(void)
{
    static const struct {
        const char *quota;
        int r;
        const char *rule;
    } c[] = {
        {"1000000S,500C", 1, "*:storage=1000000B:messages=500"},
        {"500C,1000000S", 1, "*:storage=1000000B:messages=500"},
        {"52428800S", 1, "*:storage=52428800B"},
        {"10C", 1, "*:messages=10"},
        {"1048576", 1, "*:storage=1048576B"}, /* old vpopmail: bytes */
        {"NOQUOTA", 0, ""},
        {"", 0, ""},
        {"12X", 0, ""},
        {"S", 0, ""},
    };
    struct bstr out = BSTR_INIT;

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (!CHECK_INT(vlogin_quota_rule(c[i].quota, &out), c[i].r) ||
            !CHECK_STR(out.len ? out.s : "", c[i].rule))
            printf("  case %zu\n", i);
    }
    CHECK_INT(vlogin_quota_rule(NULL, &out), 0);
    bstr_free(&out);
}

static const struct test_case tests[] = {
    {"checkpassword fields", t_fields},
    {"user@domain, user%domain", t_split},
    {"the service, as vpopmail decides it", t_service},
    {"the verdict on a login", t_check},
    {"APOP (RFC 1939 section 7)", t_apop},
    {"the service Dovecot names", t_service_named},
    {"the quota as Dovecot's rule", t_quota_rule},
};

TEST_MAIN(tests)
