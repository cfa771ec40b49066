/* SPDX-License-Identifier: ISC */
/*
 * test_smtpd_scram - qmail-smtpd's side of AUTH SCRAM-SHA-256
 * (src/smtpd/auth.c) with RFC 7677 section 3's messages: what goes to
 * the client (334 texts), what goes to the checkpassword program, and
 * each step's refusals (not offered, channel binding, malformed
 * messages, a program's garbage or error, a nonce that is not ours, a
 * non-empty answer to the server-final, a cancel).
 */
#include <string.h>

#include "auth.h"
#include "base64.h"
#include "harness.h"

#define C_NONCE "rOprNGfwEbeRWgbNEkqO"
#define S_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define C_FIRST "n,,n=user,r=" C_NONCE
#define S_FIRST "r=" C_NONCE S_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define C_FINAL                                                                \
    "c=biws,r=" C_NONCE S_NONCE                                                \
    ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define S_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static struct bstr
b64(const char *s)
{
    struct bstr b = BSTR_INIT;

    if (base64_encode(&b, s, strlen(s)) == -1)
        b.len = 0;
    return b;
}

static enum reason
start(struct smtpd_auth *a, const char *mech, const char *msg,
      struct bstr *prompt)
{
    struct bstr arg = BSTR_INIT, m = b64(msg ? msg : "");
    enum reason r;

    if (bstr_cats(&arg, mech) == -1 ||
        (msg &&
         (bstr_catc(&arg, ' ') == -1 || bstr_catb(&arg, m.s, m.len) == -1)))
        return OC_NOMEM;
    r = smtpd_auth_start(a, arg.s, arg.len, "mx", 1, 2, prompt);
    bstr_free(&arg);
    bstr_free(&m);
    return r;
}

static enum reason
step(struct smtpd_auth *a, const char *msg, struct bstr *prompt)
{
    struct bstr m = b64(msg);
    enum reason r = smtpd_auth_step(a, m.s ? m.s : "", m.len, prompt);

    bstr_free(&m);
    return r;
}

static void
t_rfc7677(void)
{
    struct smtpd_auth a = {.scram = true};
    struct bstr p = BSTR_INIT, d = BSTR_INIT, want;

    CHECK_INT(start(&a, "SCRAM-SHA-256", C_FIRST, &p), OC_OK);
    CHECK(smtpd_auth_helper(&a));
    CHECK_BSTR(a.user, "user");
    CHECK(smtpd_auth_data(&a, &d) == 0);
    CHECK_BSTR(d, C_FIRST);
    CHECK_INT(smtpd_auth_reply(&a, S_FIRST, strlen(S_FIRST), &p), OC_AUTH_MORE);
    want = b64(S_FIRST);
    CHECK_BSTR(p, want.s);
    bstr_free(&want);
    CHECK(!smtpd_auth_helper(&a));
    CHECK_INT(step(&a, C_FINAL, &p), OC_OK);
    CHECK(smtpd_auth_helper(&a));
    CHECK(smtpd_auth_data(&a, &d) == 0);
    CHECK_BSTR(d, C_FINAL);
    CHECK_INT(smtpd_auth_reply(&a, S_FINAL, strlen(S_FINAL), &p), OC_AUTH_MORE);
    want = b64(S_FINAL);
    CHECK_BSTR(p, want.s);
    bstr_free(&want);
    CHECK_INT(smtpd_auth_step(&a, "", 0, &p), OC_OK);
    CHECK(!smtpd_auth_helper(&a));
    CHECK_STR(smtpd_auth_name(a.mech), "SCRAM-SHA-256");
    /* without an initial response: an empty 334 first */
    CHECK_INT(start(&a, "scram-sha-256", NULL, &p), OC_AUTH_MORE);
    CHECK_INT(p.len, 0);
    CHECK_INT(step(&a, C_FIRST, &p), OC_OK);
    CHECK(smtpd_auth_helper(&a));
    smtpd_auth_free(&a);
    bstr_free(&p);
    bstr_free(&d);
}

static void
t_refusals(void)
{
    struct smtpd_auth a = {.scram = false};
    struct bstr p = BSTR_INIT;

    CHECK_INT(start(&a, "SCRAM-SHA-256", C_FIRST, &p), OC_AUTH_MECH);
    a.scram = true;
    CHECK_INT(start(&a, "SCRAM-SHA-256", "p=tls-unique,,n=user,r=abc", &p),
              OC_AUTH_MECH);
    CHECK_INT(start(&a, "SCRAM-SHA-256", "n,,n=user", &p), OC_AUTH_INPUT);
    CHECK_INT(start(&a, "SCRAM-SHA-256", "n,,m=x,n=user,r=a", &p),
              OC_AUTH_INPUT);
    CHECK_INT(smtpd_auth_start(&a, "SCRAM-SHA-256 =", 15, "mx", 1, 2, &p),
              OC_AUTH_INPUT);
    /* the program's messages */
    CHECK_INT(start(&a, "SCRAM-SHA-256", C_FIRST, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, "e=unknown-user", 14, &p), OC_AUTH_FAILED);
    CHECK_INT(start(&a, "SCRAM-SHA-256", C_FIRST, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, "garbage", 7, &p), OC_AUTH_TEMP);
    CHECK_INT(start(&a, "SCRAM-SHA-256", C_FIRST, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, "r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                               41, &p),
              OC_AUTH_TEMP);
    CHECK_INT(start(&a, "SCRAM-SHA-256", C_FIRST, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, S_FIRST, strlen(S_FIRST), &p), OC_AUTH_MORE);
    /* no program message is due now */
    CHECK_INT(smtpd_auth_reply(&a, S_FIRST, strlen(S_FIRST), &p), OC_AUTH_TEMP);
    /* a client-final for another exchange, one without proof, a cancel */
    CHECK_INT(step(&a,
                   "c=biws,r=abc,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7"
                   "AndVQ=",
                   &p),
              OC_AUTH_INPUT);
    CHECK_INT(start(&a, "SCRAM-SHA-256", C_FIRST, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, S_FIRST, strlen(S_FIRST), &p), OC_AUTH_MORE);
    CHECK_INT(step(&a, "c=biws,r=" C_NONCE S_NONCE, &p), OC_AUTH_INPUT);
    CHECK_INT(start(&a, "SCRAM-SHA-256", C_FIRST, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, S_FIRST, strlen(S_FIRST), &p), OC_AUTH_MORE);
    CHECK_INT(smtpd_auth_step(&a, "*", 1, &p), OC_AUTH_CANCEL);
    /* the server-final: an error, garbage, then a non-empty answer */
    CHECK_INT(start(&a, "SCRAM-SHA-256", C_FIRST, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, S_FIRST, strlen(S_FIRST), &p), OC_AUTH_MORE);
    CHECK_INT(step(&a, C_FINAL, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, "e=invalid-proof", 15, &p), OC_AUTH_FAILED);
    CHECK_INT(start(&a, "SCRAM-SHA-256", C_FIRST, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, S_FIRST, strlen(S_FIRST), &p), OC_AUTH_MORE);
    CHECK_INT(step(&a, C_FINAL, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, "v=short", 7, &p), OC_AUTH_TEMP);
    CHECK_INT(start(&a, "SCRAM-SHA-256", C_FIRST, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, S_FIRST, strlen(S_FIRST), &p), OC_AUTH_MORE);
    CHECK_INT(step(&a, C_FINAL, &p), OC_OK);
    CHECK_INT(smtpd_auth_reply(&a, S_FINAL, strlen(S_FINAL), &p), OC_AUTH_MORE);
    CHECK_INT(step(&a, "x", &p), OC_AUTH_INPUT);
    /* reset keeps the offer, forgets the exchange */
    smtpd_auth_reset(&a);
    CHECK(a.scram);
    CHECK_INT(a.pass.len, 0);
    smtpd_auth_free(&a);
    bstr_free(&p);
}

static const struct test_case tests[] = {
    {"RFC 7677 3 through qmail-smtpd", t_rfc7677},
    {"refusals at each step", t_refusals},
};

TEST_MAIN(tests)
