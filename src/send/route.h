/* SPDX-License-Identifier: ISC */
/*
 * route - where qmail-send sends one recipient: local or remote, and
 * under which address (qmail-send(8)'s rules, in this order):
 *   1. an address without '@' gets "@" envnoathost;
 *   2. percenthack domains: "user%host@domain" becomes "user@host",
 *      repeatedly, while the domain is listed;
 *   3. a domain listed in locals is local, address unchanged;
 *   4. virtualdomains: "user@domain:prefix" for that exact address, then
 *      "domain:prefix", then ".suffix:prefix" (longest suffix first),
 *      then ":prefix" for everything: local as "prefix-user@domain"; an
 *      empty prefix means "not virtual" (remote);
 *   5. everything else is remote.
 * Domains compare without regard to case.  Tables are read-only after
 * route_init; lookups are hashed, so a hosting server's 20,000 virtual
 * domains cost one probe each.
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

enum route_chan { ROUTE_LOCAL, ROUTE_REMOTE };

struct route_map {
    char **key; /* lowercased keys; values follow each key's NUL */
    size_t mask;
    size_t n;
};

struct route {
    struct route_map locals;     /* domain -> "" */
    struct route_map percent;    /* domain -> "" */
    struct route_map virt;       /* "user@domain" / "domain" / ".sfx" -> prefix */
    bool virt_default;           /* a ":prefix" line exists */
    struct bstr virt_default_prefix;
    struct bstr envnoathost;
};

int route_init(struct route *r, const struct bstr *locals,
               const struct bstr *percenthack, const struct bstr *virtualdomains,
               const char *envnoathost) WUR;
void route_free(struct route *r);
enum route_chan route_addr(const struct route *r, const char *addr, size_t len,
                           struct bstr *out);

#endif
