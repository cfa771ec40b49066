/* SPDX-License-Identifier: ISC */
/* test_base64 - RFC 4648 section 10's vectors, and strictness. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "harness.h"

static const struct {
    const char *plain, *enc;
} vectors[] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
    {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void
t_vectors(void)
{
    struct bstr b = BSTR_INIT;

    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        bstr_truncate(&b, 0);
        CHECK(base64_encode(&b, vectors[i].plain, strlen(vectors[i].plain)) == 0);
        CHECK_BSTR(b, vectors[i].enc);
        bstr_truncate(&b, 0);
        CHECK(base64_decode(&b, vectors[i].enc, strlen(vectors[i].enc)) == 0);
        CHECK_BSTR(b, vectors[i].plain);
    }
    /* binary, NUL included: the AUTH PLAIN shape */
    bstr_truncate(&b, 0);
    CHECK(base64_decode(&b, "AHRlc3QAdGVzdA==", 16) == 0);
    CHECK_INT(b.len, 10);
    CHECK(memcmp(b.s, "\0test\0test", 10) == 0);
    bstr_free(&b);
}

static void
t_strict(void)
{
    static const char *const bad[] = {
        "Zg=", "Zg", "Z===", "====", "Zg==Zg==", "Zm9v\r\n", " Zm9v", "Zm 9",
        "Zm9v=", "Zh==", "Zm9=", "Zm-v", "Zm_v", "Zm9\0", "=Zm9",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct bstr b = BSTR_INIT;
        size_t n = strlen(bad[i]);

        if (i == 13)
            n = 4; /* the NUL one */
        errno = 0;
        if (!CHECK(base64_decode(&b, bad[i], n) == -1 && errno == EINVAL))
            printf("    accepted: %s\n", bad[i]);
        bstr_free(&b);
    }
}

static const struct test_case tests[] = {
    {"RFC 4648 vectors both ways", t_vectors},
    {"anything not strict base64 is refused", t_strict},
};

TEST_MAIN(tests)
