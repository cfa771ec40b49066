/* SPDX-License-Identifier: ISC */
/*
 * test_smtpd_auth - the AUTH exchange as RFC 4954, RFC 4616 (PLAIN) and
 * RFC 2195 (CRAM-MD5) describe it, and the qmail AUTH patch's LOGIN
 * prompts: each case is a command argument and the client's lines, and
 * the verdict, user and password (or digest) that must come out.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "harness.h"

struct acase {
    const char *name;
    const char *arg;          /* after "AUTH " */
    const char *lines[3];     /* the client's answers to 334s */
    enum reason want;
    const char *user, *pass;  /* when want is OC_OK */
    const char *prompts;      /* the 334 texts, '|'-separated */
};

/* "\0tim\0tanstaaftanstaaf" (RFC 4616 4) */
#define TIM "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"

static const struct acase cases[] = {
    {"PLAIN, initial response (RFC 4616 example)", "PLAIN " TIM, {NULL},
     OC_OK, "tim", "tanstaaftanstaaf", ""},
    {"PLAIN, then the response", "PLAIN", {TIM, NULL}, OC_OK, "tim",
     "tanstaaftanstaaf", ""},
    {"mechanism names ignore case", "plain " TIM, {NULL}, OC_OK, "tim",
     "tanstaaftanstaaf", ""},
    {"PLAIN with authzid = authcid",
     "PLAIN dGltAHRpbQB0YW5zdGFhZnRhbnN0YWFm", {NULL}, OC_OK, "tim",
     "tanstaaftanstaaf", ""},
    {"PLAIN for another user is refused",
     "PLAIN S3VydAB0aW0AdGFuc3RhYWZ0YW5zdGFhZg==", {NULL}, OC_AUTH_INPUT,
     NULL, NULL, ""},
    {"PLAIN without a user", "PLAIN AABw", {NULL}, OC_AUTH_INPUT, NULL,
     NULL, ""},
    {"PLAIN with one NUL only", "PLAIN AHRpbQ==", {NULL}, OC_AUTH_INPUT,
     NULL, NULL, ""},
    {"PLAIN with a NUL in the password", "PLAIN AHUAcABx", {NULL},
     OC_AUTH_INPUT, NULL, NULL, ""},
    {"PLAIN, empty initial response =, then nothing", "PLAIN =", {NULL},
     OC_AUTH_INPUT, NULL, NULL, ""},
    {"LOGIN: the patch's prompts", "LOGIN", {"dXNlcg==", "cGFzcw==", NULL},
     OC_OK, "user", "pass", "VXNlcm5hbWU6|UGFzc3dvcmQ6"},
    {"LOGIN with the user as initial response", "LOGIN dXNlcg==",
     {"cGFzcw==", NULL}, OC_OK, "user", "pass", "UGFzc3dvcmQ6"},
    {"LOGIN with an empty password", "LOGIN dXNlcg==", {"", NULL}, OC_OK,
     "user", "", "UGFzc3dvcmQ6"},
    {"LOGIN, NUL in the user", "LOGIN", {"dQBy", NULL}, OC_AUTH_INPUT, NULL,
     NULL, "VXNlcm5hbWU6"},
    {"LOGIN, empty user", "LOGIN", {"", NULL}, OC_AUTH_INPUT, NULL, NULL,
     "VXNlcm5hbWU6"},
    {"cancelled with *", "LOGIN", {"*", NULL}, OC_AUTH_CANCEL, NULL, NULL,
     "VXNlcm5hbWU6"},
    {"bad base64", "LOGIN", {"dXNlcg=", NULL}, OC_AUTH_INPUT, NULL, NULL,
     "VXNlcm5hbWU6"},
    {"base64 with a space", "PLAIN", {"AHRp bQ==", NULL}, OC_AUTH_INPUT,
     NULL, NULL, ""},
    {"unknown mechanism", "GSSAPI", {NULL}, OC_AUTH_MECH, NULL, NULL, ""},
    {"a prefix of a mechanism", "PLAI", {NULL}, OC_AUTH_MECH, NULL, NULL,
     ""},
    {"no mechanism", "", {NULL}, OC_AUTH_INPUT, NULL, NULL, ""},
    {"two initial responses", "PLAIN " TIM " " TIM, {NULL}, OC_AUTH_INPUT,
     NULL, NULL, ""},
    {"CRAM-MD5 takes no initial response", "CRAM-MD5 eA==", {NULL},
     OC_AUTH_INPUT, NULL, NULL, ""},
    /* RFC 2195's example answer to its challenge */
    {"CRAM-MD5 (RFC 2195)", "CRAM-MD5",
     {"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw", NULL}, OC_OK,
     "tim", "b913a602c7eda7a495b4e6e7334d3890",
     "PDQyLjEwNjU4NjQxNDhAbXguZXhhbXBsZS50ZXN0Pg=="},
    {"CRAM-MD5, digest not hex", "CRAM-MD5",
     {"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODlY", NULL},
     OC_AUTH_INPUT, NULL, NULL, "PDQyLjEwNjU4NjQxNDhAbXguZXhhbXBsZS50ZXN0Pg=="},
    {"CRAM-MD5, no user", "CRAM-MD5",
     {"IGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw", NULL}, OC_AUTH_INPUT,
     NULL, NULL, "PDQyLjEwNjU4NjQxNDhAbXguZXhhbXBsZS50ZXN0Pg=="},
};

static void
t_table(void)
{
    struct smtpd_auth a;
    struct bstr prompt = BSTR_INIT, seen = BSTR_INIT;

    memset(&a, 0, sizeof a);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct acase *c = &cases[i];
        enum reason r;
        size_t k = 0;

        bstr_truncate(&seen, 0);
        r = smtpd_auth_start(&a, c->arg, strlen(c->arg), "mx.example.test",
                             42, 1065864148, &prompt);
        while (r == OC_AUTH_MORE && c->lines[k]) {
            if (seen.len)
                CHECK(bstr_catc(&seen, '|') == 0);
            CHECK(bstr_catb(&seen, prompt.s ? prompt.s : "", prompt.len) == 0);
            r = smtpd_auth_step(&a, c->lines[k], strlen(c->lines[k]), &prompt);
            k++;
        }
        if (!CHECK_INT(r, c->want) ||
            !CHECK_STR(seen.s ? seen.s : "", c->prompts))
            printf("    case: %s\n", c->name);
        if (c->want == OC_OK &&
            (!CHECK_BSTR(a.user, c->user) || !CHECK_BSTR(a.pass, c->pass)))
            printf("    case: %s\n", c->name);
    }
    smtpd_auth_free(&a);
    bstr_free(&prompt);
    bstr_free(&seen);
}

static void
t_limits_and_data(void)
{
    struct smtpd_auth a;
    struct bstr prompt = BSTR_INIT, d = BSTR_INIT, big = BSTR_INIT;

    memset(&a, 0, sizeof a);
    CHECK_INT(smtpd_auth_start(&a, "LOGIN", 5, "h", 1, 2, &prompt),
              OC_AUTH_MORE);
    for (int i = 0; i < SMTPD_AUTH_LINE_MAX + 4; i++)
        CHECK(bstr_catc(&big, 'A') == 0);
    CHECK_INT(smtpd_auth_step(&a, big.s, big.len, &prompt), OC_AUTH_LONG);
    /* the checkpassword bytes */
    CHECK_INT(smtpd_auth_start(&a, "PLAIN " TIM, 6 + strlen(TIM), "h", 1, 2,
                               &prompt), OC_OK);
    CHECK(smtpd_auth_data(&a, &d) == 0);
    CHECK_INT(d.len, 21);
    CHECK(memcmp(d.s, "tim\0tanstaaftanstaaf\0", 21) == 0);
    CHECK_INT(smtpd_auth_start(&a, "CRAM-MD5", 8, "h", 7, 9, &prompt),
              OC_AUTH_MORE);
    CHECK_INT(smtpd_auth_step(&a, "dSAwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==",
                              48, &prompt), OC_OK);
    CHECK(smtpd_auth_data(&a, &d) == 0);
    CHECK_INT(d.len, 2 + 8 + 33);
    CHECK(memcmp(d.s, "u\0<7.9@h>\0000123456789abcdef0123456789abcdef\0",
                 d.len) == 0);
    CHECK_STR(smtpd_auth_name(AUTH_MECH_CRAM), "CRAM-MD5");
    smtpd_auth_reset(&a);
    CHECK_INT(a.pass.len, 0);
    smtpd_auth_free(&a);
    bstr_free(&prompt);
    bstr_free(&d);
    bstr_free(&big);
}

static const struct test_case tests[] = {
    {"mechanisms, prompts and refusals", t_table},
    {"line limit, checkpassword bytes", t_limits_and_data},
};

TEST_MAIN(tests)
