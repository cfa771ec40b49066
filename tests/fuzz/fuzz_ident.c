/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ident - RFC 1413 replies, which come from the client's machine.
 * A user id that comes out must be non-empty, at most IDENT_USER_MAX
 * bytes, and free of control characters (it goes into the environment,
 * rule keys and log lines).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/tcp/ident.h" /* scripts/fuzz has only -Isrc/lib */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bstr u = BSTR_INIT;

    if (ident_parse((const char *)data, size, 6193, 25, &u) == 1) {
        if (u.len == 0 || u.len > IDENT_USER_MAX)
            abort();
        for (size_t i = 0; i < u.len; i++)
            if ((unsigned char)u.s[i] < 0x20 || u.s[i] == 0x7f)
                abort();
    }
    bstr_free(&u);
    return 0;
}
