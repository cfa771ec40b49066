/* SPDX-License-Identifier: ISC */
/*
 * test_scram - SCRAM-SHA-256 as RFC 7677 section 3 shows it (user
 * "user", password "pencil", its nonces and salt: every message must
 * come out byte for byte), the hash primitives against their RFCs'
 * vectors, PostgreSQL's verifier text, and a table of client messages
 * that RFC 5802 section 7's grammar (and our policy) accepts or refuses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "scram.h"
#include "tls.h"

#define C_NONCE "rOprNGfwEbeRWgbNEkqO"
#define S_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define SALT_B64 "W22ZaJ0SNY7soEsUEjb6gQ=="
#define C_FIRST "n,,n=user,r=" C_NONCE
#define S_FIRST "r=" C_NONCE S_NONCE ",s=" SALT_B64 ",i=4096"
#define C_FINAL                                                                \
    "c=biws,r=" C_NONCE S_NONCE                                                \
    ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define S_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
#define VERIFIER                                                               \
    "SCRAM-SHA-256$4096:" SALT_B64                                             \
    "$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"                           \
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

static const unsigned char salt[16] = {0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12,
                                       0x35, 0x8e, 0xec, 0xa0, 0x4b, 0x14,
                                       0x12, 0x36, 0xfa, 0x81};

static void
hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void
t_primitives(void)
{
    unsigned char out[32];
    char h[65];

    CHECK(tls_sha256("abc", 3, out) == 0);
    hex(out, 32, h);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223"
                 "b00361a396177a9cb410ff61f20015ad");
    /* RFC 4231 4.3 */
    CHECK(tls_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out) ==
          0);
    hex(out, 32, h);
    CHECK_STR(h, "5bdcc146bf60754e6a042426089575c7"
                 "5a003f089d2739839dec58b964ec3843");
    /* RFC 7914 11: the first 32 of its 64 bytes */
    CHECK(tls_pbkdf2_sha256("passwd", 6, "salt", 4, 1, out) == 0);
    hex(out, 32, h);
    CHECK_STR(h, "55ac046e56e3089fec1691c22544b605"
                 "f94185216dde0465e68b9d57c20dacbc");
    CHECK(tls_pbkdf2_sha256("Password", 8, "NaCl", 4, 80000, out) == 0);
    hex(out, 32, h);
    CHECK_STR(h, "4ddcd8f60b98be21830cee5ef22701f9"
                 "641a4418d04c0414aeff08876b34ab56");
    CHECK(tls_pbkdf2_sha256("x", 1, "s", 1, 0, out) == -1);
    CHECK(scram_equal("abc", 3, "abc", 3));
    CHECK(!scram_equal("abc", 3, "abd", 3));
    CHECK(!scram_equal("abc", 3, "ab", 2));
}

/* RFC 7677 3, the server's side */
static void
t_rfc7677_server(void)
{
    struct scram_server s = {0};
    struct scram_keys k;
    struct bstr out = BSTR_INIT, text = BSTR_INIT;

    CHECK(scram_keys_make("pencil", 6, salt, sizeof salt, 4096, &k) == 0);
    CHECK(scram_keys_format(&k, &text) == 0);
    CHECK_BSTR(text, VERIFIER);
    CHECK(scram_server_start(&s, C_FIRST, strlen(C_FIRST)) == 0);
    CHECK_BSTR(s.first.user, "user");
    CHECK_BSTR(s.first.gs2, "n,,");
    CHECK_BSTR(s.first.bare, "n=user,r=" C_NONCE);
    CHECK(scram_server_challenge(&s, &k, S_NONCE, strlen(S_NONCE), &out) == 0);
    CHECK_BSTR(out, S_FIRST);
    CHECK_INT(scram_server_finish(&s, C_FINAL, strlen(C_FINAL), &out), 1);
    CHECK_BSTR(out, S_FINAL);
    /* the same client-final once more: the exchange is over */
    CHECK_INT(scram_server_finish(&s, C_FINAL, strlen(C_FINAL), &out), -1);
    scram_server_free(&s);
    bstr_free(&out);
    bstr_free(&text);
}

/* RFC 7677 3, the client's side */
static void
t_rfc7677_client(void)
{
    struct scram_client c = {0};
    struct bstr out = BSTR_INIT;

    CHECK(scram_client_start(&c, "user", 4, C_NONCE, strlen(C_NONCE), &out) ==
          0);
    CHECK_BSTR(out, C_FIRST);
    CHECK(scram_client_final(&c, "pencil", 6, S_FIRST, strlen(S_FIRST), &out) ==
          0);
    CHECK_BSTR(out, C_FINAL);
    CHECK_INT(scram_client_verify(&c, S_FINAL, strlen(S_FINAL)), 1);
    scram_client_free(&c);
    /* a server signature that is not the one expected */
    CHECK(scram_client_start(&c, "user", 4, C_NONCE, strlen(C_NONCE), &out) ==
          0);
    CHECK(scram_client_final(&c, "pencil", 6, S_FIRST, strlen(S_FIRST), &out) ==
          0);
    CHECK_INT(scram_client_verify(
                  &c, "v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", 46),
              0);
    scram_client_free(&c);
    /* a server nonce that does not extend ours, a weak count */
    CHECK(scram_client_start(&c, "user", 4, C_NONCE, strlen(C_NONCE), &out) ==
          0);
    CHECK(scram_client_final(&c, "pencil", 6, "r=xyz,s=" SALT_B64 ",i=4096",
                             strlen("r=xyz,s=" SALT_B64 ",i=4096"),
                             &out) == -1);
    scram_client_free(&c);
    CHECK(scram_client_start(&c, "user", 4, C_NONCE, strlen(C_NONCE), &out) ==
          0);
    CHECK(scram_client_final(
              &c, "pencil", 6, "r=" C_NONCE "x,s=" SALT_B64 ",i=4095",
              strlen("r=" C_NONCE "x,s=" SALT_B64 ",i=4095"), &out) == -1);
    scram_client_free(&c);
    bstr_free(&out);
}

static void
t_wrong_password_and_replay(void)
{
    struct scram_server s = {0};
    struct scram_keys k;
    struct bstr out = BSTR_INIT;
    const char *wrong = "c=biws,r=" C_NONCE S_NONCE
                        ",p=AHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const char *other = "c=biws,r=" C_NONCE "other"
                        ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

    CHECK(scram_keys_make("pencil", 6, salt, sizeof salt, 4096, &k) == 0);
    CHECK(scram_server_start(&s, C_FIRST, strlen(C_FIRST)) == 0);
    CHECK(scram_server_challenge(&s, &k, S_NONCE, strlen(S_NONCE), &out) == 0);
    CHECK_INT(scram_server_finish(&s, wrong, strlen(wrong), &out), 0);
    CHECK_BSTR(out, "e=invalid-proof");
    /* RFC 7677's client-final replayed against another server nonce */
    CHECK(scram_server_start(&s, C_FIRST, strlen(C_FIRST)) == 0);
    CHECK(scram_server_challenge(&s, &k, "other", 5, &out) == 0);
    CHECK_INT(scram_server_finish(&s, C_FINAL, strlen(C_FINAL), &out), 0);
    CHECK_BSTR(out, "e=other-error");
    /* and a proof made for that nonce, with the wrong key */
    CHECK(scram_server_start(&s, C_FIRST, strlen(C_FIRST)) == 0);
    CHECK(scram_server_challenge(&s, &k, "other", 5, &out) == 0);
    CHECK_INT(scram_server_finish(&s, other, strlen(other), &out), 0);
    CHECK_BSTR(out, "e=invalid-proof");
    /* "y,," is bound by c=eSws; biws then does not match */
    CHECK(scram_server_start(&s, "y,,n=user,r=abc", 15) == 0);
    CHECK(scram_server_challenge(&s, &k, "def", 3, &out) == 0);
    CHECK_INT(scram_server_finish(
                  &s,
                  "c=biws,r=abcdef,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7"
                  "AndVQ=",
                  62, &out),
              0);
    CHECK_BSTR(out, "e=channel-bindings-dont-match");
    /* a malformed client-final */
    CHECK(scram_server_start(&s, C_FIRST, strlen(C_FIRST)) == 0);
    CHECK(scram_server_challenge(&s, &k, S_NONCE, strlen(S_NONCE), &out) == 0);
    CHECK_INT(scram_server_finish(&s, "c=biws,r=x", 10, &out), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_BSTR(out, "e=invalid-encoding");
    scram_server_free(&s);
    bstr_free(&out);
}

struct fcase {
    const char *msg;
    int err; /* 0: accepted */
    const char *user;
};

static const struct fcase firsts[] = {
    {"n,,n=user,r=abc", 0, "user"},
    {"y,,n=user,r=abc", 0, "user"},
    {"n,a=user,n=user,r=abc", 0, "user"},
    {"n,a=other,n=user,r=abc", EINVAL, NULL},
    {"n,,n=a=2Cb=3Dc,r=abc", 0, "a,b=c"},
    {"n,,n=a=2cb=3dc,r=abc", 0, "a,b=c"},
    {"n,,n=joe@example.test,r=abc,x=ext", 0, "joe@example.test"},
    {"n,,n=j\xc3\xb6rg,r=abc", 0, "j\xc3\xb6rg"},
    {"p=tls-unique,,n=user,r=abc", ENOTSUP, NULL},
    {"p=tls-server-end-point,,n=user,r=abc", ENOTSUP, NULL},
    {"p=,,n=user,r=abc", EINVAL, NULL},
    {"n,,m=ext,n=user,r=abc", ENOTSUP, NULL},
    {"x,,n=user,r=abc", EINVAL, NULL},
    {"n,n=user,r=abc", EINVAL, NULL},
    {",,n=user,r=abc", EINVAL, NULL},
    {"n,,n=,r=abc", EINVAL, NULL},
    {"n,,n=us=er,r=abc", EINVAL, NULL},
    {"n,,n=us=2,r=abc", EINVAL, NULL},
    {"n,,n=user,r=", EINVAL, NULL},
    {"n,,n=user,r=a b", EINVAL, NULL},
    {"n,,n=user", EINVAL, NULL},
    {"n,,r=abc,n=user", EINVAL, NULL},
    {"n,,n=user,r=abc,", EINVAL, NULL},
    {"n,,n=user,r=abc,x", EINVAL, NULL},
    {"n,,n=user,r=abc,x=", EINVAL, NULL},
    {"n,,n=us\ter,r=abc", EINVAL, NULL},
    {"n,,n=\xc0\xafuser,r=abc", EINVAL, NULL},
    {"n,,n=\xed\xa0\x80,r=abc", EINVAL, NULL},
    {"n,,n=user,r=ab\x7f", EINVAL, NULL},
    {"", EINVAL, NULL},
    {"n", EINVAL, NULL},
    {"n,", EINVAL, NULL},
};

static void
t_client_first_grammar(void)
{
    struct scram_first f = {0};

    for (size_t i = 0; i < sizeof firsts / sizeof firsts[0]; i++) {
        const struct fcase *c = &firsts[i];
        int r = scram_parse_first(c->msg, strlen(c->msg), &f);

        if (!CHECK_INT(r == 0 ? 0 : errno, c->err))
            printf("  case %zu: %s\n", i, c->msg);
        if (r == 0 && c->user)
            CHECK_BSTR(f.user, c->user);
    }
    /* a NUL inside, and a message past the limit */
    CHECK(scram_parse_first("n,,n=u\0x,r=abc", 14, &f) == -1);
    {
        char big[SCRAM_MSG_MAX + 16];

        memset(big, 'a', sizeof big);
        memcpy(big, "n,,n=", 5);
        memcpy(big + 100, ",r=", 3);
        CHECK(scram_parse_first(big, sizeof big, &f) == -1);
        CHECK(scram_parse_first(big, 300, &f) == 0);
        CHECK(scram_parse_first(big, SCRAM_MSG_MAX, &f) == -1); /* r= > 256 */
    }
    /* a user name of 256 bytes */
    {
        char name[5 + 256 + 7];

        memcpy(name, "n,,n=", 5);
        memset(name + 5, 'u', 256);
        memcpy(name + 261, ",r=abc", 6);
        CHECK(scram_parse_first(name, 267, &f) == -1);
        CHECK(scram_parse_first(name + 1, 266, &f) == -1);
    }
    scram_first_free(&f);
}

static void
t_other_grammars(void)
{
    struct scram_final f = {0};
    struct bstr a = BSTR_INIT, b = BSTR_INIT;
    unsigned long iter = 0;
    struct scram_keys k;

    CHECK(scram_parse_final(C_FINAL, strlen(C_FINAL), &f) == 0);
    CHECK_BSTR(f.cbind, "n,,");
    CHECK_BSTR(f.nonce, C_NONCE S_NONCE);
    CHECK_INT(f.noproof_len, strlen(C_FINAL) - strlen(",p=") - 44);
    CHECK(scram_parse_final("c=biws,r=abc,x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfM"
                            "Hgsqmmiz7AndVQ=",
                            63, &f) == 0);
    CHECK(scram_parse_final("c=biws,r=abc,p=dHzb", 19, &f) == -1);
    CHECK(scram_parse_final("r=abc,c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsq"
                            "mmiz7AndVQ=",
                            59, &f) == -1);
    CHECK(scram_parse_final("c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7A"
                            "ndVQ=",
                            53, &f) == -1);
    CHECK(scram_parse_final("c=biws,r=abc", 12, &f) == -1);
    CHECK(scram_parse_final(
              ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", 47, &f) == -1);
    CHECK(scram_parse_server_first(S_FIRST, strlen(S_FIRST), &a, &b, &iter) ==
          0);
    CHECK_INT(iter, 4096);
    CHECK_INT(b.len, 16);
    CHECK(scram_parse_server_first("r=a,s=" SALT_B64 ",i=04096", 36, &a, &b,
                                   &iter) == -1);
    CHECK(scram_parse_server_first("r=a,s=,i=4096", 13, &a, &b, &iter) == -1);
    CHECK(scram_parse_server_first("m=x,r=a,s=" SALT_B64 ",i=4096", 39, &a, &b,
                                   &iter) == -1);
    CHECK_INT(errno, ENOTSUP);
    CHECK(scram_parse_server_final(S_FINAL, strlen(S_FINAL), &a, &b) == 0);
    CHECK_INT(a.len, 32);
    CHECK(scram_parse_server_final("e=invalid-proof", 15, &a, &b) == 0);
    CHECK_BSTR(b, "invalid-proof");
    CHECK_INT(a.len, 0);
    CHECK(scram_parse_server_final("x=1", 3, &a, &b) == -1);
    /* the verifier text */
    CHECK(scram_keys_parse(VERIFIER, strlen(VERIFIER), &k) == 0);
    CHECK_INT(k.iter, 4096);
    CHECK_INT(k.saltlen, 16);
    CHECK(memcmp(k.salt, salt, 16) == 0);
    bstr_truncate(&a, 0);
    CHECK(scram_keys_format(&k, &a) == 0);
    CHECK_BSTR(a, VERIFIER);
    CHECK(scram_keys_parse("SCRAM-SHA-256$1024:" SALT_B64 "$WG5d8oPm3OtcPnkdi4"
                           "Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2Ke"
                           "oiWGPlZqQxSrmfPwDl2dU=",
                           strlen(VERIFIER), &k) == -1);
    CHECK(scram_keys_parse(VERIFIER, strlen(VERIFIER) - 1, &k) == -1);
    CHECK(scram_keys_parse("SCRAM-SHA-1$4096:a$b:c", 21, &k) == -1);
    CHECK(scram_keys_parse("", 0, &k) == -1);
    CHECK(scram_keys_make("p", 1, salt, 16, 4095, &k) == -1);
    CHECK(scram_keys_make("p", 1, salt, 0, 4096, &k) == -1);
    scram_final_free(&f);
    bstr_free(&a);
    bstr_free(&b);
}

/* Round trips of client and server, with names that need escaping. */
static void
t_round_trip(void)
{
    static const char *const names[] = {"joe@example.test", "a,b=c@x.test",
                                        "=2C"};
    struct scram_keys k;
    struct bstr m1 = BSTR_INIT, m2 = BSTR_INIT, m3 = BSTR_INIT, m4 = BSTR_INIT;

    CHECK(scram_keys_make("pass:word", 9, salt, 16, 4096, &k) == 0);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct scram_client c = {0};
        struct scram_server s = {0};

        CHECK(scram_client_start(&c, names[i], strlen(names[i]), "cn", 2,
                                 &m1) == 0);
        CHECK(scram_server_start(&s, m1.s, m1.len) == 0);
        CHECK_BSTR(s.first.user, names[i]);
        CHECK(scram_server_challenge(&s, &k, "sn", 2, &m2) == 0);
        CHECK(scram_client_final(&c, "pass:word", 9, m2.s, m2.len, &m3) == 0);
        CHECK_INT(scram_server_finish(&s, m3.s, m3.len, &m4), 1);
        CHECK_INT(scram_client_verify(&c, m4.s, m4.len), 1);
        scram_client_free(&c);
        scram_server_free(&s);
    }
    bstr_free(&m1);
    bstr_free(&m2);
    bstr_free(&m3);
    bstr_free(&m4);
}

static const struct test_case tests[] = {
    {"SHA-256, HMAC-SHA-256, PBKDF2 (RFC 4231, RFC 7914)", t_primitives},
    {"RFC 7677 3: the server's messages", t_rfc7677_server},
    {"RFC 7677 3: the client's messages", t_rfc7677_client},
    {"wrong proof, replayed final, channel binding",
     t_wrong_password_and_replay},
    {"client-first-message grammar", t_client_first_grammar},
    {"client-final, server messages, verifier text", t_other_grammars},
    {"round trips with escaped names", t_round_trip},
};

TEST_MAIN(tests)
