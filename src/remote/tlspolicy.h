/* SPDX-License-Identifier: ISC */
/*
 * tlspolicy - how much TLS a destination gets: control/tlsdestinations,
 * and the smarthost logins of control/smtproutes-auth.  Pure parsing and
 * matching; the files are read by conf.c, the policy is applied by
 * secure.c.
 *
 * tlsdestinations has a line "destination:level" per destination:
 *
 *   *:may                  the default (also ":may"; without any
 *                          default line it is may)
 *   example.com:verify     that domain (exact)
 *   .example.net:encrypt   every name below example.net
 *   -legacy.example        none (s/qmail's exclusion form)
 *   *:                     an empty level is may (s/qmail's "*:")
 *
 * Levels, from the least: none (never STARTTLS), may (STARTTLS when
 * offered, nothing verified; a failed handshake is retried at once in
 * plain text), encrypt (STARTTLS required, nothing verified), verify
 * (STARTTLS required, the chain to the system's CAs and the host name,
 * RFC 6125).  Matching is as smtproutes': the exact line, else the
 * longest suffix, else the default; first line among equals; case does
 * not matter.  A line that is none of these makes the file unusable (the
 * caller defers: a typo must not send mail in clear text that the admin
 * meant to protect).
 *
 * The level is a struct tls_policy with the place it came from, so
 * policy sources of later issues (DANE TLSA records, MTA-STS) are one
 * more step before or after the file, each able to raise the level and
 * name itself in the delivery's text.
 *
 * smtproutes-auth has a line "host:user:password" per smarthost (the
 * name or address the connection goes to, as written in smtproutes);
 * the password is the rest of the line, colons and spaces included.
 */
#ifndef TLSPOLICY_H
#define TLSPOLICY_H

#include <stddef.h>

#include "bstr.h"

enum tls_level {
    TLS_LEVEL_NONE,
    TLS_LEVEL_MAY,
    TLS_LEVEL_ENCRYPT,
    TLS_LEVEL_VERIFY,
};

struct tls_policy {
    enum tls_level level;
    const char *source; /* "control/tlsdestinations", "default", ... */
};

struct tlspolicy_entry {
    char *dest; /* lower case; "" for the default line */
    enum tls_level level;
};

struct tlspolicy {
    struct tlspolicy_entry *e;
    size_t n;
};

int tlspolicy_parse_line(const char *line, size_t len,
                         struct tlspolicy_entry *e) WUR;
int tlspolicy_load(struct tlspolicy *p, const struct bstr *list,
                   size_t *badline) WUR;
struct tls_policy tlspolicy_find(const struct tlspolicy *p, const char *domain);
const char *tls_level_name(enum tls_level l);
void tlspolicy_free(struct tlspolicy *p);

struct authroute {
    char *host; /* lower case */
    char *user;
    char *pass;
};

struct authroutes {
    struct authroute *e;
    size_t n;
};

int authroutes_load(struct authroutes *a, const char *text, size_t len,
                    size_t *badline) WUR;
const struct authroute *authroutes_find(const struct authroutes *a,
                                        const char *host);
void authroutes_free(struct authroutes *a);

#endif
