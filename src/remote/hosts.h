/* SPDX-License-Identifier: ISC */
/*
 * hosts - the addresses to try for a domain, best first.
 *
 * smtproutes decides first (routes.h): a relay is used as it is, looked
 * up for its addresses when it is a name, and is never checked against
 * our own addresses (an admin who routes mail to this host means it).
 * Otherwise an address literal "[192.0.2.1]" is that address, and any
 * other domain goes to its MX hosts in order of preference (the resolver
 * shuffles equal ones), or to the domain's own addresses, the implicit
 * MX, when it has none; each host gives its IPv6 then its IPv4
 * addresses.  Then qmail's loop check: if an MX (or the domain itself)
 * is one of our addresses (ipme.h), only MX hosts strictly better than
 * ours are candidates; none left means we are the best MX without the
 * domain in control/locals, a permanent error.
 *
 * DNS goes through a small interface, so this logic is tested without a
 * network; qmail-remote plugs dns.h in.  Failures come back as an
 * outcome and qmail-1.03's text (the resolver's own reason is not in it).
 */
#ifndef HOSTS_H
#define HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "ipaddr.h"
#include "ipme.h"
#include "outcome.h"
#include "routes.h"

#define HOSTS_MAX 64      /* addresses tried for one destination */
#define HOSTS_MX_MAX 32   /* MX hosts looked up */
#define HOSTS_NAME_MAX 255

struct hosts_mx {
    unsigned pref;
    char name[HOSTS_NAME_MAX + 1];
};

/*
 * The resolver: each call fills a malloc'ed array (freed by the caller
 * with free) and returns DNS_OK, DNS_TEMP or DNS_PERM (dns.h), with err
 * saying why on failure; mx returns HOSTS_NULLMX for a domain whose only
 * MX is "." (RFC 7505: it takes no mail).
 */
#define HOSTS_NULLMX (-100)

struct hosts_resolver {
    void *ctx;
    int (*mx)(void *ctx, const char *domain, struct hosts_mx **out,
              size_t *n, struct bstr *err);
    int (*ip)(void *ctx, const char *name, struct ipaddr **out, size_t *n,
              struct bstr *err);
};

struct hosts_addr {
    struct ipaddr ip;
    unsigned pref;
    char name[HOSTS_NAME_MAX + 1]; /* the host's name ("" for a literal):
                                      what a TLS certificate must name */
};

struct hosts {
    struct hosts_addr a[HOSTS_MAX];
    size_t n;
    unsigned port;
    bool relay; /* from smtproutes */
};

enum outcome_kind hosts_find(const char *domain, const struct routes *rt,
                             const struct ipme *me,
                             const struct hosts_resolver *res,
                             struct hosts *out, struct bstr *why) WUR;

#endif
