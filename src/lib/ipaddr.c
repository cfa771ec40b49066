/* SPDX-License-Identifier: ISC */
/*
 * ipaddr - IP address text and socket addresses (see ipaddr.h).
 *
 * Written by hand rather than with inet_pton/inet_ntop so that the text
 * is the same on every libc (rule keys written by tcprules must equal the
 * text tcpserver computes for a peer) and so that the parsers take a
 * length instead of a C string.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "fmt.h"
#include "ipaddr.h"

static const unsigned char mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                                0, 0, 0, 0, 0xff, 0xff};

/*
 * ipaddr_scan4 - parse exactly "a.b.c.d", each octet 0..255 in decimal
 * without leading zeros.  Returns true and fills out, or false.
 */
bool
ipaddr_scan4(const char *s, size_t len, unsigned char out[4])
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t start = i;

        if (part > 0) {
            if (i >= len || s[i] != '.')
                return false;
            start = ++i;
        }
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255)
            return false;
        if (s[start] == '0' && i - start > 1)
            return false;
        out[part] = (unsigned char)v;
    }
    return i == len;
}

/*
 * ipaddr_scan6 - parse RFC 4291 text: eight groups of 1-4 hex digits,
 * at most one "::" standing for one or more zero groups, optionally a
 * dotted quad as the last 32 bits.  Returns true and fills out, or false.
 */
bool
ipaddr_scan6(const char *s, size_t len, unsigned char out[16])
{
    unsigned words[8];
    size_t n = 0, i = 0;
    int gap = -1; /* index in words where "::" stands */

    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (len == 0 || s[0] == ':') {
        return false;
    }
    while (i < len) {
        size_t start = i;
        unsigned v = 0;

        while (i < len && i - start < 4 && scan_xdigit(s[i]) >= 0)
            v = v * 16 + (unsigned)scan_xdigit(s[i++]);
        if (i == start)
            return false;
        if (i < len && s[i] == '.') {
            unsigned char q[4];

            /* the embedded IPv4 ends the text and fills two groups */
            if (n > 6 || !ipaddr_scan4(s + start, len - start, q))
                return false;
            words[n++] = (unsigned)q[0] << 8 | q[1];
            words[n++] = (unsigned)q[2] << 8 | q[3];
            i = len;
            break;
        }
        if (n == 8)
            return false;
        words[n++] = v;
        if (i == len)
            break;
        if (s[i] != ':')
            return false;
        i++;
        if (i < len && s[i] == ':') {
            if (gap != -1)
                return false;
            gap = (int)n;
            i++;
        } else if (i == len) {
            return false; /* a single trailing colon */
        }
    }
    if (gap == -1 ? n != 8 : n > 7)
        return false;
    memset(out, 0, 16);
    if (gap == -1) {
        for (size_t k = 0; k < 8; k++) {
            out[2 * k] = (unsigned char)(words[k] >> 8);
            out[2 * k + 1] = (unsigned char)words[k];
        }
        return true;
    }
    for (size_t k = 0; k < (size_t)gap; k++) {
        out[2 * k] = (unsigned char)(words[k] >> 8);
        out[2 * k + 1] = (unsigned char)words[k];
    }
    /* the groups after "::" are right-aligned */
    for (size_t k = (size_t)gap; k < n; k++) {
        size_t at = 8 - (n - k);
        out[2 * at] = (unsigned char)(words[k] >> 8);
        out[2 * at + 1] = (unsigned char)words[k];
    }
    return true;
}

/* ipaddr_scan - IPv4 dotted quad or IPv6 text; true when it parsed. */
bool
ipaddr_scan(const char *s, size_t len, struct ipaddr *ip)
{
    memset(ip, 0, sizeof *ip);
    if (memchr(s, ':', len)) {
        ip->family = AF_INET6;
        return ipaddr_scan6(s, len, ip->b);
    }
    ip->family = AF_INET;
    return ipaddr_scan4(s, len, ip->b);
}

static size_t
fmt4(char *buf, const unsigned char *q)
{
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        unsigned v = q[i];

        if (i)
            buf[n++] = '.';
        if (v >= 100)
            buf[n++] = (char)('0' + v / 100);
        if (v >= 10)
            buf[n++] = (char)('0' + v / 10 % 10);
        buf[n++] = (char)('0' + v % 10);
    }
    buf[n] = '\0';
    return n;
}

static size_t
fmt_group(char *buf, unsigned w)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    bool started = false;

    for (int shift = 12; shift >= 0; shift -= 4) {
        unsigned d = w >> shift & 15;
        if (d || started || shift == 0) {
            buf[n++] = hex[d];
            started = true;
        }
    }
    return n;
}

/*
 * ipaddr_fmt - canonical text of ip into buf (at least IPADDR_FMT bytes),
 * NUL-terminated.  Returns its length.
 */
size_t
ipaddr_fmt(char *buf, const struct ipaddr *ip)
{
    unsigned w[8];
    int best = -1, bestlen = 0;
    size_t n = 0;

    if (ip->family == AF_INET)
        return fmt4(buf, ip->b);
    if (memcmp(ip->b, mapped_prefix, 12) == 0) {
        memcpy(buf, "::ffff:", 7);
        return 7 + fmt4(buf + 7, ip->b + 12);
    }
    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)ip->b[2 * i] << 8 | ip->b[2 * i + 1];
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && w[j] == 0)
            j++;
        if (j - i > bestlen) {
            best = i;
            bestlen = j - i;
        }
        i = j > i ? j : i + 1;
    }
    if (bestlen < 2)
        best = -1; /* RFC 5952 4.2.2: never "::" for one group */
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            buf[n++] = ':';
            buf[n++] = ':';
            i += bestlen - 1;
            continue;
        }
        if (i > 0 && i != best + bestlen)
            buf[n++] = ':';
        n += fmt_group(buf + n, w[i]);
    }
    buf[n] = '\0';
    return n;
}

/* ipaddr_bits - 32 for IPv4, 128 for IPv6. */
unsigned
ipaddr_bits(const struct ipaddr *ip)
{
    return ip->family == AF_INET ? 32 : 128;
}

/* ipaddr_mask - clear every bit after the first prefix bits. */
void
ipaddr_mask(struct ipaddr *ip, unsigned prefix)
{
    unsigned bits = ipaddr_bits(ip);

    if (prefix >= bits)
        return;
    for (unsigned i = prefix / 8; i < bits / 8; i++) {
        if (i == prefix / 8 && prefix % 8)
            ip->b[i] &= (unsigned char)(0xff << (8 - prefix % 8));
        else
            ip->b[i] = 0;
    }
}

/*
 * ipaddr_unmap - turn an IPv4-mapped IPv6 address (::ffff:a.b.c.d) into
 * plain IPv4.  Returns true when it did.
 */
bool
ipaddr_unmap(struct ipaddr *ip)
{
    if (ip->family != AF_INET6 || memcmp(ip->b, mapped_prefix, 12) != 0)
        return false;
    ip->family = AF_INET;
    memmove(ip->b, ip->b + 12, 4);
    memset(ip->b + 4, 0, 12);
    return true;
}

/* ipaddr_key16 - 16 bytes naming ip, IPv4 as its mapped IPv6 form. */
void
ipaddr_key16(const struct ipaddr *ip, unsigned char out[16])
{
    if (ip->family == AF_INET) {
        memcpy(out, mapped_prefix, 12);
        memcpy(out + 12, ip->b, 4);
    } else {
        memcpy(out, ip->b, 16);
    }
}

/* ipaddr_equal - same address, an IPv4-mapped one equal to its IPv4. */
bool
ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
    unsigned char ka[16], kb[16];

    ipaddr_key16(a, ka);
    ipaddr_key16(b, kb);
    return memcmp(ka, kb, 16) == 0;
}

/*
 * ipaddr_from_sockaddr - address and port (port may be NULL) of an
 * AF_INET or AF_INET6 socket address; mapped addresses stay IPv6.
 * Returns 0, or -1 with errno EAFNOSUPPORT.
 */
int
ipaddr_from_sockaddr(struct ipaddr *ip, unsigned *port,
                     const struct sockaddr *sa, socklen_t salen)
{
    memset(ip, 0, sizeof *ip);
    if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        ip->family = AF_INET;
        memcpy(ip->b, &in->sin_addr, 4);
        if (port)
            *port = ntohs(in->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6 &&
        salen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        ip->family = AF_INET6;
        memcpy(ip->b, &in6->sin6_addr, 16);
        if (port)
            *port = ntohs(in6->sin6_port);
        return 0;
    }
    errno = EAFNOSUPPORT;
    return -1;
}

/* ipaddr_to_sockaddr - fill ss; returns its length (0: bad family). */
socklen_t
ipaddr_to_sockaddr(const struct ipaddr *ip, unsigned port,
                   struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (ip->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)port);
        memcpy(&in->sin_addr, ip->b, 4);
        return sizeof *in;
    }
    if (ip->family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)port);
        memcpy(&in6->sin6_addr, ip->b, 16);
        return sizeof *in6;
    }
    return 0;
}
