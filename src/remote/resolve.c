/* SPDX-License-Identifier: ISC */
/*
 * resolve - resolvers for hosts.h (see resolve.h).
 */
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

static const char nodns[] = "no DNS resolver is configured";

static int
none_mx(void *ctx, const char *domain, struct hosts_mx **out, size_t *n,
        struct bstr *err)
{
    (void)ctx;
    (void)domain;
    *out = NULL;
    *n = 0;
    if (bstr_copys(err, nodns) == -1)
        bstr_truncate(err, 0);
    return DNS_TEMP;
}

static int
none_ip(void *ctx, const char *name, struct ipaddr **out, size_t *n,
        struct bstr *err)
{
    (void)ctx;
    (void)name;
    *out = NULL;
    *n = 0;
    if (bstr_copys(err, nodns) == -1)
        bstr_truncate(err, 0);
    return DNS_TEMP;
}

/* resolve_none - a resolver whose every lookup fails temporarily. */
void
resolve_none(struct hosts_resolver *res)
{
    res->ctx = NULL;
    res->mx = none_mx;
    res->ip = none_ip;
}

/* why - copy the resolver's reason for a failure. */
static int
why(struct dns *d, int r, struct bstr *err)
{
    if (r != DNS_OK &&
        bstr_copyb(err, d->err.s ? d->err.s : "", d->err.len) == -1)
        bstr_truncate(err, 0);
    return r;
}

/* dns_mx_hosts - dns_mx into hosts.h's array (names cut to fit). */
static int
dns_mx_hosts(void *ctx, const char *domain, struct hosts_mx **out, size_t *n,
             struct bstr *err)
{
    struct dns *d = ctx;
    struct dns_mxlist l;
    int r = dns_mx(d, domain, &l);

    *out = NULL;
    *n = 0;
    if (r == DNS_PERM && d->nullmx)
        return why(d, HOSTS_NULLMX, err);
    if (r != DNS_OK)
        return why(d, r, err);
    if (l.n) {
        *out = calloc(l.n, sizeof **out);
        if (!*out) {
            dns_mxlist_free(&l);
            if (bstr_copys(err, "out of memory") == -1)
                bstr_truncate(err, 0);
            return DNS_TEMP;
        }
    }
    for (size_t i = 0; i < l.n; i++) {
        size_t len = strlen(l.mx[i].name);

        if (len > HOSTS_NAME_MAX)
            continue; /* dns.c keeps none this long; never cut a name */
        (*out)[*n].pref = l.mx[i].pref;
        memcpy((*out)[*n].name, l.mx[i].name, len + 1);
        (*n)++;
    }
    dns_mxlist_free(&l);
    return DNS_OK;
}

/* dns_ip_hosts - dns_ip (AAAA, then A) as hosts.h wants it. */
static int
dns_ip_hosts(void *ctx, const char *name, struct ipaddr **out, size_t *n,
             struct bstr *err)
{
    struct dns *d = ctx;
    struct dns_iplist l;
    int r = dns_ip(d, name, AF_UNSPEC, &l);

    *out = NULL;
    *n = 0;
    if (r != DNS_OK)
        return why(d, r, err);
    if (l.n) {
        *out = malloc(l.n * sizeof **out);
        if (!*out) {
            dns_iplist_free(&l);
            if (bstr_copys(err, "out of memory") == -1)
                bstr_truncate(err, 0);
            return DNS_TEMP;
        }
        memcpy(*out, l.ip, l.n * sizeof **out);
        *n = l.n;
    }
    dns_iplist_free(&l);
    return DNS_OK;
}

/* resolve_dns - a resolver asking d (set up by dns_init). */
void
resolve_dns(struct hosts_resolver *res, struct dns *d)
{
    res->ctx = d;
    res->mx = dns_mx_hosts;
    res->ip = dns_ip_hosts;
}
