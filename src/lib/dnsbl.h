/* SPDX-License-Identifier: ISC */
/*
 * dnsbl - DNS blocklists: the sites a server asks (control/dnsbl and
 * control/rhsbl, in Postfix's postscreen_dnsbl_sites syntax) and many A
 * lookups at once, so that all the lists of a connection cost the time
 * of the slowest answer, not the sum of them.
 *
 * A site is "zone[=filter][*weight]": filter is d.d.d.d where each d is
 * a number 0..255 or [list], list being numbers and ranges n..m joined
 * by ';' ("127.0.0.[2..11]", "127.0.[0..255].[4;5]"); without a filter
 * any A record lists.  weight is an integer (default 1, negative for an
 * allow list).  The parser refuses anything else with a reason, and
 * never takes part of an item.
 *
 * The lookups are A queries over UDP (one unconnected socket per address
 * family) to the servers of a struct dns, sent at once by dnsbl_add and
 * gathered by dnsbl_wait against a deadline; an unanswered try goes to
 * the next server after try_ms.  Answers are believed only from a server
 * the query was sent to, with its id and question (dnsexch.c's checks),
 * and parsed with dns_parse.  Nothing here logs or exits.
 */
#ifndef DNSBL_H
#define DNSBL_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "dns.h"

#define DNSBL_WEIGHT_MAX 1000 /* |weight| of one site */
#define DNSBL_ADDRS_MAX 8     /* A records kept of one answer */
#define DNSBL_QUERIES_MAX 256 /* queries of one lookup in use at once */

struct dnsbl_site {
    char zone[DNS_NAME_MAX + 1]; /* lower case, no trailing dot */
    bool filtered;
    unsigned char filter[4][32]; /* bit v of filter[i]: octet i may be v */
    int weight;
};

/*
 * dnsbl_site_parse - one item "zone[=filter][*weight]" of len bytes into
 * out.  0, or -1 with *why saying what is wrong (a constant string).
 */
int dnsbl_site_parse(const char *item, size_t len, struct dnsbl_site *out,
                     const char **why) WUR;

/* dnsbl_site_match - the answer a (an IPv4 address) passes the filter. */
bool dnsbl_site_match(const struct dnsbl_site *site, const unsigned char a[4]);

/*
 * dnsbl_item_next - the next item of a control file line: items are
 * separated by blanks or commas (as Postfix's lists are), '#' starts a
 * comment.  Returns the item's start and *len, or NULL at the line's end;
 * *pos is where to go on.
 */
const char *dnsbl_item_next(const char *line, size_t linelen, size_t *pos,
                            size_t *len);

enum dnsbl_state {
    DNSBL_PENDING,
    DNSBL_LISTED,    /* A records in addr */
    DNSBL_NOTLISTED, /* NXDOMAIN, or no A record */
    DNSBL_FAILED     /* no usable answer: why says why */
};

struct dnsbl_query;

struct dnsbl_lookup {
    struct dns *d;
    int fd[2];          /* IPv4, IPv6 sockets; -1 until needed */
    struct dnsbl_query *q;
    size_t n, cap;      /* places in q (in use or dropped), allocated */
    size_t inuse;       /* queries not dropped, at most DNSBL_QUERIES_MAX */
    unsigned long made; /* queries started, ever (one per new name) */
    unsigned try_ms;    /* before the next server is asked */
    unsigned maxtries;  /* sends of one query in all */
};

/*
 * dnsbl_init - an empty lookup asking d's servers (d must outlive it).
 * try_ms: the wait for one server's answer.  No system call.
 */
void dnsbl_init(struct dnsbl_lookup *l, struct dns *d, unsigned try_ms);

/*
 * dnsbl_add - ask for the A records of name (a query name, e.g. from
 * dnsbl_name), now.  Returns the query's index (the same one again for
 * a name asked and not dropped since: no second query), or -1 with
 * errno (ENOMEM; EINVAL for a name that cannot be asked; ENOSPC with
 * DNSBL_QUERIES_MAX queries in use): then nothing was added.
 * A send that fails is not an error: the query is retried or fails.
 */
long dnsbl_add(struct dnsbl_lookup *l, const char *name) WUR;

/*
 * dnsbl_drop - the caller is done with query i (an index dnsbl_add
 * returned).  A query is dropped when every dnsbl_add that returned its
 * index has been matched by a dnsbl_drop: it is no longer sent, waited
 * for or answered, it no longer counts towards DNSBL_QUERIES_MAX, and a
 * later dnsbl_add may reuse its index.  An index not in use is ignored.
 */
void dnsbl_drop(struct dnsbl_lookup *l, size_t i);

/*
 * dnsbl_wait - gather answers until every query is done or deadline
 * (deadline.h) passes; queries still pending then fail ("timed out").
 * deadline_in(0) only takes what has arrived.  0, or -1 with errno when
 * poll itself fails (the queries stay pending).
 */
int dnsbl_wait(struct dnsbl_lookup *l, long long deadline) WUR;

/* dnsbl_poll - as dnsbl_wait, but a deadline that passes leaves the
 * pending queries pending (for a caller that only looks early). */
int dnsbl_poll(struct dnsbl_lookup *l, long long deadline) WUR;

/* What query i (in use) found: state, its A records (4 bytes each) and
 * a reason. */
enum dnsbl_state dnsbl_result(const struct dnsbl_lookup *l, size_t i,
                              const unsigned char (**addr)[4], size_t *naddr,
                              const char **why);
const char *dnsbl_qname(const struct dnsbl_lookup *l, size_t i);

/* dnsbl_free - close the sockets, free the queries; l may be reused after
 * dnsbl_init. */
void dnsbl_free(struct dnsbl_lookup *l);

#endif
