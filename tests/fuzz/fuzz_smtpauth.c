/* SPDX-License-Identifier: ISC */
/*
 * fuzz_smtpauth - the AUTH exchange (src/smtpd/auth.c) on arbitrary
 * bytes: the first line is what follows "AUTH ", each further line a
 * client answer.  Checks: a finished exchange has a non-empty user free
 * of NULs, and the checkpassword bytes are two or three NUL-terminated
 * fields that give the user back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/smtpd/auth.h" /* scripts/fuzz has only -Isrc/lib */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct smtpd_auth a;
    struct bstr prompt = BSTR_INIT, d = BSTR_INIT;
    const char *p = (const char *)data, *end = p + size;
    const char *nl = memchr(p, '\n', size);
    size_t n = nl ? (size_t)(nl - p) : size;
    enum reason r = smtpd_auth_start(&a, p, n, "fuzz.example", 1, 2, &prompt);

    p += n + (nl != NULL);
    while (r == OC_AUTH_MORE && p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        r = smtpd_auth_step(&a, p, n, &prompt);
        p += n + (nl != NULL);
    }
    if (r == OC_OK) {
        size_t nuls = 0;

        if (a.user.len == 0 || memchr(a.user.s, '\0', a.user.len))
            abort();
        if (smtpd_auth_data(&a, &d) == -1)
            abort();
        for (size_t i = 0; i < d.len; i++)
            nuls += d.s[i] == '\0';
        if (nuls < 2 || nuls > 3 || d.s[d.len - 1] != '\0' ||
            memcmp(d.s, a.user.s, a.user.len) != 0 || d.s[a.user.len] != '\0')
            abort();
    }
    smtpd_auth_reset(&a);
    bstr_free(&prompt);
    bstr_free(&d);
    return 0;
}
