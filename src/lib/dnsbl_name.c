/* SPDX-License-Identifier: ISC */
/*
 * dnsbl_name - DNSBL and RHSBL query names (RFC 5782 2.1-2.4).  See
 * dnsbl_name.h for the contract: the result is always a plain, valid
 * domain name, or nothing.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsbl_name.h"

/*
 * cat_name - append the domain name in[0..) to out, lower-cased, one
 * trailing dot dropped, after checking its labels (1 to 63 bytes of
 * printable ASCII other than the ones a name's text form escapes, and
 * ':' and brackets, which are never part of a zone or a host name).
 * 0, or -1 with errno EINVAL or ENOMEM.
 */
static int
cat_name(struct bstr *out, const char *in)
{
    size_t len = strlen(in), label = 0;

    if (len && in[len - 1] == '.')
        len--;
    if (len == 0 || len > DNSBL_NAME_MAX) {
        errno = len ? ENAMETOOLONG : EINVAL;
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];

        if (c == '.') {
            if (label == 0) {
                errno = EINVAL;
                return -1;
            }
            label = 0;
            continue;
        }
        if (c <= ' ' || c >= 0x7f || strchr("\"();:@$\\[]", c) ||
            ++label > 63) {
            errno = EINVAL;
            return -1;
        }
    }
    if (label == 0) {
        errno = EINVAL; /* "zone.." or "zone." with its dot dropped */
        return -1;
    }
    if (bstr_readyplus(out, len + 1) == -1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];

        out->s[out->len++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out->s[out->len] = '\0';
    return 0;
}

/* finish - the length check shared by both forms; empties out on error. */
static int
finish(struct bstr *out, int r)
{
    if (r == 0 && out->len > DNSBL_NAME_MAX) {
        errno = ENAMETOOLONG;
        r = -1;
    }
    if (r == -1)
        bstr_truncate(out, 0);
    return r;
}

int
dnsbl_name(struct bstr *out, const struct ipaddr *ip, const char *zone)
{
    static const char hex[] = "0123456789abcdef";
    struct ipaddr v = *ip;
    int r = 0;

    bstr_truncate(out, 0);
    ipaddr_unmap(&v); /* ::ffff:a.b.c.d is looked up as a.b.c.d */
    if (v.family == AF_INET) {
        r = bstr_catf(out, "%u.%u.%u.%u.", v.b[3], v.b[2], v.b[1], v.b[0]);
    } else if (v.family == AF_INET6) {
        for (int i = 15; i >= 0 && r == 0; i--) {
            char nib[4] = {hex[v.b[i] & 15], '.', hex[v.b[i] >> 4], '.'};

            r = bstr_catb(out, nib, 4);
        }
    } else {
        errno = EAFNOSUPPORT;
        r = -1;
    }
    if (r == 0)
        r = cat_name(out, zone);
    return finish(out, r);
}

int
dnsbl_rhsname(struct bstr *out, const char *domain, const char *zone)
{
    int r;

    bstr_truncate(out, 0);
    r = cat_name(out, domain);
    if (r == 0)
        r = bstr_catc(out, '.');
    if (r == 0)
        r = cat_name(out, zone);
    return finish(out, r);
}
