/* SPDX-License-Identifier: ISC */
/*
 * dnsint - what the four parts of the dns module share, and nothing
 * outside them includes: dnsservers.c (which servers to ask),
 * dnsparse.c (answers, the fuzzed part, and the names and texts they
 * use), dnsexch.c (one query and its answer over UDP or TCP) and dns.c
 * (the lookups of dns.h, built on the other three); and dnsbl.c, whose
 * many queries at once reuse dnsexch.c's query builder and checks.
 */
#ifndef DNSINT_H
#define DNSINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns.h"

#define DNS_QUERY_MAX 512    /* a name of 255 bytes fits with room to spare */
#define DNS_ANSWER_MAX 65535 /* the most a TCP length prefix can say */

/*
 * The names of a CNAME chain (name[0] was asked first), and the server
 * that sent the answer being parsed, for messages: from is " from S",
 * via is " (answer from S)", both empty when there is none.
 */
struct dns_chain {
    char name[DNS_CNAME_MAX + 1][DNS_NAME_MAX + 1];
    size_t n;
    char from[IPADDR_FMT + 16];
    char via[IPADDR_FMT + 32];
};

/* The state of one exchange with one server. */
struct dns_exch {
    const struct dns_server *srv;
    unsigned char q[DNS_QUERY_MAX];
    size_t qlen, qend;
    unsigned char *a; /* DNS_ANSWER_MAX + 1 bytes */
    size_t alen;
    unsigned timeout_ms;
    struct bstr *why; /* what went wrong, for d->err */
};

/* dnsparse.c: names, texts, answers */
char dns_lower(char c);
bool dns_name_norm(const char *in, char out[DNS_NAME_MAX + 1]);
const char *dns_type_text(int type);
const char *dns_rcode_text(int rcode);
int dns_seterr(struct dns *d, int outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int dns_parse_chain(struct dns *d, const unsigned char *a, size_t len,
                    struct dns_chain *c, int type, struct dns_iplist *ips,
                    struct dns_mxlist *names, struct bstr *next);
void dns_rollback(struct dns_iplist *ips, size_t nips, struct dns_mxlist *names,
                  size_t nnames);
int dns_parse_chain_txt(struct dns *d, const unsigned char *a, size_t len,
                        struct dns_chain *c, struct dns_txtlist *txts,
                        struct bstr *next);
void dns_txt_rollback(struct dns_txtlist *l, size_t n);

/* dnsservers.c */
void dns_server_fmt(char buf[IPADDR_FMT + 10], const struct dns_server *s);

/* dnsexch.c: the network, and the randomness query ids need */
void dns_random_bytes(void *p, size_t n);
uint32_t dns_random_below(uint32_t n);
int dns_query(struct dns *d, struct dns_exch *x, const char *name,
              const char *first, int type, size_t *si);
int dns_make_query(struct dns *d, struct dns_exch *x, const char *name,
                   int type, bool edns);
bool dns_answer_matches(const unsigned char *q, size_t qend,
                        const unsigned char *a, size_t alen);
bool dns_same_peer(const struct sockaddr_storage *from, socklen_t flen,
                   const struct dns_server *s);

#endif
