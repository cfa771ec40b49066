/* SPDX-License-Identifier: ISC */
/*
 * fuzz_popup - what qmail-popup makes of a client's AUTH PLAIN response
 * (RFC 4616) and how it passes a login on to the checkpassword program.
 * The input is tried twice: as the base64 text a client sends, and as
 * the decoded bytes (encoded here first).  A decoded login must be the
 * response's own authcid and password, neither empty nor holding a NUL,
 * with an authzid that was empty or the same; a login made into fd 3
 * data must come back as exactly three NUL-ended fields.  Any broken
 * property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "popup.h"

static void
must(int cond)
{
    if (!cond)
        abort();
}

/* check - the decode of b64 against the raw bytes it encodes (raw NULL:
 * unknown, only the result's shape is checked) */
static void
check(const char *b64, size_t n, const uint8_t *raw, size_t rawlen)
{
    struct bstr user = BSTR_INIT, pass = BSTR_INIT, data = BSTR_INIT,
                stamp = BSTR_INIT;
    int r = popup_plain_decode(b64, n, &user, &pass);

    must(r <= 0 && r >= -4);
    if (raw && r == -1)
        abort(); /* our own encoding is always base64 */
    if (r == 0) {
        must(user.len > 0 && pass.len > 0);
        must(memchr(user.s, '\0', user.len) == NULL);
        must(memchr(pass.s, '\0', pass.len) == NULL);
        if (raw) {
            /* raw is authzid \0 user \0 pass, authzid empty or user */
            const uint8_t *nul = memchr(raw, '\0', rawlen);
            size_t zlen;

            must(nul != NULL);
            zlen = (size_t)(nul - raw);
            must(rawlen == zlen + 1 + user.len + 1 + pass.len);
            must(zlen == 0 || (zlen == user.len &&
                               memcmp(raw, user.s, zlen) == 0));
            must(memcmp(raw + rawlen - pass.len, pass.s, pass.len) == 0);
            must(memcmp(raw + rawlen - pass.len - 1 - user.len, user.s,
                        user.len) == 0);
        }
        must(bstr_copys(&stamp, "<1.2@h>") == 0);
        must(popup_fd3_data(&data, user.s, user.len, pass.s, pass.len,
                            &stamp) == 0);
        {
            size_t nuls = 0;

            for (size_t i = 0; i < data.len; i++)
                nuls += data.s[i] == '\0';
            must(nuls == 3 && data.s[data.len - 1] == '\0');
        }
    }
    bstr_free(&user);
    bstr_free(&pass);
    bstr_free(&data);
    bstr_free(&stamp);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct bstr b64 = BSTR_INIT;

    if (n > 4096)
        return 0;
    check((const char *)d, n, NULL, 0);
    if (base64_encode(&b64, d, n) == 0)
        check(b64.s ? b64.s : "", b64.len, d, n);
    bstr_free(&b64);
    return 0;
}
