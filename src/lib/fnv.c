/* SPDX-License-Identifier: ISC */
/*
 * fnv - the 64-bit FNV-1a hash (see fnv.h).
 */
#include "fnv.h"

#define FNV1A_PRIME 0x100000001b3ULL

uint64_t
fnv1a_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * FNV1A_PRIME;
    return h;
}

uint64_t
fnv1a(const void *p, size_t n)
{
    return fnv1a_more(FNV1A_BASIS, p, n);
}

uint64_t
fnv1a_lower(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = FNV1A_BASIS;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = b[i];

        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * FNV1A_PRIME;
    }
    return h;
}
