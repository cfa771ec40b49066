/* SPDX-License-Identifier: ISC */
/*
 * test_vpass - vpopmail passwords: new hashes are yescrypt, every kind
 * of hash vpopmail's trees hold is checked (the hashes below were made
 * with other libcrypt front ends for the password "pencil"), unknown,
 * empty and locked hashes never match, CRAM-MD5 as RFC 2195's example,
 * the clear text kept only when asked (':' allowed, control bytes not),
 * control/vpopclearpasswd, and SCRAM keys with fresh salts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "vpass.h"

struct hcase {
    const char *hash;
    int want; /* for "pencil" */
};

static const struct hcase hashes[] = {
    {"$y$j9T$Vs0S3tBFZdU2UuMu5FBXE.$/VemAt85GWy/mJU1O0LVLNjIUUbJi.ywOm5YQaQ3"
     "XI4",
     1},
    {"$6$qngSaltSalt$THtUzV3qTkz5/qoj77T9gkVrxCpNnTfdfZnWdzGsokRf1lmArgIDere"
     "XEvLVqIcvahSUkoSX9S3YRbD4oPoBQ1",
     1},
    {"$5$qngSaltSalt$HOF0Pm.4vTdsTZPcDpGGvTDwSc/pQNB54297JYXnWm6", 1},
    {"$1$qngsalt$KV/6xc1zTZAmKFJ86ffBG/", 1},
    {"qneYweA2FqDW6", 1},
    {"$2b$05$abcdefghijklmnopqrstuu680Yiaj5hFUaJTH/rTAcbA2PQEGfiZu", 1},
    /* one character changed, damaged, unknown, locked, empty */
    {"$1$qngsalt$KV/6xc1zTZAmKFJ86ffBGx", 0},
    {"$1$qngsalt", 0},
    {"qneYweA2FqDW", 0},
    {"{PLAIN}pencil", 0},
    {"pencil", 0},
    {"!$1$qngsalt$KV/6xc1zTZAmKFJ86ffBG/", 0},
    {"*", 0},
    {"", 0},
    {"$y$", 0},
    {"_J9..abcdabcdabcdabc", 0}, /* BSDi extended DES: not offered */
};

static void
t_check(void)
{
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
        if (!CHECK_INT(vpass_check("pencil", hashes[i].hash), hashes[i].want))
            printf("  hash %s\n", hashes[i].hash);
        if (hashes[i].want)
            CHECK_INT(vpass_check("pencil!", hashes[i].hash), 0);
        CHECK_INT(vpass_check("", hashes[i].hash), 0);
    }
    CHECK(vpass_hash_known("qneYweA2FqDW6"));
    CHECK(!vpass_hash_known("qneYweA2FqDW:"));
    CHECK(!vpass_hash_known("$6$"));
}

static void
t_new_hashes(void)
{
    struct bstr h = BSTR_INIT, h2 = BSTR_INIT;

    CHECK(vpass_hash("pass:with:colons", &h) == 0);
    CHECK(strncmp(h.s, "$y$", 3) == 0);
    CHECK(strchr(h.s, ':') == NULL);
    CHECK_INT(vpass_check("pass:with:colons", h.s), 1);
    CHECK_INT(vpass_check("pass:with:colon", h.s), 0);
    CHECK(vpass_hash("pass:with:colons", &h2) == 0);
    CHECK(strcmp(h.s, h2.s) != 0); /* a new salt each time */
    CHECK(vpass_hash("", &h) == -1);
    bstr_free(&h);
    bstr_free(&h2);
}

static void
t_cram(void)
{
    /* RFC 2195 2 */
    const char *chal = "<1896.697170952@postoffice.reston.mci.net>";

    CHECK(vpass_cram_ok("tanstaaftanstaaf", chal,
                        "b913a602c7eda7a495b4e6e7334d3890"));
    CHECK(!vpass_cram_ok("tanstaaftanstaaf", chal,
                         "b913a602c7eda7a495b4e6e7334d3891"));
    CHECK(!vpass_cram_ok("tanstaaftanstaaf", chal,
                         "B913A602C7EDA7A495B4E6E7334D3890"));
    CHECK(!vpass_cram_ok("", chal, "b913a602c7eda7a495b4e6e7334d3890"));
    CHECK(!vpass_cram_ok("tanstaaftanstaaf", chal, ""));
}

static void
t_set(void)
{
    struct vpw pw;

    memset(&pw, 0, sizeof pw);
    pw.passwd = strdup("old");
    CHECK(vpass_set(&pw, "a:b c", true) == 0);
    CHECK_STR(pw.clear, "a:b c");
    CHECK_INT(vpass_check("a:b c", pw.passwd), 1);
    CHECK(vpass_set(&pw, "new", false) == 0);
    CHECK(pw.clear == NULL);
    CHECK_INT(vpass_check("new", pw.passwd), 1);
    errno = 0;
    CHECK(vpass_set(&pw, "tab\there", true) == -1);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(vpass_check("new", pw.passwd), 1);    /* unchanged */
    CHECK(vpass_set(&pw, "tab\there", false) == 0); /* only hashed */
    CHECK(vpass_set(&pw, "", false) == -1);
    free(pw.passwd);
    free(pw.clear);
}

static void
t_keepclear(void)
{
    char old[4096];

    CHECK(getcwd(old, sizeof old) != NULL);
    CHECK(chdir(harness_tmpdir()) == 0);
    CHECK_INT(vpass_keepclear(), 0);
    CHECK(system("mkdir -p control && echo 1 > control/vpopclearpasswd") == 0);
    CHECK_INT(vpass_keepclear(), 1);
    CHECK(system("echo 0 > control/vpopclearpasswd") == 0);
    CHECK_INT(vpass_keepclear(), 0);
    if (geteuid() != 0) {
        CHECK(system("chmod 0 control/vpopclearpasswd") == 0);
        CHECK_INT(vpass_keepclear(), -1);
    }
    CHECK(chdir(old) == 0);
}

static void
t_scram_keys(void)
{
    struct scram_keys a, b, c;

    CHECK(vpass_scram_keys("pencil", 6, &a) == 0);
    CHECK(vpass_scram_keys("pencil", 6, &b) == 0);
    CHECK_INT(a.iter, SCRAM_ITER_DEFAULT);
    CHECK_INT(a.saltlen, SCRAM_SALT_LEN);
    CHECK(memcmp(a.salt, b.salt, a.saltlen) != 0);
    CHECK(memcmp(a.stored, b.stored, SCRAM_KEY_LEN) != 0);
    /* the same as scram_keys_make with that salt */
    CHECK(scram_keys_make("pencil", 6, a.salt, a.saltlen, a.iter, &c) == 0);
    CHECK(memcmp(&a, &c, sizeof a) == 0);
}

static const struct test_case tests[] = {
    {"hashes vpopmail's trees hold", t_check},
    {"new hashes are yescrypt", t_new_hashes},
    {"CRAM-MD5 (RFC 2195)", t_cram},
    {"vpass_set: hash, clear text when kept", t_set},
    {"control/vpopclearpasswd", t_keepclear},
    {"SCRAM keys with fresh salts", t_scram_keys},
};

TEST_MAIN(tests)
