/* SPDX-License-Identifier: ISC */
/* base64 - RFC 4648 section 4 encoding and strict decoding (base64.h). */
#include <errno.h>

#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
base64_encode(struct bstr *out, const void *in, size_t n)
{
    const unsigned char *p = in;

    if (bstr_readyplus(out, (n + 2) / 3 * 4) == -1)
        return -1;
    for (size_t i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)p[i] << 16;
        char q[4];

        if (i + 1 < n)
            v |= (unsigned long)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        q[0] = alphabet[v >> 18 & 63];
        q[1] = alphabet[v >> 12 & 63];
        q[2] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? alphabet[v & 63] : '=';
        if (bstr_catb(out, q, 4) == -1)
            return -1;
    }
    return 0;
}

static int
value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int
base64_decode(struct bstr *out, const char *in, size_t n)
{
    if (n % 4) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        char b[3];

        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)in[i + j];

            /* '=' only at the end: "xx==" or "xxx=" */
            if (c == '=' && i + 4 == n && j >= 2 &&
                (j == 3 || in[i + 3] == '=')) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad || (v[j] = value(c)) < 0) {
                errno = EINVAL;
                return -1;
            }
        }
        /* the bits the padding drops must be zero (RFC 4648 3.5) */
        if ((pad == 2 && (v[1] & 15)) || (pad == 1 && (v[2] & 3))) {
            errno = EINVAL;
            return -1;
        }
        b[0] = (char)(v[0] << 2 | v[1] >> 4);
        b[1] = (char)((v[1] & 15) << 4 | v[2] >> 2);
        b[2] = (char)((v[2] & 3) << 6 | v[3]);
        if (bstr_catb(out, b, (size_t)(3 - pad)) == -1)
            return -1;
    }
    return 0;
}
