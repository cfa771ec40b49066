/* SPDX-License-Identifier: ISC */
/*
 * dns - the lookups of dns.h: A and AAAA, MX, PTR, TXT.
 *
 * A lookup asks the servers (dnsexch.c) about a name, reads the answer
 * (dnsparse.c), and asks again along a CNAME chain that leaves the
 * answer, at most DNS_CNAME_MAX links.  Results are appended to the
 * caller's list only from answers that parse; a lookup that fails
 * leaves nothing in it, and d->err says why.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsint.h"

/* dns_iplist_free - release l's storage; l is left empty. */
void
dns_iplist_free(struct dns_iplist *l)
{
    free(l->ip);
    l->ip = NULL;
    l->n = 0;
}

/* dns_txtlist_free - release l and its texts; l is left empty. */
void
dns_txtlist_free(struct dns_txtlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        bstr_free(&l->txt[i]);
    free(l->txt);
    l->txt = NULL;
    l->n = 0;
}

/* dns_mxlist_free - release l and its names; l is left empty. */
void
dns_mxlist_free(struct dns_mxlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->mx[i].name);
    free(l->mx);
    l->mx = NULL;
    l->n = 0;
}

static int
mx_cmp(const void *a, const void *b)
{
    const struct dns_mx *x = a, *y = b;

    return x->pref < y->pref ? -1 : x->pref > y->pref;
}

/* dns_mx_sort - by preference, equal preferences shuffled (RFC 5321 5.1). */
void
dns_mx_sort(struct dns_mxlist *l)
{
    size_t i = 0;

    if (l->n < 2)
        return;
    qsort(l->mx, l->n, sizeof *l->mx, mx_cmp);
    while (i < l->n) {
        size_t j = i + 1;

        while (j < l->n && l->mx[j].pref == l->mx[i].pref)
            j++;
        /* Fisher-Yates over [i, j) */
        for (size_t k = j - 1; k > i; k--) {
            size_t r = i + dns_random_below((uint32_t)(k - i + 1));
            struct dns_mx t = l->mx[k];

            l->mx[k] = l->mx[r];
            l->mx[r] = t;
        }
        i = j;
    }
}

/*
 * lookup - the records of type for name, asking again along a CNAME
 * chain that leaves an answer.  Appends to ips, names or (TXT) txts.
 */
static int
lookup(struct dns *d, const char *name, int type, struct dns_iplist *ips,
       struct dns_mxlist *names, struct dns_txtlist *txts)
{
    struct dns_chain c;
    struct dns_exch x;
    struct bstr next = BSTR_INIT;
    size_t nips, nnames, ntxts;
    int r;

    if (!dns_name_norm(name, c.name[0]))
        return dns_seterr(d, DNS_PERM, "%.300s is not a valid domain name",
                          name);
    c.n = 1;
    memset(&x, 0, sizeof x);
    nips = ips ? ips->n : 0;
    nnames = names ? names->n : 0;
    ntxts = txts ? txts->n : 0;
    x.a = malloc(DNS_ANSWER_MAX + 1);
    if (!x.a)
        return dns_seterr(d, DNS_TEMP,
                          "%s lookup of %s failed temporarily: "
                          "out of memory",
                          dns_type_text(type), c.name[0]);
    for (;;) {
        char srv[IPADDR_FMT + 10];
        size_t si = 0;

        r = dns_query(d, &x, c.name[c.n - 1], c.name[0], type, &si);
        if (r != DNS_OK)
            break;
        dns_server_fmt(srv, &d->srv[si]);
        snprintf(c.from, sizeof c.from, " from %s", srv);
        snprintf(c.via, sizeof c.via, " (answer from %s)", srv);
        if (type == ns_t_txt)
            r = dns_parse_chain_txt(d, x.a, x.alen, &c, txts, &next);
        else
            r = dns_parse_chain(d, x.a, x.alen, &c, type, ips, names, &next);
        if (r != DNS_OK || next.len == 0)
            break;
        /* the chain grew by at least one link: this ends by DNS_CNAME_MAX */
    }
    free(x.a);
    bstr_free(&next);
    if (r == DNS_OK) {
        bstr_truncate(&d->err, 0);
        return r;
    }
    dns_rollback(ips, nips, names, nnames); /* a failed answer's records */
    dns_txt_rollback(txts, ntxts);
    return r;
}

int
dns_ip(struct dns *d, const char *name, int family, struct dns_iplist *out)
{
    struct bstr err6 = BSTR_INIT;
    int r6 = DNS_OK, r4 = DNS_OK;

    out->ip = NULL;
    out->n = 0;
    if (family == AF_INET6 || family == AF_UNSPEC) {
        r6 = lookup(d, name, ns_t_aaaa, out, NULL, NULL);
        if (family == AF_INET6 || r6 == DNS_PERM)
            goto done; /* NXDOMAIN holds for every type */
        if (r6 != DNS_OK && bstr_copy(&err6, &d->err) == -1)
            bstr_truncate(&err6, 0);
    }
    r4 = lookup(d, name, ns_t_a, out, NULL, NULL);
    if (family == AF_UNSPEC && out->n == 0 && r6 == DNS_TEMP) {
        /* say why the AAAA lookup failed, unless A failed too */
        if (r4 == DNS_OK && bstr_copy(&d->err, &err6) == -1)
            bstr_truncate(&d->err, 0);
    }
done:
    bstr_free(&err6);
    if (out->n > 0) {
        bstr_truncate(&d->err, 0);
        return DNS_OK;
    }
    dns_iplist_free(out);
    if (r6 == DNS_TEMP || r4 == DNS_TEMP)
        return DNS_TEMP;
    if (r6 == DNS_PERM || r4 == DNS_PERM)
        return DNS_PERM;
    return DNS_OK;
}

/* dns_mx - the MX hosts of domain, in the order to try them. */
int
dns_mx(struct dns *d, const char *domain, struct dns_mxlist *out)
{
    int r;

    out->mx = NULL;
    out->n = 0;
    d->nullmx = false;
    r = lookup(d, domain, ns_t_mx, NULL, out, NULL);
    if (r != DNS_OK) {
        dns_mxlist_free(out);
        return r;
    }
    dns_mx_sort(out);
    return DNS_OK;
}

/* dns_ptrname - the PTR name of ip (RFC 1035 3.5, RFC 3596 2.5). */
int
dns_ptrname(struct bstr *out, const struct ipaddr *ip)
{
    static const char hex[] = "0123456789abcdef";
    struct ipaddr v = *ip;

    bstr_truncate(out, 0);
    ipaddr_unmap(&v);
    if (v.family == AF_INET)
        return bstr_catf(out, "%u.%u.%u.%u.in-addr.arpa", v.b[3], v.b[2],
                         v.b[1], v.b[0]);
    if (v.family != AF_INET6) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    for (int i = 15; i >= 0; i--) {
        char nib[4] = {hex[v.b[i] & 15], '.', hex[v.b[i] >> 4], '.'};

        if (bstr_catb(out, nib, 4) == -1)
            return -1;
    }
    return bstr_cats(out, "ip6.arpa");
}

/* dns_ptr - the names of ip. */
int
dns_ptr(struct dns *d, const struct ipaddr *ip, struct dns_mxlist *out)
{
    struct bstr name = BSTR_INIT;
    int r;

    out->mx = NULL;
    out->n = 0;
    if (dns_ptrname(&name, ip) == -1) {
        bstr_free(&name);
        return dns_seterr(d, DNS_TEMP,
                          "PTR lookup failed temporarily: "
                          "out of memory or not an IP address");
    }
    r = lookup(d, name.s, ns_t_ptr, NULL, out, NULL);
    bstr_free(&name);
    if (r != DNS_OK)
        dns_mxlist_free(out);
    return r;
}

/* dns_txt - the TXT records of name (see dns.h). */
int
dns_txt(struct dns *d, const char *name, struct dns_txtlist *out)
{
    int r;

    out->txt = NULL;
    out->n = 0;
    r = lookup(d, name, ns_t_txt, NULL, NULL, out);
    if (r != DNS_OK)
        dns_txtlist_free(out);
    return r;
}
