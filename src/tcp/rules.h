/* SPDX-License-Identifier: ISC */
/*
 * rules - tcp.smtp access rules: parsing rule lines, expanding them into
 * cdb keys, reading a rule's cdb value, and the lookup order.
 *
 * Shared by tcprules (parse + keys), tcpserver and tcprulescheck (lookup
 * + records).  The cdb value format is ucspi-tcp's, so a cdb built by
 * either tool works with either server: a sequence of NUL-terminated
 * records, "D" deny, "A" allow (ucspi writes no record for allow; both
 * read an unknown record as nothing), "+VAR=value" an environment
 * assignment.  Nothing here does I/O, exits or logs; lookups go through
 * a caller-supplied function, so the order can be tested without a cdb.
 */
#ifndef RULES_H
#define RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "ipaddr.h"

#define RULES_LINE_MAX 65536 /* longest rule line tcprules accepts */
#define RULES_HOST_MAX 253   /* longest host name in "=host" */
#define RULES_INFO_MAX 256   /* longest info before '@' */

enum rules_kind {
    RULES_DEFAULT, /* ""              every client */
    RULES_IP,      /* "1.2.3.4" "::1" one address */
    RULES_PREFIX,  /* "1.2.3." "1."   dotted IPv4 prefix */
    RULES_CIDR,    /* "10.0.0.0/8" "2001:db8::/32" */
    RULES_HOST,    /* "=mx.example"   TCPREMOTEHOST exactly */
    RULES_DOMAIN,  /* "=.example"     TCPREMOTEHOST ends with it */
    RULES_ANYHOST, /* "="             any client with a host name */
    RULES_INFO_IP, /* "joe@1.2.3.4"   TCPREMOTEINFO and address */
    RULES_INFO_HOST, /* "joe@=mx.example" */
};

/*
 * One parsed line.  key is the canonical key; for a range (lo < hi) the
 * keys are key[0..range_at) + each number lo..hi + key[range_at..).
 */
struct rules_line {
    enum rules_kind kind;
    bool deny;
    struct bstr key;
    size_t range_at;
    unsigned lo, hi;
    bool ranged;
    struct bstr data; /* the cdb value */
};

#define RULES_LINE_INIT {RULES_DEFAULT, false, BSTR_INIT, 0, 0, 0, false, \
                         BSTR_INIT}

/* One record of a cdb value. */
struct rules_rec {
    char type;         /* 'A', 'D', '+', or another byte (ignore it) */
    const char *name;  /* '+': the variable, not NUL-terminated */
    size_t namelen;
    const char *value; /* '+': its value, followed by a NUL */
    size_t valuelen;
};

/* The client a lookup is for; host and info NULL when unknown. */
struct rules_client {
    struct ipaddr ip; /* IPv4-mapped addresses already unmapped */
    const char *host; /* lower case, no trailing dot */
    const char *info;
};

/* get - look key up: 1 found (value in val), 0 absent, -1 error. */
typedef int (*rules_get_fn)(void *ctx, const char *key, size_t klen,
                            struct bstr *val);

int rules_parse(struct rules_line *r, const char *line, size_t len,
                const char **why) WUR;
void rules_line_free(struct rules_line *r);
size_t rules_nkeys(const struct rules_line *r);
int rules_key(const struct rules_line *r, size_t i, struct bstr *out) WUR;
int rules_lookup(const struct rules_client *c, rules_get_fn get, void *ctx,
                 struct bstr *key, struct bstr *val) WUR;
int rules_rec_next(const char *data, size_t len, size_t *pos,
                   struct rules_rec *rec);
bool rules_denies(const char *data, size_t len);

#endif
