/* SPDX-License-Identifier: ISC */
/*
 * routes - control/smtproutes: where mail for a domain goes instead of
 * its MX hosts.
 *
 * A line is "domain:relay", "domain:relay:port" or, in qmail-ng,
 * "domain::port" (the MX hosts as usual, at another port).  The domain
 * is a name ("example.com"), a suffix (".example.com": every name below
 * it), empty (every domain) or an address literal ("[192.0.2.1]").  The
 * relay is a host name, an IPv4 address, a bracketed literal
 * ("[192.0.2.1]", "[2001:db8::1]", "[IPv6:2001:db8::1]"), or empty: use
 * the MX records.  For a domain the exact line wins, then the longest
 * matching suffix, then the empty domain; among equal keys the first
 * line.  Case does not matter.  A line that is none of these makes the
 * whole file unusable (the caller defers: a typo must not misroute mail).
 */
#ifndef ROUTES_H
#define ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "ipaddr.h"

#define ROUTES_PORT 25

enum route_relay {
    ROUTE_MX,      /* empty relay: the domain's MX hosts */
    ROUTE_NAME,    /* a host name, looked up for its addresses */
    ROUTE_LITERAL, /* an IP address */
};

/* One line of smtproutes; the strings are owned by the table. */
struct route_entry {
    char *domain;  /* lower case; "" for the default line */
    enum route_relay kind;
    char *relay;   /* ROUTE_NAME: lower case host name, else "" */
    struct ipaddr ip; /* ROUTE_LITERAL */
    unsigned port; /* 0: not given (25, or the caller's default) */
};

struct routes {
    struct route_entry *e;
    size_t n;
};

int routes_parse_line(const char *line, size_t len, struct route_entry *e)
    WUR;
void routes_entry_free(struct route_entry *e);
int routes_load(struct routes *r, const struct bstr *list, size_t *badline)
    WUR;
const struct route_entry *routes_match(const struct routes *r,
                                       const char *domain);
void routes_free(struct routes *r);
bool routes_host_char(unsigned char c);
char *routes_lowdup(const char *s, size_t len);
bool routes_scan_literal(const char *s, size_t len, struct ipaddr *ip);

#endif
