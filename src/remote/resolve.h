/* SPDX-License-Identifier: ISC */
/*
 * resolve - the resolvers hosts.h can use: the real one on dns.h, and
 * resolve_none, which fails every lookup temporarily (the default until
 * a real one is set up).
 */
#ifndef RESOLVE_H
#define RESOLVE_H

#include "bstr.h"
#include "dns.h"
#include "hosts.h"

void resolve_none(struct hosts_resolver *res);
void resolve_dns(struct hosts_resolver *res, struct dns *d);

#endif
