/* SPDX-License-Identifier: ISC */
/*
 * ipme - the addresses that are this host: an MX pointing at one of them
 * would send the mail back to us, a loop.
 *
 * The set is every address of every interface (getifaddrs: IPv4 and
 * IPv6, loopback included), plus 0.0.0.0 and :: (connecting to them
 * reaches this host), plus control/moreipme, minus control/notipme (the
 * names of Scott Gifford's ipme patch: moreipme for addresses that reach
 * us through NAT or a load balancer, notipme for addresses of ours that
 * belong to another mail system).  Other loopback addresses such as
 * 127.0.0.2 are not in the set unless an interface has them.
 * IPv4-mapped IPv6 addresses compare equal to their IPv4 address.
 */
#ifndef IPME_H
#define IPME_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "ipaddr.h"

#define IPME_MAX 4096

struct ipme {
    struct ipaddr *ip;
    size_t n, cap;
};

void ipme_init(struct ipme *m);
int ipme_add(struct ipme *m, const struct ipaddr *ip) WUR;
int ipme_add_list(struct ipme *m, const struct bstr *list,
                  const char **bad) WUR;
int ipme_interfaces(struct ipme *m) WUR;
int ipme_load(struct ipme *m, const struct bstr *more,
              const struct bstr *notme, const char **bad) WUR;
bool ipme_is(const struct ipme *m, const struct ipaddr *ip);
void ipme_free(struct ipme *m);

#endif
