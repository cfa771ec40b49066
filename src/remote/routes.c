/* SPDX-License-Identifier: ISC */
/*
 * routes - parsing and matching control/smtproutes (see routes.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "fmt.h"
#include "routes.h"

/* routes_host_char - what a domain or relay name may contain. */
bool
routes_host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c >= 0x80;
}

/* routes_lowdup - a malloc'ed ASCII-lower-case copy of s[0..len). */
char *
routes_lowdup(const char *s, size_t len)
{
    char *d = malloc(len + 1);

    if (!d)
        return NULL;
    for (size_t i = 0; i < len; i++)
        d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    d[len] = '\0';
    return d;
}

/*
 * routes_scan_literal - an address literal with its brackets:
 * "[192.0.2.1]", "[2001:db8::1]" or RFC 5321's "[IPv6:2001:db8::1]".
 */
bool
routes_scan_literal(const char *s, size_t len, struct ipaddr *ip)
{
    if (len < 3 || s[0] != '[' || s[len - 1] != ']')
        return false;
    s++;
    len -= 2;
    if (len > 5 && strncasecmp(s, "IPv6:", 5) == 0) {
        ip->family = AF_INET6;
        memset(ip->b, 0, sizeof ip->b);
        return ipaddr_scan6(s + 5, len - 5, ip->b);
    }
    return ipaddr_scan(s, len, ip);
}

/* scan_port - a decimal port 1..65535 filling all of s[0..len). */
static bool
scan_port(const char *s, size_t len, unsigned *port)
{
    unsigned long v;

    if (len == 0 || len > 5 || scan_ulong(s, len, &v) != len || v == 0 ||
        v > 65535)
        return false;
    *port = (unsigned)v;
    return true;
}

/* split_domain - the length of the domain field, up to its ':'. */
static bool
split_domain(const char *line, size_t len, size_t *dlen)
{
    const char *colon;

    if (len && line[0] == '[') {
        const char *end = memchr(line, ']', len);

        if (!end || (size_t)(end - line) + 1 >= len || end[1] != ':')
            return false;
        *dlen = (size_t)(end - line) + 1;
        return true;
    }
    colon = memchr(line, ':', len);
    if (!colon)
        return false;
    *dlen = (size_t)(colon - line);
    for (size_t i = 0; i < *dlen; i++)
        if (!routes_host_char((unsigned char)line[i]))
            return false;
    return true;
}

/*
 * parse_relay - the part after the domain's ':': "", ":port", "relay",
 * "relay:port", "[literal]" or "[literal]:port".
 */
static bool
parse_relay(const char *s, size_t len, struct route_entry *e)
{
    const char *colon;
    size_t hlen;

    e->kind = ROUTE_MX;
    e->port = 0;
    if (len == 0)
        return true;
    if (s[0] == '[') {
        const char *end = memchr(s, ']', len);

        if (!end)
            return false;
        hlen = (size_t)(end - s) + 1;
        if (!routes_scan_literal(s, hlen, &e->ip))
            return false;
        ipaddr_unmap(&e->ip);
        e->kind = ROUTE_LITERAL;
        if (hlen == len)
            return true;
        return s[hlen] == ':' && scan_port(s + hlen + 1, len - hlen - 1,
                                           &e->port);
    }
    colon = memchr(s, ':', len);
    hlen = colon ? (size_t)(colon - s) : len;
    if (colon && !scan_port(colon + 1, len - hlen - 1, &e->port))
        return false;
    if (hlen == 0)
        return colon != NULL; /* "domain::port" */
    for (size_t i = 0; i < hlen; i++)
        if (!routes_host_char((unsigned char)s[i]))
            return false;
    if (ipaddr_scan4(s, hlen, e->ip.b)) {
        e->ip.family = AF_INET;
        memset(e->ip.b + 4, 0, sizeof e->ip.b - 4);
        e->kind = ROUTE_LITERAL;
        return true;
    }
    e->kind = ROUTE_NAME;
    e->relay = routes_lowdup(s, hlen);
    return e->relay != NULL;
}

/*
 * routes_parse_line - one smtproutes line into e (free it with
 * routes_entry_free).  Returns 0, or -1 with errno EINVAL (not a route)
 * or ENOMEM.
 */
int
routes_parse_line(const char *line, size_t len, struct route_entry *e)
{
    size_t dlen;

    memset(e, 0, sizeof *e);
    if (memchr(line, '\0', len) || !split_domain(line, len, &dlen)) {
        errno = EINVAL;
        return -1;
    }
    if (!parse_relay(line + dlen + 1, len - dlen - 1, e)) {
        routes_entry_free(e);
        errno = EINVAL;
        return -1;
    }
    e->domain = routes_lowdup(line, dlen);
    if (!e->domain ||
        (e->kind != ROUTE_NAME && !(e->relay = routes_lowdup("", 0)))) {
        routes_entry_free(e);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

void
routes_entry_free(struct route_entry *e)
{
    free(e->domain);
    free(e->relay);
    e->domain = e->relay = NULL;
}

/*
 * routes_load - every line of list (a ctl list: NUL-ended items) into r.
 * Returns 0; -1 with errno EINVAL and *badline the 1-based item number of
 * the first bad line, or ENOMEM.
 */
int
routes_load(struct routes *r, const struct bstr *list, size_t *badline)
{
    size_t n = 0, i = 0;

    r->e = NULL;
    r->n = 0;
    *badline = 0;
    for (const char *p = ctl_list_next(list, NULL); p;
         p = ctl_list_next(list, p))
        n++;
    if (n == 0)
        return 0;
    r->e = calloc(n, sizeof *r->e);
    if (!r->e)
        return -1;
    for (const char *p = ctl_list_next(list, NULL); p;
         p = ctl_list_next(list, p), i++) {
        if (routes_parse_line(p, strlen(p), &r->e[i]) == -1) {
            int e = errno;

            *badline = i + 1;
            routes_free(r);
            errno = e;
            return -1;
        }
        r->n++;
    }
    return 0;
}

static const struct route_entry *
find_key(const struct routes *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcasecmp(r->e[i].domain, key) == 0)
            return &r->e[i];
    return NULL;
}

/*
 * routes_match - the route for domain: its exact line, else the line of
 * its longest suffix ".b.c" (for "a.b.c"), else the default ":" line.
 * NULL when nothing matches (deliver to the MX hosts on port 25).
 */
const struct route_entry *
routes_match(const struct routes *r, const char *domain)
{
    const struct route_entry *e;

    if (*domain && (e = find_key(r, domain)))
        return e;
    for (const char *p = domain; *p; p++)
        if (*p == '.' && p[1] && (e = find_key(r, p)))
            return e;
    return find_key(r, "");
}

void
routes_free(struct routes *r)
{
    for (size_t i = 0; i < r->n; i++)
        routes_entry_free(&r->e[i]);
    free(r->e);
    r->e = NULL;
    r->n = 0;
}
