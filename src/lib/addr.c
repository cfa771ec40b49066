/* SPDX-License-Identifier: ISC */
/*
 * addr - RFC 5321 path parsing and quoting (see addr.h).
 *
 * The grammar, RFC 5321 §4.1.2 with RFC 6531 §3.3 for UTF-8:
 *   Path       = "<" [ A-d-l ":" ] Mailbox ">"
 *   A-d-l      = "@" Domain *( "," "@" Domain )
 *   Mailbox    = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 * A mailbox without "@" is taken as a local name (qmail appends
 * envnoathost later), which keeps "RCPT TO:<postmaster>" working.
 */
#include <arpa/inet.h>
#include <string.h>

#include "addr.h"

/*
 * addr_utf8_valid - length of the well-formed UTF-8 sequence at s, or 0.
 * Rejects overlong forms, surrogates and code points past U+10FFFF.
 */
size_t
addr_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned long cp;
    size_t n;

    if (len == 0)
        return 0;
    if (u[0] < 0x80)
        return 1;
    if (u[0] >= 0xc2 && u[0] <= 0xdf) {
        n = 2;
        cp = u[0] & 0x1f;
    } else if (u[0] >= 0xe0 && u[0] <= 0xef) {
        n = 3;
        cp = u[0] & 0x0f;
    } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
        n = 4;
        cp = u[0] & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (u[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

bool
addr_is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

/* RFC 5322 atext */
static bool
is_atext(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool
is_letdig(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/*
 * One non-ASCII character at s: its length, or 0 with *st set.  Used
 * where RFC 6531 allows UTF8-non-ascii.
 */
static size_t
utf8_char(const char *s, size_t len, unsigned flags, int *st)
{
    size_t n = addr_utf8_valid(s, len);

    if (n == 0) {
        *st = ADDR_BADUTF8;
        return 0;
    }
    if (!(flags & ADDR_F_UTF8)) {
        *st = ADDR_NEEDUTF8;
        return 0;
    }
    return n;
}

/*
 * domain_len - length of the Domain or address-literal at s (stopping at
 * the first byte that cannot continue it), or 0 with *st set.
 */
static size_t
domain_len(const char *s, size_t len, unsigned flags, int *st)
{
    size_t i = 0, label = 0;

    *st = ADDR_SYNTAX;
    if (len && s[0] == '[') {
        char buf[64];
        const char *end = memchr(s, ']', len);
        size_t n;
        unsigned char tmp[16];

        if (!end)
            return 0;
        n = (size_t)(end - s) - 1;
        if (n == 0 || n >= sizeof buf)
            return 0;
        if (memchr(s + 1, '\0', n))
            return 0; /* inet_pton would stop at the NUL and accept */
        memcpy(buf, s + 1, n);
        buf[n] = '\0';
        if (n > 5 && strncasecmp(buf, "IPv6:", 5) == 0) {
            if (inet_pton(AF_INET6, buf + 5, tmp) != 1)
                return 0;
        } else if (inet_pton(AF_INET, buf, tmp) != 1) {
            return 0;
        }
        *st = ADDR_OK;
        return n + 2;
    }
    while (i < len) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x80) {
            size_t n = utf8_char(s + i, len - i, flags, st);
            if (n == 0)
                return 0;
            i += n;
            label += n;
        } else if (is_letdig(c)) {
            i++;
            label++;
        } else if (c == '-') {
            if (label == 0)
                return 0; /* a label starts with a letter or digit */
            i++;
            label++;
        } else if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            i++;
            label = 0;
        } else {
            break;
        }
        if (label > 63) {
            *st = ADDR_TOOLONG;
            return 0;
        }
    }
    if (i == 0 || label == 0 || s[i - 1] == '-') {
        *st = ADDR_SYNTAX;
        return 0;
    }
    if (i > ADDR_DOMAIN_MAX) {
        *st = ADDR_TOOLONG;
        return 0;
    }
    *st = ADDR_OK;
    return i;
}

/* addr_domain_valid - s[0..len) is exactly one Domain or address-literal. */
bool
addr_domain_valid(const char *s, size_t len, bool utf8)
{
    int st;

    return domain_len(s, len, utf8 ? ADDR_F_UTF8 : 0, &st) == len && len;
}

/*
 * local_part - parse a Dot-string or Quoted-string at s, appending the
 * unquoted form to out.  Returns the bytes consumed, or 0 with *st set.
 */
static size_t
local_part(const char *s, size_t len, unsigned flags, struct bstr *out,
           int *st)
{
    size_t i = 0, start = out->len;

    *st = ADDR_SYNTAX;
    if (len && s[0] == '"') {
        i = 1;
        for (;;) {
            unsigned char c;

            if (i >= len)
                return 0;
            c = (unsigned char)s[i];
            if (c == '"') {
                i++;
                break;
            }
            if (c == '\\') {
                if (i + 1 >= len)
                    return 0;
                c = (unsigned char)s[i + 1];
                if (c < 32 || c > 126)
                    return 0;
                if (bstr_catc(out, (char)c) == -1)
                    return 0;
                i += 2;
            } else if (c >= 0x80) {
                size_t n = utf8_char(s + i, len - i, flags, st);
                if (n == 0 || bstr_catb(out, s + i, n) == -1)
                    return 0;
                i += n;
            } else if (c >= 32 && c <= 126) {
                if (bstr_catc(out, (char)c) == -1)
                    return 0;
                i++;
            } else {
                return 0;
            }
        }
        if (out->len == start)
            return 0; /* "" is not a mailbox anyone owns */
    } else {
        bool dot_ok = false;

        while (i < len) {
            unsigned char c = (unsigned char)s[i];

            if (c >= 0x80) {
                size_t n = utf8_char(s + i, len - i, flags, st);
                if (n == 0)
                    return 0;
                i += n;
                dot_ok = true;
            } else if (is_atext(c)) {
                i++;
                dot_ok = true;
            } else if (c == '.') {
                if (!dot_ok)
                    return 0;
                i++;
                dot_ok = false;
            } else {
                break;
            }
        }
        if (i == 0 || !dot_ok) {
            *st = ADDR_SYNTAX;
            return 0;
        }
        if (bstr_catb(out, s, i) == -1)
            return 0;
    }
    if (out->len - start > ADDR_LOCAL_MAX) {
        *st = ADDR_TOOLONG;
        return 0;
    }
    *st = ADDR_OK;
    return i;
}

/*
 * addr_parse_path - parse the path at the start of s[0..len).
 * On ADDR_OK, out is the mailbox in queue form (empty for "<>") and
 * *used the bytes consumed; the caller parses any ESMTP parameters that
 * follow.  Otherwise returns the addr_status saying why.
 */
int
addr_parse_path(const char *s, size_t len, unsigned flags, struct bstr *out,
                size_t *used)
{
    size_t i = 0, n;
    bool bracket;
    int st;

    bstr_truncate(out, 0);
    if (bstr_ready(out, 64) == -1)
        return ADDR_TOOLONG;
    bracket = len && s[0] == '<';
    if (bracket) {
        i = 1;
    } else if (!(flags & ADDR_F_NOBRACKET)) {
        return ADDR_SYNTAX;
    }
    if (bracket && i < len && s[i] == '>') {
        if (!(flags & ADDR_F_NULL_OK))
            return ADDR_SYNTAX;
        *used = 2;
        return ADDR_OK;
    }
    /* A-d-l: "@dom,@dom:" is checked, then dropped (RFC 5321 §C). */
    if (bracket && i < len && s[i] == '@') {
        for (;;) {
            if (i >= len || s[i] != '@')
                return ADDR_SYNTAX;
            i++;
            n = domain_len(s + i, len - i, flags, &st);
            if (n == 0)
                return st;
            i += n;
            if (i < len && s[i] == ',') {
                i++;
                continue;
            }
            if (i < len && s[i] == ':') {
                i++;
                break;
            }
            return ADDR_SYNTAX;
        }
    }
    n = local_part(s + i, len - i, flags, out, &st);
    if (n == 0)
        return st;
    i += n;
    if (i < len && s[i] == '@') {
        i++;
        n = domain_len(s + i, len - i, flags, &st);
        if (n == 0)
            return st;
        if (bstr_catc(out, '@') == -1 || bstr_catb(out, s + i, n) == -1)
            return ADDR_TOOLONG;
        i += n;
    } else if (memchr(out->s, '@', out->len)) {
        /* <"a@b"> would read as a at domain b in the queue form */
        return ADDR_SYNTAX;
    }
    if (bracket) {
        if (i >= len || s[i] != '>')
            return ADDR_SYNTAX;
        i++;
    } else if (i < len && s[i] != ' ') {
        return ADDR_SYNTAX;
    }
    if (out->len > ADDR_MAX)
        return ADDR_TOOLONG;
    *used = i;
    return ADDR_OK;
}

/* addr_at - index of the '@' separating local part and domain, or len. */
size_t
addr_at(const char *a, size_t len)
{
    for (size_t i = len; i > 0; i--)
        if (a[i - 1] == '@')
            return i - 1;
    return len;
}

/*
 * addr_quote - append the SMTP form of a queue-form address: the local
 * part is quoted unless it is a valid Dot-string.  Returns 0 or -1.
 */
int
addr_quote(struct bstr *out, const char *a, size_t len)
{
    size_t at = addr_at(a, len);
    bool plain = at > 0;

    for (size_t i = 0; i < at && plain; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c == '.') {
            if (i == 0 || i + 1 == at || a[i - 1] == '.')
                plain = false;
        } else if (!is_atext(c) && c < 0x80) {
            plain = false;
        }
    }
    if (plain) {
        if (bstr_catb(out, a, at) == -1)
            return -1;
    } else {
        if (bstr_catc(out, '"') == -1)
            return -1;
        for (size_t i = 0; i < at; i++) {
            if ((a[i] == '"' || a[i] == '\\') && bstr_catc(out, '\\') == -1)
                return -1;
            if (bstr_catc(out, a[i]) == -1)
                return -1;
        }
        if (bstr_catc(out, '"') == -1)
            return -1;
    }
    return bstr_catb(out, a + at, len - at);
}
