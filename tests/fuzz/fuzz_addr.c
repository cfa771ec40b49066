/* SPDX-License-Identifier: ISC */
/*
 * fuzz_addr - addr_parse_path with every flag combination (the first
 * byte picks the flags; the rest is the path).  On success the result
 * must be no longer than ADDR_MAX, hold no control character, be valid
 * UTF-8, be ASCII without ADDR_F_UTF8, be empty only for "<>" with
 * ADDR_F_NULL_OK, and survive addr_quote: quoting it and parsing the
 * quoted form gives the same address back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bstr out, quoted, again;
    const char *s = (const char *)data + 1;
    unsigned flags;
    size_t len, used = 0, at;

    if (size == 0)
        return 0;
    flags = data[0] & (ADDR_F_UTF8 | ADDR_F_NULL_OK | ADDR_F_NOBRACKET);
    len = size - 1;
    if (addr_parse_path(s, len, flags, &out, &used) != ADDR_OK)
        return 0;
    if (used == 0 || used > len || out.len > ADDR_MAX)
        abort();
    if (out.len == 0 && (!(flags & ADDR_F_NULL_OK) || used != 2))
        abort();
    for (size_t i = 0; i < out.len; i++) {
        unsigned char c = (unsigned char)out.s[i];
        if (c < 32 || c == 127)
            abort();
    }
    if (!(flags & ADDR_F_UTF8) && !addr_is_ascii(out.s, out.len))
        abort();
    for (size_t i = 0; i < out.len;) {
        size_t n = addr_utf8_valid(out.s + i, out.len - i);
        if (n == 0)
            abort();
        i += n;
    }
    at = addr_at(out.s, out.len);
    if (at < out.len &&
        !addr_domain_valid(out.s + at + 1, out.len - at - 1,
                           (flags & ADDR_F_UTF8) != 0))
        abort();
    if (out.len == 0)
        return 0;
    /* round trip through the SMTP form */
    bstr_truncate(&quoted, 0);
    if (bstr_catc(&quoted, '<') == -1 ||
        addr_quote(&quoted, out.s, out.len) == -1 ||
        bstr_catc(&quoted, '>') == -1)
        abort();
    if (addr_parse_path(quoted.s, quoted.len, flags & ADDR_F_UTF8, &again,
                        &used) == ADDR_OK) {
        if (used != quoted.len || again.len != out.len ||
            memcmp(again.s, out.s, out.len) != 0)
            abort();
    } else if (quoted.len <= ADDR_MAX) {
        abort();
    }
    return 0;
}
