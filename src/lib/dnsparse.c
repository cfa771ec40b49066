/* SPDX-License-Identifier: ISC */
/*
 * dnsparse - reading one DNS answer (see dns_parse in dns.h), and the
 * names and texts the whole module uses.
 *
 * The answer is hostile input: nothing in it is trusted before it has
 * been through ns_initparse, ns_parserr and dn_expand, which check every
 * count, length and compression pointer, and the checks here (the
 * question is ours, record lengths, names that must be plain host
 * names, CNAME chains that must end and not loop).  A name handed out
 * is a plain lower-case host name of at most DNS_NAME_MAX characters.
 * No network, no clock: this is the part tests/fuzz/fuzz_dns.c drives.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsint.h"

char
dns_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * dns_name_norm - in as a plain domain name: lower case, one trailing dot
 * dropped, labels of 1 to 63 printable characters without the ones that
 * a name's text form escapes (" ( ) ; @ $ \), at most 253 in all.
 * Writes it to out and returns true, or returns false.  Names from
 * answers pass through here too: dn_expand escapes every odd byte with a
 * backslash, so a name with one is refused.
 */
bool
dns_name_norm(const char *in, char out[DNS_NAME_MAX + 1])
{
    size_t len = strlen(in), label = 0;

    if (len && in[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];

        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else {
            if (c <= ' ' || c >= 0x7f || strchr("\"();@$\\", c))
                return false;
            if (++label > 63)
                return false;
        }
        out[i] = dns_lower(c);
    }
    if (label == 0)
        return false;
    out[len] = '\0';
    return true;
}

/* same_name - an owner name from an answer equals canonical name want. */
static bool
same_name(const char *owner, const char *want)
{
    size_t i = 0;

    for (; owner[i] && want[i]; i++)
        if (dns_lower(owner[i]) != want[i])
            return false;
    if (owner[i] == '.' && owner[i + 1] == '\0')
        i++; /* a trailing dot, should a parser leave one */
    return owner[i] == '\0' && want[i] == '\0';
}

/* is_root - the text form of the root name ("" or "."). */
static bool
is_root(const char *s)
{
    return s[0] == '\0' || (s[0] == '.' && s[1] == '\0');
}

const char *
dns_type_text(int type)
{
    switch (type) {
    case ns_t_a:
        return "A";
    case ns_t_aaaa:
        return "AAAA";
    case ns_t_mx:
        return "MX";
    case ns_t_ptr:
        return "PTR";
    case ns_t_cname:
        return "CNAME";
    case ns_t_txt:
        return "TXT";
    }
    return "DNS";
}

const char *
dns_rcode_text(int rcode)
{
    switch (rcode) {
    case ns_r_formerr:
        return "FORMERR (the server could not read the query)";
    case ns_r_servfail:
        return "SERVFAIL (server failure)";
    case ns_r_nxdomain:
        return "NXDOMAIN";
    case ns_r_notimpl:
        return "NOTIMP (query not implemented)";
    case ns_r_refused:
        return "REFUSED (the server refused to answer)";
    }
    return "an unknown error code";
}

/*
 * dns_seterr - d->err = the formatted text; an empty string when even that
 * fails for lack of memory (the caller's outcome still says TEMP).
 */
int
dns_seterr(struct dns *d, int outcome, const char *fmt, ...)
{
    va_list ap;

    bstr_truncate(&d->err, 0);
    va_start(ap, fmt);
    if (bstr_vcatf(&d->err, fmt, ap) == -1)
        bstr_truncate(&d->err, 0);
    va_end(ap);
    return outcome;
}

/* --- results ---------------------------------------------------------- */

/* grow - room for one more element in an array of n (doubling). */
static int
grow(void **arr, size_t n, size_t size)
{
    size_t cap;
    void *p;

    if (n >= 4 && (n & (n - 1)) != 0)
        return 0; /* not a power of two: room is left */
    if (n > 0 && n < 4)
        return 0;
    cap = n ? n * 2 : 4;
    if (cap > SIZE_MAX / size) {
        errno = ENOMEM;
        return -1;
    }
    p = realloc(*arr, cap * size);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    *arr = p;
    return 0;
}

static int
push_ip(struct dns_iplist *l, int family, const unsigned char *b)
{
    void *arr = l->ip;
    struct ipaddr *ip;

    if (grow(&arr, l->n, sizeof *l->ip) == -1)
        return -1;
    l->ip = arr;
    ip = &l->ip[l->n++];
    memset(ip, 0, sizeof *ip);
    ip->family = family;
    memcpy(ip->b, b, family == AF_INET ? 4 : 16);
    return 0;
}

static int
push_name(struct dns_mxlist *l, unsigned pref, const char *name)
{
    void *arr = l->mx;
    char *copy;

    if (grow(&arr, l->n, sizeof *l->mx) == -1)
        return -1;
    l->mx = arr;
    copy = strdup(name);
    if (!copy) {
        errno = ENOMEM;
        return -1;
    }
    l->mx[l->n].pref = pref;
    l->mx[l->n].name = copy;
    l->n++;
    return 0;
}

/*
 * push_txt - one TXT record's rdata (RFC 1035 3.3.14: one or more
 * character-strings, each a length byte and that many bytes) as one
 * text, its strings joined with nothing between them (as RFC 7208 3.3
 * and ucspi-tcp's reader join them).  The bytes are kept as they are,
 * NUL and control characters included: the caller decides what is safe
 * to show.  0, -1 with errno ENOMEM, or 1 when the rdata is malformed
 * (a length running past its end, or no string at all).
 */
static int
push_txt(struct dns_txtlist *l, const unsigned char *rd, size_t rdlen)
{
    struct bstr t = BSTR_INIT;
    void *arr = l->txt;
    size_t i = 0;

    if (rdlen == 0)
        return 1;
    while (i < rdlen) {
        size_t n = rd[i++];

        if (n > rdlen - i) {
            bstr_free(&t);
            return 1;
        }
        if (bstr_catb(&t, rd + i, n) == -1) {
            bstr_free(&t);
            return -1;
        }
        i += n;
    }
    if (grow(&arr, l->n, sizeof *l->txt) == -1) {
        bstr_free(&t);
        return -1;
    }
    l->txt = arr;
    if (!t.s && bstr_ready(&t, 1) == -1) /* an empty text still has s */
        return -1;
    l->txt[l->n++] = t;
    return 0;
}

/* --- parsing ---------------------------------------------------------- */

/*
 * expand_exact - the name at p inside rdata, which must end exactly at
 * the end of the rdata.  0, or -1 when malformed.
 */
static int
expand_exact(const ns_msg *m, const ns_rr *rr, size_t skip,
             char out[NS_MAXDNAME])
{
    const unsigned char *p = ns_rr_rdata(*rr) + skip;
    int n;

    if (ns_rr_rdlen(*rr) <= skip)
        return -1;
    n = dn_expand(ns_msg_base(*m), ns_msg_end(*m), p, out, NS_MAXDNAME);
    if (n < 1 || (size_t)n != ns_rr_rdlen(*rr) - skip)
        return -1;
    return 0;
}

static int
malformed(struct dns *d, const struct dns_chain *c, int type, const char *what)
{
    return dns_seterr(d, DNS_TEMP,
                      "%s lookup of %s failed temporarily: malformed answer%s "
                      "(%s)",
                      dns_type_text(type), c->name[c->n - 1], c->from, what);
}

/* loop - d->err shows the loop "a -> b -> a" from c->name[k]; TEMP. */
static int
loop(struct dns *d, const struct dns_chain *c, size_t k, const char *back)
{
    bstr_truncate(&d->err, 0);
    if (bstr_cats(&d->err, "CNAME lookup failed temporarily: CNAME loop: ") ==
        -1)
        return DNS_TEMP;
    for (size_t j = k; j < c->n; j++)
        if (bstr_catf(&d->err, "%s -> ", c->name[j]) == -1)
            return DNS_TEMP;
    if (bstr_catf(&d->err, "%s%s", back, c->via) == -1)
        bstr_truncate(&d->err, 0);
    return DNS_TEMP;
}

/* follow - extend the chain by the CNAMEs of the answer.  DNS_OK or TEMP. */
static int
follow(struct dns *d, ns_msg *m, struct dns_chain *c, int type)
{
    char target[NS_MAXDNAME], canon[DNS_NAME_MAX + 1];
    int count = ns_msg_count(*m, ns_s_an);

    for (;;) {
        const char *cur = c->name[c->n - 1];
        bool found = false;
        ns_rr rr;

        for (int i = 0; i < count && !found; i++) {
            if (ns_parserr(m, ns_s_an, i, &rr) == -1)
                return malformed(d, c, type, "bad record");
            if (ns_rr_class(rr) != ns_c_in || ns_rr_type(rr) != ns_t_cname ||
                !same_name(ns_rr_name(rr), cur))
                continue;
            if (expand_exact(m, &rr, 0, target) == -1)
                return malformed(d, c, type, "bad CNAME record");
            found = true;
        }
        if (!found)
            return DNS_OK;
        if (!dns_name_norm(target, canon))
            return dns_seterr(d, DNS_TEMP,
                              "CNAME lookup failed temporarily: %s is an alias "
                              "of an invalid name%s",
                              cur, c->via);
        for (size_t k = 0; k < c->n; k++)
            if (strcmp(c->name[k], canon) == 0)
                return loop(d, c, k, canon);
        if (c->n > DNS_CNAME_MAX)
            return dns_seterr(d, DNS_TEMP,
                              "CNAME lookup failed temporarily: more than %d "
                              "CNAME links from %s%s",
                              DNS_CNAME_MAX, c->name[0], c->via);
        memcpy(c->name[c->n++], canon, strlen(canon) + 1);
    }
}

/*
 * collect - the records of type owned by the chain's last name.
 * DNS_OK with *found set to how many there were (kept or not), TEMP
 * (malformed, no memory, only invalid MX hosts) or PERM (null MX).
 */
static int
collect(struct dns *d, ns_msg *m, const struct dns_chain *c, int type,
        struct dns_iplist *ips, struct dns_mxlist *names,
        struct dns_txtlist *txts, size_t *found)
{
    const char *cur = c->name[c->n - 1];
    char target[NS_MAXDNAME], canon[DNS_NAME_MAX + 1];
    int count = ns_msg_count(*m, ns_s_an);
    size_t nullmx = 0, kept = 0;
    ns_rr rr;

    *found = 0;
    for (int i = 0; i < count; i++) {
        unsigned pref = 0;
        int r = 0;

        if (ns_parserr(m, ns_s_an, i, &rr) == -1)
            return malformed(d, c, type, "bad record");
        if (ns_rr_class(rr) != ns_c_in || (int)ns_rr_type(rr) != type ||
            !same_name(ns_rr_name(rr), cur))
            continue;
        ++*found;
        switch (type) {
        case ns_t_a:
        case ns_t_aaaa:
            if (ns_rr_rdlen(rr) != (type == ns_t_a ? 4 : 16))
                return malformed(d, c, type, "address of a wrong length");
            if (ips)
                r = push_ip(ips, type == ns_t_a ? AF_INET : AF_INET6,
                            ns_rr_rdata(rr));
            kept++;
            break;
        case ns_t_mx:
            if (ns_rr_rdlen(rr) < 3 || expand_exact(m, &rr, 2, target) == -1)
                return malformed(d, c, type, "bad MX record");
            pref = ns_get16(ns_rr_rdata(rr));
            /* fall through */
        case ns_t_ptr:
            if (type == ns_t_ptr && expand_exact(m, &rr, 0, target) == -1)
                return malformed(d, c, type, "bad PTR record");
            if (type == ns_t_mx && is_root(target)) {
                nullmx++;
                break;
            }
            if (!dns_name_norm(target, canon))
                break; /* not a host name: nothing can be sent there */
            if (names)
                r = push_name(names, pref, canon);
            kept++;
            break;
        case ns_t_txt:
            if (txts) {
                r = push_txt(txts, ns_rr_rdata(rr), ns_rr_rdlen(rr));
                if (r == 1)
                    return malformed(d, c, type, "bad TXT record");
            }
            kept++;
            break;
        default:
            break;
        }
        if (r == -1)
            return dns_seterr(d, DNS_TEMP,
                              "%s lookup of %s failed temporarily: "
                              "out of memory",
                              dns_type_text(type), cur);
    }
    if (type == ns_t_mx && *found && kept == 0) {
        d->nullmx = nullmx == *found;
        if (d->nullmx)
            return dns_seterr(d, DNS_PERM,
                              "%s accepts no mail: its MX is \".\" "
                              "(null MX, RFC 7505)%s",
                              cur, c->via);
        return dns_seterr(d, DNS_TEMP,
                          "MX lookup of %s failed temporarily: no MX record "
                          "names a valid host%s",
                          cur, c->via);
    }
    return DNS_OK;
}

/*
 * parse_chain - the answer to a query for the chain's last name (see
 * dns_parse); the chain grows by the CNAMEs followed.
 */
static int
parse_chain(struct dns *d, const unsigned char *a, size_t len,
            struct dns_chain *c, int type, struct dns_iplist *ips,
            struct dns_mxlist *names, struct dns_txtlist *txts,
            struct bstr *next)
{
    size_t asked = c->n - 1, found;
    const char *cur;
    ns_msg m;
    ns_rr rr;
    int rcode, r;

    bstr_truncate(next, 0);
    if (len > DNS_ANSWER_MAX || ns_initparse(a, (int)len, &m) == -1)
        return malformed(d, c, type,
                         "its counts or names do not fit the packet");
    if (ns_msg_count(m, ns_s_qd) != 1 ||
        ns_parserr(&m, ns_s_qd, 0, &rr) == -1 ||
        !same_name(ns_rr_name(rr), c->name[asked]) ||
        (int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in)
        return dns_seterr(d, DNS_TEMP,
                          "%s lookup of %s failed temporarily: the answer%s "
                          "is for another question",
                          dns_type_text(type), c->name[asked], c->from);
    rcode = ns_msg_getflag(m, ns_f_rcode);
    if (rcode != ns_r_noerror && rcode != ns_r_nxdomain)
        return dns_seterr(d, DNS_TEMP,
                          "%s lookup of %s failed temporarily: the server "
                          "answered %s%s",
                          dns_type_text(type), c->name[asked],
                          dns_rcode_text(rcode), c->via);
    r = follow(d, &m, c, type);
    if (r != DNS_OK)
        return r;
    r = collect(d, &m, c, type, ips, names, txts, &found);
    if (r != DNS_OK || found)
        return r;
    cur = c->name[c->n - 1];
    if (rcode == ns_r_nxdomain) {
        if (c->n == 1)
            return dns_seterr(d, DNS_PERM, "%s does not exist (NXDOMAIN%s)",
                              cur, c->from);
        return dns_seterr(d, DNS_PERM,
                          "%s, the canonical name of %s, does not exist "
                          "(NXDOMAIN%s)",
                          cur, c->name[0], c->from);
    }
    /* the chain left the answer: its last name must be asked about */
    if (c->n - 1 > asked && bstr_copys(next, cur) == -1)
        return dns_seterr(d, DNS_TEMP,
                          "%s lookup of %s failed temporarily: "
                          "out of memory",
                          dns_type_text(type), cur);
    return DNS_OK;
}

int
dns_parse_chain(struct dns *d, const unsigned char *a, size_t len,
                struct dns_chain *c, int type, struct dns_iplist *ips,
                struct dns_mxlist *names, struct bstr *next)
{
    return parse_chain(d, a, len, c, type, ips, names, NULL, next);
}

/* dns_parse_chain_txt - parse_chain for TXT records. */
int
dns_parse_chain_txt(struct dns *d, const unsigned char *a, size_t len,
                    struct dns_chain *c, struct dns_txtlist *txts,
                    struct bstr *next)
{
    return parse_chain(d, a, len, c, ns_t_txt, NULL, NULL, txts, next);
}

/* dns_txt_rollback - drop the texts appended to l after the first n. */
void
dns_txt_rollback(struct dns_txtlist *l, size_t n)
{
    while (l && l->n > n)
        bstr_free(&l->txt[--l->n]);
}

/* dns_rollback - drop what was appended to the lists after nips, nnames. */
void
dns_rollback(struct dns_iplist *ips, size_t nips, struct dns_mxlist *names,
             size_t nnames)
{
    if (ips)
        ips->n = nips;
    while (names && names->n > nnames)
        free(names->mx[--names->n].name);
}

/* chain_begin - a chain of one name, qname, for a lone answer */
static int
chain_begin(struct dns *d, const char *qname, struct dns_chain *c,
            struct bstr *next)
{
    bstr_truncate(next, 0);
    if (!dns_name_norm(qname, c->name[0]))
        return dns_seterr(d, DNS_PERM, "%.300s is not a valid domain name",
                          qname);
    c->n = 1;
    c->from[0] = c->via[0] = '\0';
    return DNS_OK;
}

/* dns_parse - one answer, without the network (see dns.h). */
int
dns_parse(struct dns *d, const unsigned char *answer, size_t len,
          const char *qname, int type, struct dns_iplist *ips,
          struct dns_mxlist *names, struct bstr *next)
{
    size_t nips = ips ? ips->n : 0, nnames = names ? names->n : 0;
    struct dns_chain c;
    int r = chain_begin(d, qname, &c, next);

    if (r != DNS_OK)
        return r;
    r = dns_parse_chain(d, answer, len, &c, type, ips, names, next);
    if (r != DNS_OK)
        dns_rollback(ips, nips, names, nnames);
    return r;
}

/* dns_parse_txt - one TXT answer, without the network (see dns.h). */
int
dns_parse_txt(struct dns *d, const unsigned char *answer, size_t len,
              const char *qname, struct dns_txtlist *txts, struct bstr *next)
{
    size_t n = txts->n;
    struct dns_chain c;
    int r = chain_begin(d, qname, &c, next);

    if (r != DNS_OK)
        return r;
    r = dns_parse_chain_txt(d, answer, len, &c, txts, next);
    if (r != DNS_OK)
        dns_txt_rollback(txts, n);
    return r;
}
