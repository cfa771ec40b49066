/* SPDX-License-Identifier: ISC */
/*
 * fmt, scan - decimal and hex conversions (see fmt.h).
 */
#include <limits.h>

#include "fmt.h"

size_t
fmt_ull(char *buf, unsigned long long u)
{
    char tmp[FMT_ULONG];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (buf)
        for (size_t i = 0; i < n; i++)
            buf[i] = tmp[n - 1 - i];
    return n;
}

/* fmt_ull0 - like fmt_ull, zero-padded on the left to width. */
size_t
fmt_ull0(char *buf, unsigned long long u, size_t width)
{
    size_t n = fmt_ull(NULL, u);
    size_t pad = n < width ? width - n : 0;

    if (buf) {
        for (size_t i = 0; i < pad; i++)
            buf[i] = '0';
        fmt_ull(buf + pad, u);
    }
    return pad + n;
}

/* fmt_hex - lowercase hex, zero-padded to width digits. */
size_t
fmt_hex(char *buf, unsigned long long u, size_t width)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[2 * sizeof u];
    size_t n = 0;

    do {
        tmp[n++] = digits[u & 15];
        u >>= 4;
    } while (u);
    while (n < width && n < sizeof tmp)
        tmp[n++] = '0';
    if (buf)
        for (size_t i = 0; i < n; i++)
            buf[i] = tmp[n - 1 - i];
    return n;
}

size_t
scan_ull(const char *s, size_t len, unsigned long long *u)
{
    unsigned long long v = 0;
    size_t i;

    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (i)
        *u = v;
    return i;
}

/* scan_xdigit - the value of one hex digit, or -1. */
int
scan_xdigit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t
scan_ulong(const char *s, size_t len, unsigned long *u)
{
    unsigned long long v;
    size_t n = scan_ull(s, len, &v);

    if (n == 0 || v > ULONG_MAX)
        return 0;
    *u = (unsigned long)v;
    return n;
}
