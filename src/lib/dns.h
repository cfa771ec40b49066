/* SPDX-License-Identifier: ISC */
/*
 * dns - the DNS lookups remote delivery and the dns* tools need, on
 * glibc's res_n* message API (res_nmkquery, ns_initparse, dn_expand):
 * queries are built and answers parsed by libresolv, sent and received
 * here over UDP (EDNS0, 1232-byte payload) with a fallback to TCP when
 * the answer is truncated, so MX sets over 512 bytes work.
 *
 * Servers: control/dnsservers when the caller names it (one server per
 * line: an IPv4 address, "a.b.c.d:port", an IPv6 address or
 * "[v6]:port"; '#' comments), else the nameserver lines of
 * /etc/resolv.conf, else 127.0.0.1.  Each server is tried in turn, every
 * answer checked against its query (source, id, question) before it is
 * believed.
 *
 * Every lookup returns DNS_OK, DNS_TEMP (try again later: timeout,
 * SERVFAIL, REFUSED, a malformed or truncated answer, a CNAME chain
 * too long or looping, out of memory) or DNS_PERM (the name does not
 * exist: NXDOMAIN, or a name that cannot be a domain).  A name that
 * exists but has no record of the type asked is DNS_OK with n == 0.
 * After a failure d->err says why, for people ("CNAME lookup failed
 * temporarily", "timed out asking 127.0.0.1", ...).
 * CNAMEs are followed (in the answer, or by asking again) up to
 * DNS_CNAME_MAX links.
 */
#ifndef DNS_H
#define DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "ipaddr.h"

#define DNS_OK 0
#define DNS_TEMP (-1)
#define DNS_PERM (-2)

#define DNS_SERVERS_MAX 8
#define DNS_CNAME_MAX 8
#define DNS_NAME_MAX 255 /* a domain name in text, without the NUL */

struct dns_server {
    struct ipaddr ip;
    unsigned port; /* 53 unless the servers file says */
};

struct __res_state; /* <resolv.h>, for res_nmkquery */

struct dns {
    struct dns_server srv[DNS_SERVERS_MAX];
    size_t nsrv;
    unsigned timeout_ms; /* per query and server (default 5000) */
    unsigned rounds;     /* times through the server list (default 2) */
    struct bstr err;     /* why the last lookup failed */
    bool nullmx;         /* the last failure was a null MX (RFC 7505) */
    unsigned noedns;     /* bit i: server i answered FORMERR to EDNS0 */
    struct __res_state *res;
};

/* An MX host, or a host with its addresses. */
struct dns_mx {
    unsigned pref;
    char *name; /* lower case, no trailing dot */
};

struct dns_mxlist {
    struct dns_mx *mx;
    size_t n;
};

struct dns_iplist {
    struct ipaddr *ip;
    size_t n;
};

/* TXT records: one text each, its character-strings joined, raw bytes. */
struct dns_txtlist {
    struct bstr *txt;
    size_t n;
};

/*
 * dns_init - servers from serversfile (NULL or absent: skip it) or
 * resolv.conf.  0, or -1 with errno (ENOMEM; EINVAL with d->err naming
 * the bad line; the errno of an unreadable file) and d->err saying why.
 * Only the first DNS_SERVERS_MAX servers are used.  dns_free is
 * needed after either result.
 */
int dns_init(struct dns *d, const char *serversfile) WUR;
void dns_free(struct dns *d);

/*
 * dns_servers_parse - add to d the servers listed in text: the
 * dnsservers syntax above, or with resolvconf the "nameserver ADDR"
 * lines of resolv.conf (others, and addresses it cannot use, skipped).
 * 0, or -1 with errno EINVAL and d->err naming the bad line.
 */
int dns_servers_parse(struct dns *d, const char *text, size_t len,
                      bool resolvconf) WUR;

/*
 * Results: out need not be initialized; it is overwritten, and holds
 * nothing after a failure.  Free it with dns_*list_free after DNS_OK.
 */

/*
 * dns_ip - the addresses of name: family AF_INET (A), AF_INET6 (AAAA) or
 * AF_UNSPEC (both: AAAA first, then A).  For AF_UNSPEC the result is OK
 * when an address was found or both lookups are OK; otherwise TEMP if
 * either is temporary, else PERM (the name does not exist).
 */
int dns_ip(struct dns *d, const char *name, int family,
           struct dns_iplist *out) WUR;

/*
 * dns_mx - the MX hosts of domain, sorted by preference, in random order
 * among equal preferences.  n == 0: no MX records (the caller uses the
 * domain itself, the implicit MX).  A single MX "." (RFC 7505, null MX)
 * gives DNS_PERM with d->nullmx set and d->err saying the domain accepts
 * no mail (a "." beside real MX hosts is ignored).
 */
int dns_mx(struct dns *d, const char *domain, struct dns_mxlist *out) WUR;

/* dns_mx_sort - by preference, equal preferences in random order. */
void dns_mx_sort(struct dns_mxlist *l);

/*
 * dns_ptr - the names of ip (PTR under in-addr.arpa or ip6.arpa; an
 * IPv4-mapped IPv6 address is looked up as IPv4), in the answer's order.
 */
int dns_ptr(struct dns *d, const struct ipaddr *ip,
            struct dns_mxlist *out) WUR; /* pref 0 */

/*
 * dns_txt - the TXT records of name, in the answer's order, each as one
 * text: its character-strings joined with nothing between them.  The
 * bytes are the server's, NUL, CR, LF and 8-bit bytes included: a caller
 * that shows them to anyone makes them safe first.
 */
int dns_txt(struct dns *d, const char *name, struct dns_txtlist *out) WUR;

/* dns_ptrname - the reverse name of ip ("4.3.2.1.in-addr.arpa"). */
int dns_ptrname(struct bstr *out, const struct ipaddr *ip) WUR;

void dns_iplist_free(struct dns_iplist *l);
void dns_mxlist_free(struct dns_mxlist *l);
void dns_txtlist_free(struct dns_txtlist *l);

/*
 * dns_servers_env - replace d's servers with those listed in value, the
 * way ucspi-tcp's and djbdns's programs read $DNSCACHEIP: addresses
 * separated by spaces, commas or (djbdns) dots after a full IPv4 address
 * ("127.0.0.1.10.0.0.1"), each in the dnsservers syntax (so a port may
 * follow: "127.0.0.1:5353", "[::1]:5353").  0, leaving d's servers
 * alone when value names none (empty or blank); -1 with errno EINVAL
 * and d->err naming the bad item, d's servers unchanged.
 */
int dns_servers_env(struct dns *d, const char *value) WUR;

/*
 * Pure parsing, for the fuzz target and unit tests: the records of type
 * (ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr) for qname in answer[0..len),
 * following CNAMEs inside it.  *next receives the name to ask next when
 * the chain leaves the answer (empty when complete).  DNS_OK, DNS_TEMP
 * (malformed, an error rcode, another question, or a loop) or DNS_PERM
 * (NXDOMAIN, a null MX).  Records are appended to *ips (A, AAAA) or
 * *names (MX, PTR), which the caller initializes ({0}; NULL for the one
 * not wanted) and which get nothing from an answer that fails.  Names
 * are kept only when they are plain host names (lower case, no
 * trailing dot, at most DNS_NAME_MAX characters).
 */
int dns_parse(struct dns *d, const unsigned char *answer, size_t len,
              const char *qname, int type, struct dns_iplist *ips,
              struct dns_mxlist *names, struct bstr *next) WUR;

/* dns_parse_txt - dns_parse for TXT records, appended to *txts. */
int dns_parse_txt(struct dns *d, const unsigned char *answer, size_t len,
                  const char *qname, struct dns_txtlist *txts,
                  struct bstr *next) WUR;

#endif
