/* SPDX-License-Identifier: ISC */
/*
 * hosts - smtproutes, address literals, MX hosts and the loop check
 * (see hosts.h).
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "hosts.h"
#include "result.h"

/*
 * catsafe - name as qmail-1.03 shows a host name in a result: every byte
 * that is not printable ASCII as '?', so nothing from the envelope can
 * start a line of its own in a log or a bounce.
 */
static int
catsafe(struct bstr *why, const char *name)
{
    for (; *name; name++) {
        unsigned char c = (unsigned char)*name;

        if (bstr_catc(why, c < 33 || c > 126 ? '?' : (char)c) == -1)
            return -1;
    }
    return 0;
}

/*
 * fail - set why to qmail-1.03's text for a lookup failure of name:
 * r is DNS_PERM (the name does not exist), HOSTS_NULLMX (RFC 7505), or
 * anything else (DNS_TEMP, or no address at all), temporary.  The
 * resolver's reason is not added: qmail-1.03's texts are one line.
 */
static enum outcome_kind
fail(struct bstr *why, int r, const char *name)
{
    enum result_reason rs = r == DNS_PERM       ? RS_HOST_NONE
                            : r == HOSTS_NULLMX ? RS_HOST_NULLMX
                                                : RS_HOST_TEMP;
    struct bstr safe = BSTR_INIT;
    int ok;

    bstr_truncate(why, 0);
    if (rs == RS_HOST_TEMP)
        ok = result_line(why, rs, RESULT_NOARGS) == 0;
    else
        ok = catsafe(&safe, name) == 0 &&
             result_line(why, rs, RESULT_ARGS(safe.s ? safe.s : "")) == 0;
    bstr_free(&safe);
    if (!ok) {
        bstr_truncate(why, 0);
        return OUTCOME_TEMP;
    }
    return result_get(rs)->kind;
}

/* add - one candidate; unusable and repeated addresses are left out. */
static void
add(struct hosts *h, const struct ipaddr *ip, unsigned pref, const char *name)
{
    struct ipaddr a = *ip;

    ipaddr_unmap(&a);
    if (a.family != AF_INET && a.family != AF_INET6)
        return;
    for (size_t i = 0; i < h->n; i++)
        if (ipaddr_equal(&h->a[i].ip, &a))
            return;
    if (h->n < HOSTS_MAX) {
        h->a[h->n].ip = a;
        h->a[h->n].pref = pref;
        if (strlen(name) <= HOSTS_NAME_MAX)
            strcpy(h->a[h->n].name, name);
        else
            h->a[h->n].name[0] = '\0';
        h->n++;
    }
}

/*
 * lookup_ip - add the addresses of name at pref.  Returns the DNS result;
 * DNS_OK with nothing added when it has no address.
 */
static int
lookup_ip(const struct hosts_resolver *res, const char *name, unsigned pref,
          struct hosts *h, struct bstr *err)
{
    struct ipaddr *ips = NULL;
    size_t n = 0;
    int r = res->ip(res->ctx, name, &ips, &n, err);

    if (r == DNS_OK)
        for (size_t i = 0; i < n; i++)
            add(h, &ips[i], pref, name);
    free(ips);
    return r;
}

/* relay - the addresses of an smtproutes relay. */
static enum outcome_kind
relay(const struct route_entry *e, const struct hosts_resolver *res,
      struct hosts *h, struct bstr *why)
{
    struct bstr err = BSTR_INIT;
    enum outcome_kind k = OUTCOME_OK;
    int r;

    h->relay = true;
    if (e->kind == ROUTE_LITERAL) {
        add(h, &e->ip, 0, "");
        return OUTCOME_OK;
    }
    r = lookup_ip(res, e->relay, 0, h, &err);
    if (r != DNS_OK || h->n == 0)
        k = fail(why, r, e->relay);
    bstr_free(&err);
    return k;
}

/*
 * mx - the MX hosts' addresses, or the implicit MX.  A host whose lookup
 * fails is skipped; *tempbelow receives the best preference whose lookup
 * failed temporarily (so the loop check never decides on partial facts).
 */
static enum outcome_kind
mx(const char *domain, const struct hosts_resolver *res, struct hosts *h,
   unsigned *tempbelow, struct bstr *why)
{
    struct bstr err = BSTR_INIT;
    struct hosts_mx *list = NULL;
    size_t n = 0;
    bool temp = false;
    enum outcome_kind k = OUTCOME_OK;
    int r = res->mx(res->ctx, domain, &list, &n, &err);

    *tempbelow = ~0u;
    if (r != DNS_OK) {
        k = fail(why, r, domain);
    } else if (n == 0) {
        r = lookup_ip(res, domain, 0, h, &err);
        if (r != DNS_OK || h->n == 0)
            k = fail(why, r, domain);
    } else {
        for (size_t i = 0; i < n && i < HOSTS_MX_MAX; i++) {
            bstr_truncate(&err, 0);
            r = lookup_ip(res, list[i].name, list[i].pref, h, &err);
            if (r == DNS_TEMP) {
                temp = true;
                if (list[i].pref < *tempbelow)
                    *tempbelow = list[i].pref;
            }
        }
        if (h->n == 0)
            k = fail(why, temp ? DNS_TEMP : DNS_OK, domain);
    }
    free(list);
    bstr_free(&err);
    return k;
}

/* sort - stable by preference (the resolver's order within one). */
static void
sort(struct hosts *h)
{
    for (size_t i = 1; i < h->n; i++) {
        struct hosts_addr a = h->a[i];
        size_t j = i;

        for (; j > 0 && h->a[j - 1].pref > a.pref; j--)
            h->a[j] = h->a[j - 1];
        h->a[j] = a;
    }
}

/*
 * hosts_find - the candidates for domain (lower case) into out.  Returns
 * OUTCOME_OK, or OUTCOME_TEMP / OUTCOME_PERM with qmail's text in why
 * (ending in a newline; empty only when out of memory).
 */
enum outcome_kind
hosts_find(const char *domain, const struct routes *rt, const struct ipme *me,
           const struct hosts_resolver *res, struct hosts *out,
           struct bstr *why)
{
    const struct route_entry *e = routes_match(rt, domain);
    unsigned prefme = ~0u, tempbelow = ~0u;
    enum outcome_kind k;
    struct ipaddr lit;
    size_t keep = 0;

    memset(out, 0, sizeof *out);
    out->port = e && e->port ? e->port : ROUTES_PORT;
    if (e && e->kind != ROUTE_MX)
        return relay(e, res, out, why);
    if (domain[0] == '[') {
        if (!routes_scan_literal(domain, strlen(domain), &lit))
            return fail(why, DNS_PERM, domain);
        add(out, &lit, 0, "");
    } else {
        k = mx(domain, res, out, &tempbelow, why);
        if (k != OUTCOME_OK)
            return k;
        sort(out);
    }
    for (size_t i = 0; i < out->n; i++)
        if (out->a[i].pref < prefme && ipme_is(me, &out->a[i].ip))
            prefme = out->a[i].pref;
    for (size_t i = 0; i < out->n; i++)
        if (out->a[i].pref < prefme)
            out->a[keep++] = out->a[i];
    out->n = keep;
    if (out->n)
        return OUTCOME_OK;
    if (tempbelow < prefme)
        return fail(why, DNS_TEMP, domain);
    bstr_truncate(why, 0);
    if (result_line(why, RS_MX_LOOP, RESULT_NOARGS) == -1) {
        bstr_truncate(why, 0);
        return OUTCOME_TEMP;
    }
    return result_get(RS_MX_LOOP)->kind;
}
