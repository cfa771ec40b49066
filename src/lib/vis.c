/* SPDX-License-Identifier: ISC */
/*
 * vis - envelope bytes made safe to show (see vis.h).
 */
#include "addr.h"
#include "vis.h"

/* shown_len - bytes at s that a terminal shows as text, 0 for a control
 * (C0, DEL, a UTF-8 C1) or a byte that is not UTF-8. */
static size_t
shown_len(const unsigned char *s, size_t len)
{
    size_t n;

    if (s[0] < 0x20 || s[0] == 0x7f)
        return 0;
    n = addr_utf8_valid((const char *)s, len);
    if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
        return 0; /* U+0080..U+009F, the C1 controls */
    return n;
}

/* safe_len - shown_len, and the backslash is escaped too. */
static size_t
safe_len(const unsigned char *s, size_t len)
{
    return s[0] == '\\' ? 0 : shown_len(s, len);
}

/* vis_cat - append s[0..len) to out with unsafe bytes as \ooo.
 * Returns 0, or -1 (ENOMEM) with out unchanged in length. */
int
vis_cat(struct bstr *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t start = out->len;
    size_t i = 0;

    while (i < len) {
        size_t n = safe_len(p + i, len - i);
        size_t j;

        if (n) {
            /* a run of safe sequences in one copy */
            for (j = i + n; j < len && (n = safe_len(p + j, len - j));)
                j += n;
            if (bstr_catb(out, p + i, j - i) == -1)
                goto nomem;
            i = j;
            continue;
        }
        if (bstr_catf(out, "\\%03o", p[i]) == -1)
            goto nomem;
        i++;
    }
    return 0;
nomem:
    bstr_truncate(out, start);
    return -1;
}

/* vis_clean - whether vis_cat would copy s[0..len) unchanged. */
bool
vis_clean(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n = safe_len(p + i, len - i);

        if (!n)
            return false;
        i += n;
    }
    return true;
}

/* vis_mask - overwrite, in place, each byte that vis_cat would escape
 * (but the backslash) with the byte with: for text that must keep its
 * length, such as a log line being written. */
void
vis_mask(char *s, size_t len, char with)
{
    unsigned char *p = (unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n = shown_len(p + i, len - i);

        if (n) {
            i += n;
            continue;
        }
        p[i++] = (unsigned char)with;
    }
}
