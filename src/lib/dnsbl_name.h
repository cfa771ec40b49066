/* SPDX-License-Identifier: ISC */
/*
 * dnsbl_name - the names a DNS blacklist is asked about (RFC 5782):
 * an IPv4 address as its four octets reversed under the zone
 * ("2.0.0.127.zen.example"), an IPv6 address as its 32 nibbles reversed
 * ("1.0.0. ... .8.b.d.0.1.0.0.2.zen.example", RFC 5782 2.4), an
 * IPv4-mapped IPv6 address as the IPv4 address it carries; and for a
 * domain list (RHSBL, RFC 5782 2.3) the domain itself under the zone.
 *
 * The result is a plain domain name: lower case, no trailing dot, labels
 * of 1 to 63 bytes, at most 253 in all.  A zone or domain that would
 * make anything else (empty labels, spaces, control or 8-bit bytes,
 * characters a name's text form escapes, too long) is refused, so no
 * caller sends a query that is not the one it meant.  Nothing here
 * allocates beyond the bstr, exits or logs.
 */
#ifndef DNSBL_NAME_H
#define DNSBL_NAME_H

#include "bstr.h"
#include "ipaddr.h"

#define DNSBL_NAME_MAX 253 /* a domain name in text, no trailing dot */

/*
 * dnsbl_name - out = the query name of ip under zone.  0, or -1 with
 * errno: EINVAL (zone not a valid domain name), ENAMETOOLONG (the name
 * would pass 253 bytes), EAFNOSUPPORT (ip neither IPv4 nor IPv6),
 * ENOMEM.  out is empty after a failure.
 */
int dnsbl_name(struct bstr *out, const struct ipaddr *ip, const char *zone)
    WUR;

/*
 * dnsbl_rhsname - out = domain.zone, both lower-cased, one trailing dot
 * of either dropped.  0, or -1 with errno EINVAL (domain or zone not a
 * valid domain name, e.g. an address literal "[1.2.3.4]"), ENAMETOOLONG
 * or ENOMEM.  out is empty after a failure.
 */
int dnsbl_rhsname(struct bstr *out, const char *domain, const char *zone)
    WUR;

#endif
