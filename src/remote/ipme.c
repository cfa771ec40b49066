/* SPDX-License-Identifier: ISC */
/*
 * ipme - this host's own addresses (see ipme.h).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "grow.h"
#include "ipme.h"

/* ipme_init - an empty set. */
void
ipme_init(struct ipme *m)
{
    m->ip = NULL;
    m->n = m->cap = 0;
}

void
ipme_free(struct ipme *m)
{
    free(m->ip);
    ipme_init(m);
}

/* ipme_is - whether ip is one of ours. */
bool
ipme_is(const struct ipme *m, const struct ipaddr *ip)
{
    for (size_t i = 0; i < m->n; i++)
        if (ipaddr_equal(&m->ip[i], ip))
            return true;
    return false;
}

/* ipme_add - one more address (duplicates are skipped).  0 or -1. */
int
ipme_add(struct ipme *m, const struct ipaddr *ip)
{
    struct ipaddr a = *ip;

    ipaddr_unmap(&a);
    if (ipme_is(m, &a))
        return 0;
    if (m->n == m->cap && m->n >= IPME_MAX) {
        errno = E2BIG;
        return -1;
    }
    if (grow(&m->ip, &m->cap, m->n + 1, sizeof *m->ip, 16) == -1)
        return -1;
    m->ip[m->n++] = a;
    return 0;
}

/*
 * ipme_add_list - the addresses of a ctl list, one per line.  Returns 0;
 * -1 with errno EINVAL and *bad naming the line that is not an address,
 * or another errno.
 */
int
ipme_add_list(struct ipme *m, const struct bstr *list, const char **bad)
{
    for (const char *p = ctl_list_next(list, NULL); p;
         p = ctl_list_next(list, p)) {
        struct ipaddr ip;

        if (!ipaddr_scan(p, strlen(p), &ip)) {
            *bad = p;
            errno = EINVAL;
            return -1;
        }
        if (ipme_add(m, &ip) == -1)
            return -1;
    }
    return 0;
}

/* ipme_interfaces - add every interface's IPv4 and IPv6 addresses. */
int
ipme_interfaces(struct ipme *m)
{
    struct ifaddrs *ifa, *i;

    if (getifaddrs(&ifa) == -1)
        return -1;
    for (i = ifa; i; i = i->ifa_next) {
        struct ipaddr ip;
        socklen_t len;

        if (!i->ifa_addr)
            continue;
        if (i->ifa_addr->sa_family == AF_INET)
            len = sizeof(struct sockaddr_in);
        else if (i->ifa_addr->sa_family == AF_INET6)
            len = sizeof(struct sockaddr_in6);
        else
            continue;
        if (ipaddr_from_sockaddr(&ip, NULL, i->ifa_addr, len) == -1)
            continue;
        if (ipme_add(m, &ip) == -1) {
            freeifaddrs(ifa);
            return -1;
        }
    }
    freeifaddrs(ifa);
    return 0;
}

/*
 * ipme_load - the whole set: interfaces, the unspecified addresses, more,
 * then every address of notme taken out.  Returns 0; -1 with errno
 * (EINVAL: *bad is the line of more or notme that is not an address).
 */
int
ipme_load(struct ipme *m, const struct bstr *more, const struct bstr *notme,
          const char **bad)
{
    struct ipme not;
    struct ipaddr any4 = {AF_INET, {0}}, any6 = {AF_INET6, {0}};
    size_t k = 0;

    ipme_init(m);
    ipme_init(&not);
    *bad = NULL;
    if (ipme_interfaces(m) == -1 || ipme_add(m, &any4) == -1 ||
        ipme_add(m, &any6) == -1 || ipme_add_list(m, more, bad) == -1 ||
        ipme_add_list(&not, notme, bad) == -1) {
        int e = errno;

        ipme_free(m);
        ipme_free(&not);
        errno = e;
        return -1;
    }
    for (size_t i = 0; i < m->n; i++)
        if (!ipme_is(&not, &m->ip[i]))
            m->ip[k++] = m->ip[i];
    m->n = k;
    ipme_free(&not);
    return 0;
}
