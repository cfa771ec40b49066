/* SPDX-License-Identifier: ISC */
/*
 * dns - DNS lookups over UDP and TCP (see dns.h).
 *
 * Three steps: a query is built by res_nmkquery, with a random id and an
 * EDNS0 OPT record added here; it is exchanged with one server at a
 * time (UDP against a deadline, TCP when the answer comes back
 * truncated), and only an answer from that server's address and port,
 * with the query's id and question, is believed; the answer is then
 * parsed with ns_initparse, ns_parserr and dn_expand, which check every
 * count, length and compression pointer, and checked again here (record
 * lengths, names that must be plain host names, CNAME chains).  The
 * answer is hostile input: nothing in it is trusted before those checks.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "readfile.h"
#include "fmt.h"

#define EDNS_PAYLOAD 1232 /* the 2020 DNS flag day's UDP size */
#define OPT_LEN 11        /* an OPT record with no options */
#define QUERY_MAX 512     /* a name of 255 bytes fits with room to spare */
#define ANSWER_MAX 65535  /* the most a TCP length prefix can say */
#define FILE_MAX 65536    /* a servers file larger is a mistake */
#define HDR_LEN 12

/*
 * The names of a CNAME chain (name[0] was asked first), and the server
 * that sent the answer being parsed, for messages: from is " from S",
 * via is " (answer from S)", both empty when there is none.
 */
struct chain {
    char name[DNS_CNAME_MAX + 1][DNS_NAME_MAX + 1];
    size_t n;
    char from[IPADDR_FMT + 16];
    char via[IPADDR_FMT + 32];
};

/* random_bytes - fill p from getrandom; a clock-and-pid mix if it fails. */
static void
random_bytes(void *p, size_t n)
{
    unsigned char *b = p;
    size_t got = 0;

    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);

        if (r > 0)
            got += (size_t)r;
        else if (r == -1 && errno == EINTR)
            continue;
        else
            break;
    }
    if (got < n) {
        struct timespec ts;
        uint64_t x;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^
            (uint64_t)getpid() << 44 ^ 0x9e3779b97f4a7c15u;
        for (; got < n; got++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b[got] = (unsigned char)(x >> 24);
        }
    }
}

/* random_below - a uniform random number in [0, n), n > 0. */
static uint32_t
random_below(uint32_t n)
{
    uint32_t r, limit = UINT32_MAX - UINT32_MAX % n;

    do
        random_bytes(&r, sizeof r);
    while (r >= limit);
    return r % n;
}

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * name_norm - in as a plain domain name: lower case, one trailing dot
 * dropped, labels of 1 to 63 printable characters without the ones that
 * a name's text form escapes (" ( ) ; @ $ \), at most 253 in all.
 * Writes it to out and returns true, or returns false.  Names from
 * answers pass through here too: dn_expand escapes every odd byte with a
 * backslash, so a name with one is refused.
 */
static bool
name_norm(const char *in, char out[DNS_NAME_MAX + 1])
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
        out[i] = lower(c);
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
        if (lower(owner[i]) != want[i])
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

static const char *
type_text(int type)
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
    }
    return "DNS";
}

static const char *
rcode_text(int rcode)
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
 * seterr - d->err = the formatted text; an empty string when even that
 * fails for lack of memory (the caller's outcome still says TEMP).
 */
static int
seterr(struct dns *d, int outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
seterr(struct dns *d, int outcome, const char *fmt, ...)
{
    va_list ap;

    bstr_truncate(&d->err, 0);
    va_start(ap, fmt);
    if (bstr_vcatf(&d->err, fmt, ap) == -1)
        bstr_truncate(&d->err, 0);
    va_end(ap);
    return outcome;
}

/* server_fmt - "1.2.3.4", "1.2.3.4:5353", "::1" or "[::1]:5353". */
static void
server_fmt(char buf[IPADDR_FMT + 10], const struct dns_server *s)
{
    char ip[IPADDR_FMT];
    size_t n = ipaddr_fmt(ip, &s->ip), k = 0;

    if (s->port == 53) {
        memcpy(buf, ip, n + 1);
        return;
    }
    if (s->ip.family == AF_INET6)
        buf[k++] = '[';
    memcpy(buf + k, ip, n);
    k += n;
    if (s->ip.family == AF_INET6)
        buf[k++] = ']';
    buf[k++] = ':';
    k += fmt_ull(buf + k, s->port);
    buf[k] = '\0';
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

/* dns_iplist_free - release l's storage; l is left empty. */
void
dns_iplist_free(struct dns_iplist *l)
{
    free(l->ip);
    l->ip = NULL;
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
            size_t r = i + random_below((uint32_t)(k - i + 1));
            struct dns_mx t = l->mx[k];

            l->mx[k] = l->mx[r];
            l->mx[r] = t;
        }
        i = j;
    }
}

/* --- servers ---------------------------------------------------------- */

/* scan_port - exactly a decimal number 1..65535. */
static bool
scan_port(const char *s, size_t len, unsigned *port)
{
    unsigned long u;

    if (len == 0 || len > 5 || scan_ulong(s, len, &u) != len)
        return false;
    if (u == 0 || u > 65535)
        return false;
    *port = (unsigned)u;
    return true;
}

/*
 * scan_server - one dnsservers item: "1.2.3.4", "1.2.3.4:5353", "::1",
 * "[::1]" or "[::1]:5353".  An IPv6 address with a port needs brackets.
 */
static bool
scan_server(const char *s, size_t len, struct dns_server *srv)
{
    const char *colon;

    memset(srv, 0, sizeof *srv);
    srv->port = 53;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        size_t rest;

        if (!close)
            return false;
        srv->ip.family = AF_INET6;
        if (!ipaddr_scan6(s + 1, (size_t)(close - s - 1), srv->ip.b))
            return false;
        rest = len - (size_t)(close + 1 - s);
        if (rest == 0)
            return true;
        return close[1] == ':' && scan_port(close + 2, rest - 1, &srv->port);
    }
    colon = memchr(s, ':', len);
    if (colon && !memchr(colon + 1, ':', len - (size_t)(colon + 1 - s))) {
        srv->ip.family = AF_INET;
        return ipaddr_scan4(s, (size_t)(colon - s), srv->ip.b) &&
               scan_port(colon + 1, len - (size_t)(colon + 1 - s),
                         &srv->port);
    }
    return ipaddr_scan(s, len, &srv->ip);
}

static bool
blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* dns_servers_parse - add the servers text lists (see dns.h). */
int
dns_servers_parse(struct dns *d, const char *text, size_t len,
                  bool resolvconf)
{
    size_t i = 0, lineno = 0;

    while (i < len) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        size_t a = 0, b;
        struct dns_server srv;

        i += n + 1;
        lineno++;
        for (b = 0; b < n; b++)
            if (line[b] == '#' || (resolvconf && line[b] == ';'))
                break;
        while (a < b && blank(line[a]))
            a++;
        while (b > a && blank(line[b - 1]))
            b--;
        if (a == b)
            continue;
        if (resolvconf) {
            /* "nameserver ADDR": anything else configures something else */
            if (b - a < 11 || memcmp(line + a, "nameserver", 10) != 0 ||
                !blank(line[a + 10]))
                continue;
            a += 10;
            while (a < b && blank(line[a]))
                a++;
            memset(&srv, 0, sizeof srv);
            srv.port = 53;
            for (size_t k = a; k < b; k++)
                if (blank(line[k]))
                    b = k;
            if (!ipaddr_scan(line + a, b - a, &srv.ip))
                continue; /* a scoped IPv6 address, or junk: not ours */
        } else if (!scan_server(line + a, b - a, &srv)) {
            errno = EINVAL;
            return seterr(d, -1,
                          "line %zu: \"%.*s\" is not a server address "
                          "(1.2.3.4, 1.2.3.4:port, ::1 or [::1]:port)",
                          lineno, (int)(b - a > 100 ? 100 : b - a),
                          line + a);
        }
        if (d->nsrv < DNS_SERVERS_MAX)
            d->srv[d->nsrv++] = srv;
    }
    return 0;
}

/* dns_init - defaults, and the servers to ask (see dns.h). */
int
dns_init(struct dns *d, const char *serversfile)
{
    struct bstr text = BSTR_INIT;
    int r;

    memset(d, 0, sizeof *d);
    d->timeout_ms = 5000;
    d->rounds = 2;
    d->res = calloc(1, sizeof *d->res);
    if (!d->res) {
        errno = ENOMEM;
        return seterr(d, -1, "out of memory");
    }
    /* res_ninit reads resolv.conf's options; res_nmkquery needs it */
    if (res_ninit(d->res) == -1) {
        free(d->res);
        d->res = NULL;
        errno = ENOMEM;
        return seterr(d, -1, "unable to initialize the resolver library");
    }
    if (serversfile) {
        r = readfile_path(serversfile, &text, FILE_MAX);
        if (r == -1) {
            int e = errno;

            bstr_free(&text);
            seterr(d, -1, "unable to read %s: %s", serversfile, strerror(e));
            errno = e;
            return -1;
        }
        if (r == 1 && dns_servers_parse(d, text.s, text.len, false) == -1) {
            struct bstr why = BSTR_INIT;

            if (bstr_copy(&why, &d->err) == 0)
                seterr(d, -1, "%s %s", serversfile, why.s);
            bstr_free(&why);
            bstr_free(&text);
            errno = EINVAL;
            return -1;
        }
    }
    if (d->nsrv == 0 && readfile_path("/etc/resolv.conf", &text, FILE_MAX) == 1 &&
        dns_servers_parse(d, text.s, text.len, true) == -1)
        d->nsrv = 0; /* cannot happen: resolv.conf lines are skipped */
    bstr_free(&text);
    if (d->nsrv == 0) {
        d->srv[0].ip.family = AF_INET;
        d->srv[0].ip.b[0] = 127;
        d->srv[0].ip.b[3] = 1;
        d->srv[0].port = 53;
        d->nsrv = 1;
    }
    bstr_truncate(&d->err, 0);
    return 0;
}

/* dns_free - release what dns_init took; safe after it failed. */
void
dns_free(struct dns *d)
{
    if (d->res) {
        res_nclose(d->res);
        free(d->res);
        d->res = NULL;
    }
    bstr_free(&d->err);
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
malformed(struct dns *d, const struct chain *c, int type, const char *what)
{
    return seterr(d, DNS_TEMP,
                  "%s lookup of %s failed temporarily: malformed answer%s "
                  "(%s)",
                  type_text(type), c->name[c->n - 1], c->from, what);
}

/* loop - d->err shows the loop "a -> b -> a" from c->name[k]; TEMP. */
static int
loop(struct dns *d, const struct chain *c, size_t k, const char *back)
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
follow(struct dns *d, ns_msg *m, struct chain *c, int type)
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
        if (!name_norm(target, canon))
            return seterr(d, DNS_TEMP,
                          "CNAME lookup failed temporarily: %s is an alias "
                          "of an invalid name%s",
                          cur, c->via);
        for (size_t k = 0; k < c->n; k++)
            if (strcmp(c->name[k], canon) == 0)
                return loop(d, c, k, canon);
        if (c->n > DNS_CNAME_MAX)
            return seterr(d, DNS_TEMP,
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
collect(struct dns *d, ns_msg *m, const struct chain *c, int type,
        struct dns_iplist *ips, struct dns_mxlist *names, size_t *found)
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
            if (!name_norm(target, canon))
                break; /* not a host name: nothing can be sent there */
            if (names)
                r = push_name(names, pref, canon);
            kept++;
            break;
        default:
            break;
        }
        if (r == -1)
            return seterr(d, DNS_TEMP, "%s lookup of %s failed temporarily: "
                                       "out of memory",
                          type_text(type), cur);
    }
    if (type == ns_t_mx && *found && kept == 0) {
        d->nullmx = nullmx == *found;
        if (d->nullmx)
            return seterr(d, DNS_PERM,
                          "%s accepts no mail: its MX is \".\" "
                          "(null MX, RFC 7505)%s",
                          cur, c->via);
        return seterr(d, DNS_TEMP,
                      "MX lookup of %s failed temporarily: no MX record "
                      "names a valid host%s",
                      cur, c->via);
    }
    return DNS_OK;
}

/*
 * parse - the answer to a query for the chain's last name (see
 * dns_parse); the chain grows by the CNAMEs followed.
 */
static int
parse(struct dns *d, const unsigned char *a, size_t len, struct chain *c,
      int type, struct dns_iplist *ips, struct dns_mxlist *names,
      struct bstr *next)
{
    size_t asked = c->n - 1, found;
    const char *cur;
    ns_msg m;
    ns_rr rr;
    int rcode, r;

    bstr_truncate(next, 0);
    if (len > ANSWER_MAX || ns_initparse(a, (int)len, &m) == -1)
        return malformed(d, c, type,
                         "its counts or names do not fit the packet");
    if (ns_msg_count(m, ns_s_qd) != 1 ||
        ns_parserr(&m, ns_s_qd, 0, &rr) == -1 ||
        !same_name(ns_rr_name(rr), c->name[asked]) ||
        (int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in)
        return seterr(d, DNS_TEMP,
                      "%s lookup of %s failed temporarily: the answer%s "
                      "is for another question",
                      type_text(type), c->name[asked], c->from);
    rcode = ns_msg_getflag(m, ns_f_rcode);
    if (rcode != ns_r_noerror && rcode != ns_r_nxdomain)
        return seterr(d, DNS_TEMP,
                      "%s lookup of %s failed temporarily: the server "
                      "answered %s%s",
                      type_text(type), c->name[asked], rcode_text(rcode),
                      c->via);
    r = follow(d, &m, c, type);
    if (r != DNS_OK)
        return r;
    r = collect(d, &m, c, type, ips, names, &found);
    if (r != DNS_OK || found)
        return r;
    cur = c->name[c->n - 1];
    if (rcode == ns_r_nxdomain) {
        if (c->n == 1)
            return seterr(d, DNS_PERM, "%s does not exist (NXDOMAIN%s)", cur,
                          c->from);
        return seterr(d, DNS_PERM,
                      "%s, the canonical name of %s, does not exist "
                      "(NXDOMAIN%s)",
                      cur, c->name[0], c->from);
    }
    /* the chain left the answer: its last name must be asked about */
    if (c->n - 1 > asked && bstr_copys(next, cur) == -1)
        return seterr(d, DNS_TEMP, "%s lookup of %s failed temporarily: "
                                   "out of memory",
                      type_text(type), cur);
    return DNS_OK;
}

/* rollback - drop what was appended to the lists after nips, nnames. */
static void
rollback(struct dns_iplist *ips, size_t nips, struct dns_mxlist *names,
         size_t nnames)
{
    if (ips)
        ips->n = nips;
    while (names && names->n > nnames)
        free(names->mx[--names->n].name);
}

/* dns_parse - one answer, without the network (see dns.h). */
int
dns_parse(struct dns *d, const unsigned char *answer, size_t len,
          const char *qname, int type, struct dns_iplist *ips,
          struct dns_mxlist *names, struct bstr *next)
{
    size_t nips = ips ? ips->n : 0, nnames = names ? names->n : 0;
    struct chain c;
    int r;

    bstr_truncate(next, 0);
    if (!name_norm(qname, c.name[0]))
        return seterr(d, DNS_PERM, "%.300s is not a valid domain name",
                      qname);
    c.n = 1;
    c.from[0] = c.via[0] = '\0';
    r = parse(d, answer, len, &c, type, ips, names, next);
    if (r != DNS_OK)
        rollback(ips, nips, names, nnames);
    return r;
}

/* --- the network ------------------------------------------------------ */

/* now_ms - a monotonic clock in milliseconds. */
static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_fd - poll fd for events until deadline: 1 ready, 0 timeout, -1. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int64_t left = deadline - now_ms();
        int r;

        if (left <= 0)
            return 0;
        r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            return -1;
        if (r > 0)
            return 1;
    }
}

/*
 * question_end - the offset just past the question of our own query
 * (its name is uncompressed), or 0 if it is not there.
 */
static size_t
question_end(const unsigned char *q, size_t qlen)
{
    size_t i = HDR_LEN;

    while (i < qlen && q[i] != 0)
        i += 1 + (size_t)q[i];
    if (i >= qlen || i + 5 > qlen)
        return 0;
    return i + 5;
}

/*
 * answer_matches - a is an answer to query q: same id, a response, the
 * same opcode, and the same question (names compared ignoring ASCII
 * case).  An error or truncated answer without a question (how some
 * servers refuse EDNS0) matches on its id alone: it is only ever a
 * reason to ask again, never believed.
 */
static bool
answer_matches(const unsigned char *q, size_t qend, const unsigned char *a,
               size_t alen)
{
    unsigned qd;
    int rcode;

    if (alen < HDR_LEN || a[0] != q[0] || a[1] != q[1])
        return false;
    if (!(a[2] & 0x80) || (a[2] & 0x78) != (q[2] & 0x78))
        return false;
    qd = (unsigned)a[4] << 8 | a[5];
    rcode = a[3] & 0x0f;
    if (qd == 0)
        return (rcode != ns_r_noerror && rcode != ns_r_nxdomain) ||
               (a[2] & 0x02);
    if (qd != 1 || alen < qend)
        return false;
    for (size_t i = HDR_LEN; i < qend; i++)
        if (lower((char)a[i]) != lower((char)q[i]))
            return false;
    return true;
}

/* same_peer - the address a datagram came from is the server's. */
static bool
same_peer(const struct sockaddr_storage *from, socklen_t flen,
          const struct dns_server *s)
{
    struct ipaddr ip;
    unsigned port;

    if (ipaddr_from_sockaddr(&ip, &port, (const struct sockaddr *)from,
                             flen) == -1)
        return false;
    return port == s->port && ipaddr_equal(&ip, &s->ip);
}

/* The state of one exchange with one server. */
struct exch {
    const struct dns_server *srv;
    unsigned char q[QUERY_MAX];
    size_t qlen, qend;
    unsigned char *a; /* ANSWER_MAX + 1 bytes */
    size_t alen;
    unsigned timeout_ms;
    struct bstr *why; /* what went wrong, for d->err */
};

static int
why_sys(struct exch *x, const char *what)
{
    int e = errno;

    bstr_truncate(x->why, 0);
    if (bstr_catf(x->why, "%s: %s", what, strerror(e)) == -1)
        bstr_truncate(x->why, 0);
    return 0;
}

static int
why_text(struct exch *x, const char *text)
{
    bstr_truncate(x->why, 0);
    if (bstr_cats(x->why, text) == -1)
        bstr_truncate(x->why, 0);
    return 0;
}

static int
why_timeout(struct exch *x, const char *proto)
{
    bstr_truncate(x->why, 0);
    if ((x->timeout_ms % 1000
             ? bstr_catf(x->why, "no %s answer within %u ms", proto,
                         x->timeout_ms)
             : bstr_catf(x->why, "no %s answer within %u s", proto,
                         x->timeout_ms / 1000)) == -1)
        bstr_truncate(x->why, 0);
    return 0;
}

/*
 * udp_ask - send x->q over UDP and wait for a matching answer, ignoring
 * every datagram from elsewhere or for another query.  1 answered, 0
 * failed (x->why says why).
 */
static int
udp_ask(struct exch *x)
{
    struct sockaddr_storage ss, from;
    socklen_t sl = ipaddr_to_sockaddr(&x->srv->ip, x->srv->port, &ss);
    int64_t deadline = now_ms() + x->timeout_ms;
    int fd, r = 0;

    fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1)
        return why_sys(x, "unable to create a UDP socket");
    /* connected: the kernel drops other sources and reports ICMP errors */
    if (connect(fd, (struct sockaddr *)&ss, sl) == -1) {
        why_sys(x, "unable to reach the server");
        goto out;
    }
    if (send(fd, x->q, x->qlen, 0) != (ssize_t)x->qlen) {
        why_sys(x, "unable to send the query");
        goto out;
    }
    for (;;) {
        socklen_t flen = sizeof from;
        ssize_t n;
        int w = wait_fd(fd, POLLIN, deadline);

        if (w == 0) {
            why_timeout(x, "UDP");
            break;
        }
        if (w == -1) {
            why_sys(x, "unable to wait for the answer");
            break;
        }
        n = recvfrom(fd, x->a, ANSWER_MAX + 1, 0, (struct sockaddr *)&from,
                     &flen);
        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            if (errno == ECONNREFUSED) {
                why_text(x, "connection refused (no DNS server at that "
                            "address and port)");
                break;
            }
            why_sys(x, "unable to receive the answer");
            break;
        }
        if (!same_peer(&from, flen, x->srv) || (size_t)n > ANSWER_MAX ||
            !answer_matches(x->q, x->qend, x->a, (size_t)n))
            continue; /* spoofed, stray or late: not our answer */
        x->alen = (size_t)n;
        r = 1;
        break;
    }
out:
    close(fd);
    return r;
}

/* write_all - n bytes to a non-blocking fd before deadline: 1, or 0. */
static int
write_all(struct exch *x, int fd, const unsigned char *p, size_t n,
          int64_t deadline)
{
    while (n) {
        ssize_t w;
        int r = wait_fd(fd, POLLOUT, deadline);

        if (r == 0)
            return why_timeout(x, "TCP");
        if (r == -1)
            return why_sys(x, "unable to wait for the TCP connection");
        w = send(fd, p, n, MSG_NOSIGNAL);
        if (w == -1 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (w <= 0)
            return why_sys(x, "unable to send the query over TCP");
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

/* read_all - exactly n bytes before deadline: 1, or 0. */
static int
read_all(struct exch *x, int fd, unsigned char *p, size_t n,
         int64_t deadline)
{
    while (n) {
        ssize_t r;
        int w = wait_fd(fd, POLLIN, deadline);

        if (w == 0)
            return why_timeout(x, "TCP");
        if (w == -1)
            return why_sys(x, "unable to wait for the TCP answer");
        r = recv(fd, p, n, 0);
        if (r == -1 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r == -1)
            return why_sys(x, "unable to read the TCP answer");
        if (r == 0)
            return why_text(x, "the server closed the TCP connection "
                               "before answering");
        p += r;
        n -= (size_t)r;
    }
    return 1;
}

/*
 * tcp_ask - send x->q over TCP (RFC 7766: two length bytes, then the
 * message) and read the answer, which must match.  1, or 0 (x->why).
 */
static int
tcp_ask(struct exch *x)
{
    struct sockaddr_storage ss;
    socklen_t sl = ipaddr_to_sockaddr(&x->srv->ip, x->srv->port, &ss);
    int64_t deadline = now_ms() + x->timeout_ms;
    unsigned char buf[QUERY_MAX + 2], len[2];
    int fd, r = 0, err = 0;
    socklen_t elen = sizeof err;
    size_t n;

    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1)
        return why_sys(x, "unable to create a TCP socket");
    if (connect(fd, (struct sockaddr *)&ss, sl) == -1) {
        if (errno != EINPROGRESS) {
            why_sys(x, "unable to connect over TCP");
            goto out;
        }
        r = wait_fd(fd, POLLOUT, deadline);
        if (r == 0) {
            why_text(x, "timed out connecting over TCP");
            goto out;
        }
        r = 0;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
            err = errno;
        if (err) {
            errno = err;
            why_sys(x, "unable to connect over TCP");
            goto out;
        }
    }
    buf[0] = (unsigned char)(x->qlen >> 8);
    buf[1] = (unsigned char)x->qlen;
    memcpy(buf + 2, x->q, x->qlen);
    if (!write_all(x, fd, buf, x->qlen + 2, deadline) ||
        !read_all(x, fd, len, 2, deadline))
        goto out;
    n = (size_t)len[0] << 8 | len[1];
    if (!read_all(x, fd, x->a, n, deadline))
        goto out;
    if (!answer_matches(x->q, x->qend, x->a, n)) {
        why_text(x, "the TCP answer does not match the query");
        goto out;
    }
    x->alen = n;
    r = 1;
out:
    close(fd);
    return r;
}

/*
 * make_query - name and type into x->q, with a fresh random id, the RD
 * bit, and with edns an OPT record (RFC 6891: root owner, type 41, the
 * UDP payload size as class, TTL 0, no options).  0, or -1.
 */
static int
make_query(struct dns *d, struct exch *x, const char *name, int type,
           bool edns)
{
    int n = res_nmkquery(d->res, ns_o_query, name, ns_c_in, type, NULL, 0,
                         NULL, x->q, QUERY_MAX - OPT_LEN);

    if (n < HDR_LEN)
        return -1;
    x->qlen = (size_t)n;
    random_bytes(x->q, 2);
    x->q[2] |= 0x01; /* RD: we ask a recursive resolver */
    x->q[10] = 0;
    x->q[11] = 0;
    if (edns) {
        static const unsigned char opt[OPT_LEN] = {
            0, 0, 41, EDNS_PAYLOAD >> 8, EDNS_PAYLOAD & 0xff, 0, 0, 0, 0, 0, 0};

        memcpy(x->q + x->qlen, opt, OPT_LEN);
        x->qlen += OPT_LEN;
        x->q[11] = 1; /* ARCOUNT */
    }
    x->qend = question_end(x->q, x->qlen);
    return x->qend ? 0 : -1;
}

/*
 * ask - one server: UDP, without EDNS0 if it refuses it, then TCP if the
 * answer is truncated.  1 with an answer that says NOERROR or NXDOMAIN
 * and parses, or 0 with x->why set.
 */
static int
ask(struct dns *d, size_t si, struct exch *x, const char *name, int type)
{
    bool edns = !(d->noedns & 1u << si);
    ns_msg m;
    int rcode;

    if (make_query(d, x, name, type, edns) == -1)
        return why_text(x, "unable to build the query");
    if (!udp_ask(x))
        return 0;
    rcode = x->a[3] & 0x0f;
    if (edns && rcode == ns_r_formerr) {
        /* RFC 6891 7: a server that does not know EDNS0 says FORMERR */
        d->noedns |= 1u << si;
        if (make_query(d, x, name, type, false) == -1)
            return why_text(x, "unable to build the query");
        if (!udp_ask(x))
            return 0;
    }
    if (x->a[2] & 0x02) {
        struct bstr *why = x->why;

        if (!tcp_ask(x)) {
            struct bstr tmp = BSTR_INIT;

            if (bstr_copy(&tmp, why) == 0) {
                bstr_truncate(why, 0);
                if (bstr_catf(why, "truncated UDP answer, and TCP failed: %s",
                              tmp.s) == -1)
                    bstr_truncate(why, 0);
            }
            bstr_free(&tmp);
            return 0;
        }
        if (x->a[2] & 0x02)
            return why_text(x, "truncated answer over TCP");
    }
    rcode = x->a[3] & 0x0f;
    if (rcode != ns_r_noerror && rcode != ns_r_nxdomain)
        return why_text(x, rcode_text(rcode));
    if (ns_initparse(x->a, (int)x->alen, &m) == -1)
        return why_text(x, "malformed answer (its counts or names do not "
                           "fit the packet)");
    return 1;
}

/*
 * query - ask each server in turn, d->rounds times, until one answers.
 * DNS_OK with x->a holding the answer and *si the server, or DNS_TEMP
 * with d->err saying what each server did.
 */
static int
query(struct dns *d, struct exch *x, const char *name, const char *first,
      int type, size_t *si)
{
    struct bstr why[DNS_SERVERS_MAX];
    unsigned rounds = d->rounds ? d->rounds : 1;
    size_t nsrv = d->nsrv < DNS_SERVERS_MAX ? d->nsrv : DNS_SERVERS_MAX;
    int r = DNS_TEMP;

    for (size_t i = 0; i < DNS_SERVERS_MAX; i++)
        why[i] = (struct bstr)BSTR_INIT;
    for (unsigned round = 0; round < rounds && r != DNS_OK; round++) {
        for (size_t i = 0; i < nsrv; i++) {
            x->srv = &d->srv[i];
            x->why = &why[i];
            x->timeout_ms = d->timeout_ms ? d->timeout_ms : 5000;
            if (ask(d, i, x, name, type)) {
                *si = i;
                r = DNS_OK;
                break;
            }
        }
    }
    if (r != DNS_OK) {
        bstr_truncate(&d->err, 0);
        if (bstr_catf(&d->err, "%s lookup of %s", type_text(type), name) ==
                -1 ||
            (strcmp(name, first) != 0 &&
             bstr_catf(&d->err, " (an alias of %s)", first) == -1) ||
            bstr_cats(&d->err, " failed temporarily:") == -1)
            bstr_truncate(&d->err, 0);
        for (size_t i = 0; i < nsrv; i++) {
            char srv[IPADDR_FMT + 10];

            server_fmt(srv, &d->srv[i]);
            if (bstr_catf(&d->err, "%s %s: %s", i ? ";" : "", srv,
                          why[i].len ? why[i].s : "no answer") == -1)
                break;
        }
        if (nsrv == 0 && bstr_cats(&d->err, " no DNS server to ask") == -1)
            bstr_truncate(&d->err, 0);
    }
    for (size_t i = 0; i < DNS_SERVERS_MAX; i++)
        bstr_free(&why[i]);
    return r;
}

/*
 * lookup - the records of type for name, asking again along a CNAME
 * chain that leaves an answer.  Appends to ips or names.
 */
static int
lookup(struct dns *d, const char *name, int type, struct dns_iplist *ips,
       struct dns_mxlist *names)
{
    struct chain c;
    struct exch x;
    struct bstr next = BSTR_INIT;
    size_t nips, nnames;
    int r;

    if (!name_norm(name, c.name[0]))
        return seterr(d, DNS_PERM, "%.300s is not a valid domain name", name);
    c.n = 1;
    memset(&x, 0, sizeof x);
    nips = ips ? ips->n : 0;
    nnames = names ? names->n : 0;
    x.a = malloc(ANSWER_MAX + 1);
    if (!x.a)
        return seterr(d, DNS_TEMP, "%s lookup of %s failed temporarily: "
                                   "out of memory",
                      type_text(type), c.name[0]);
    for (;;) {
        char srv[IPADDR_FMT + 10];
        size_t si = 0;

        r = query(d, &x, c.name[c.n - 1], c.name[0], type, &si);
        if (r != DNS_OK)
            break;
        server_fmt(srv, &d->srv[si]);
        snprintf(c.from, sizeof c.from, " from %s", srv);
        snprintf(c.via, sizeof c.via, " (answer from %s)", srv);
        r = parse(d, x.a, x.alen, &c, type, ips, names, &next);
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
    rollback(ips, nips, names, nnames); /* a failed answer's records */
    return r;
}

/* dns_ip - A and/or AAAA records of name (see dns.h). */
int
dns_ip(struct dns *d, const char *name, int family, struct dns_iplist *out)
{
    struct bstr err6 = BSTR_INIT;
    int r6 = DNS_OK, r4 = DNS_OK;

    out->ip = NULL;
    out->n = 0;
    if (family == AF_INET6 || family == AF_UNSPEC) {
        r6 = lookup(d, name, ns_t_aaaa, out, NULL);
        if (family == AF_INET6 || r6 == DNS_PERM)
            goto done; /* NXDOMAIN holds for every type */
        if (r6 != DNS_OK && bstr_copy(&err6, &d->err) == -1)
            bstr_truncate(&err6, 0);
    }
    r4 = lookup(d, name, ns_t_a, out, NULL);
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
    r = lookup(d, domain, ns_t_mx, NULL, out);
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
        return seterr(d, DNS_TEMP, "PTR lookup failed temporarily: "
                                   "out of memory or not an IP address");
    }
    r = lookup(d, name.s, ns_t_ptr, NULL, out);
    bstr_free(&name);
    if (r != DNS_OK)
        dns_mxlist_free(out);
    return r;
}
