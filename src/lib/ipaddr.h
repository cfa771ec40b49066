/* SPDX-License-Identifier: ISC */
/*
 * ipaddr - IPv4 and IPv6 addresses: strict text parsing, canonical text,
 * prefix masks, and conversion from and to socket addresses.
 *
 * Text out is canonical: dotted quad for IPv4, RFC 5952 for IPv6 (lower
 * case, no leading zeros, the longest run of two or more zero groups
 * shortened to "::", the first such run on a tie, ::ffff:a.b.c.d for
 * IPv4-mapped addresses).  Text in is strict: no leading zeros in IPv4
 * octets (010 could mean 8 or 10), no zone ids, no surrounding space.
 * Nothing here allocates, exits or logs.
 */
#ifndef IPADDR_H
#define IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Longest text ipaddr_fmt writes, its NUL included. */
#define IPADDR_FMT 46

struct ipaddr {
    int family;         /* AF_INET or AF_INET6 */
    unsigned char b[16]; /* AF_INET: the first 4 bytes */
};

bool ipaddr_scan4(const char *s, size_t len, unsigned char out[4]);
bool ipaddr_scan6(const char *s, size_t len, unsigned char out[16]);
bool ipaddr_scan(const char *s, size_t len, struct ipaddr *ip);
size_t ipaddr_fmt(char *buf, const struct ipaddr *ip);
unsigned ipaddr_bits(const struct ipaddr *ip);
void ipaddr_mask(struct ipaddr *ip, unsigned prefix);
bool ipaddr_unmap(struct ipaddr *ip);
void ipaddr_key16(const struct ipaddr *ip, unsigned char out[16]);
bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);
int ipaddr_from_sockaddr(struct ipaddr *ip, unsigned *port,
                         const struct sockaddr *sa, socklen_t salen)
    __attribute__((warn_unused_result));
socklen_t ipaddr_to_sockaddr(const struct ipaddr *ip, unsigned port,
                             struct sockaddr_storage *ss);

#endif
