/* SPDX-License-Identifier: ISC */
/*
 * dnsbl - blocklist sites and parallel A lookups (see dnsbl.h).
 *
 * All the queries of a connection go out at once on one UDP socket per
 * address family; dnsbl_poll waits on those sockets for whichever
 * answer comes next and resends a query to the next server when its
 * try_ms are up.  A datagram is believed only when it comes from a
 * server its query was sent to and dnsexch.c's checks say it answers
 * that query (id, response bit, question); anything else is dropped
 * unread.  Queries are sent without EDNS0: an A answer of a blocklist
 * is a few records, far under 512 bytes.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "datetime.h"
#include "deadline.h"
#include "dnsbl.h"
#include "dnsint.h"

#define BUF_MAX 4096 /* a datagram larger is not an answer we asked for */
#define DRAIN_MAX 64 /* datagrams read per wake-up */

struct dnsbl_query {
    struct dns_exch x;           /* the query's bytes (q, qlen, qend) */
    char name[DNS_NAME_MAX + 1];
    enum dnsbl_state st;
    unsigned char addr[DNSBL_ADDRS_MAX][4];
    size_t naddr;
    unsigned tries;              /* sends so far */
    unsigned sent;               /* bit i: sent to server i */
    long long next;              /* when the current try is up */
    char why[200];
    unsigned refs;               /* dnsbl_adds not dropped; 0: a free place */
};

/* ---- the sites ---------------------------------------------------------- */

static bool
digit(char c)
{
    return c >= '0' && c <= '9';
}

/* number - exactly a decimal 0..255 of 1 to 3 digits. */
static bool
number(const char *s, size_t len, unsigned *v)
{
    unsigned n = 0;

    if (len == 0 || len > 3)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!digit(s[i]))
            return false;
        n = n * 10 + (unsigned)(s[i] - '0');
    }
    if (n > 255)
        return false;
    *v = n;
    return true;
}

static void
set_range(unsigned char bits[32], unsigned lo, unsigned hi)
{
    for (unsigned v = lo; v <= hi; v++)
        bits[v >> 3] |= (unsigned char)(1u << (v & 7));
}

/*
 * octet - one element of a filter: a number, or "[item;item...]" where an
 * item is a number or a range n..m with n <= m.
 */
static bool
octet(const char *s, size_t len, unsigned char bits[32], const char **why)
{
    unsigned lo, hi;

    memset(bits, 0, 32);
    if (len && s[0] != '[') {
        if (!number(s, len, &lo))
            return *why = "a filter octet is not a number 0..255", false;
        set_range(bits, lo, lo);
        return true;
    }
    if (len < 3 || s[len - 1] != ']')
        return *why = "a filter's [ has no ] or nothing inside", false;
    s++;
    len -= 2;
    while (len) {
        const char *semi = memchr(s, ';', len);
        size_t n = semi ? (size_t)(semi - s) : len;
        const char *dots = NULL;

        for (size_t i = 0; i + 1 < n; i++)
            if (s[i] == '.' && s[i + 1] == '.') {
                dots = s + i;
                break;
            }
        if (dots) {
            if (!number(s, (size_t)(dots - s), &lo) ||
                !number(dots + 2, n - (size_t)(dots + 2 - s), &hi))
                return *why = "a filter range is not n..m with numbers "
                              "0..255",
                       false;
            if (lo > hi)
                return *why = "a filter range n..m has n > m", false;
        } else if (!number(s, n, &lo)) {
            return *why = "a filter list item is not a number 0..255 or "
                          "a range n..m",
                   false;
        } else {
            hi = lo;
        }
        set_range(bits, lo, hi);
        if (!semi)
            break;
        len -= n + 1;
        s = semi + 1;
        if (len == 0)
            return *why = "a filter list ends with ';'", false;
    }
    return true;
}

/* filter - d.d.d.d, the dots inside [] being ranges, not separators. */
static bool
filter(const char *s, size_t len, struct dnsbl_site *out, const char **why)
{
    size_t i = 0, k = 0;

    while (k < 4) {
        size_t start = i;
        int depth = 0;

        while (i < len && (depth || s[i] != '.')) {
            if (s[i] == '[')
                depth++;
            else if (s[i] == ']')
                depth--;
            if (depth < 0 || depth > 1)
                return *why = "a filter has unbalanced [ ]", false;
            i++;
        }
        if (depth)
            return *why = "a filter's [ has no ]", false;
        if (!octet(s + start, i - start, out->filter[k], why))
            return false;
        k++;
        if (k < 4) {
            if (i >= len)
                return *why = "a filter has fewer than four octets", false;
            i++; /* the dot */
        }
    }
    if (i != len)
        return *why = "a filter has more than four octets", false;
    out->filtered = true;
    return true;
}

/*
 * zone - a blocklist's zone into out: a domain name by dns_name_norm's
 * rules (labels of 1 to 63 bytes, at most 253 in all without one
 * trailing dot; lower-cased), of letters, digits, '-' and '_' only, and
 * with a dot.
 */
static bool
zone(const char *s, size_t len, char out[DNS_NAME_MAX + 1], const char **why)
{
    char name[DNS_NAME_MAX + 1];
    size_t n = len && s[len - 1] == '.' ? len - 1 : len;

    if (n == 0)
        return *why = "no zone", false;
    if (n > 253)
        return *why = "the zone is longer than 253 bytes", false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              digit(s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return *why = "the zone holds a character a domain name cannot "
                          "have",
                   false;
    if (!memchr(s, '.', n))
        return *why = "the zone has no dot (a list's zone is a domain like "
                      "zen.example.org)",
               false;
    memcpy(name, s, len); /* len <= 254: n and a dot */
    name[len] = '\0';
    if (!dns_name_norm(name, out))
        return *why = "the zone has an empty label or one longer than 63 "
                      "bytes",
               false;
    return true;
}

/* weight - [+|-]digits, |w| <= DNSBL_WEIGHT_MAX. */
static bool
weight(const char *s, size_t len, int *w, const char **why)
{
    bool neg = false;
    long n = 0;

    if (len && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        s++;
        len--;
    }
    if (len == 0)
        return *why = "no number after '*'", false;
    for (size_t i = 0; i < len; i++) {
        if (!digit(s[i]))
            return *why = "the weight after '*' is not a whole number", false;
        n = n * 10 + (s[i] - '0');
        if (n > DNSBL_WEIGHT_MAX)
            return *why = "the weight is beyond -1000..1000", false;
    }
    *w = neg ? (int)-n : (int)n;
    return true;
}

/* dnsbl_site_parse - "zone[=filter][*weight]" (see dnsbl.h). */
int
dnsbl_site_parse(const char *item, size_t len, struct dnsbl_site *out,
                 const char **why)
{
    const char *eq = memchr(item, '=', len);
    const char *star = memchr(item, '*', len);
    size_t zend = len;

    memset(out, 0, sizeof *out);
    out->weight = 1;
    if (eq && star && star < eq) {
        *why = "'*weight' must come after '=filter'";
        return -1;
    }
    if (eq)
        zend = (size_t)(eq - item);
    else if (star)
        zend = (size_t)(star - item);
    if (!zone(item, zend, out->zone, why))
        return -1;
    if (eq) {
        size_t fend = star ? (size_t)(star - item) : len;

        if (!filter(eq + 1, fend - (size_t)(eq + 1 - item), out, why))
            return -1;
    }
    if (star &&
        !weight(star + 1, len - (size_t)(star + 1 - item), &out->weight, why))
        return -1;
    return 0;
}

/* dnsbl_site_match - every octet of a is one the filter allows. */
bool
dnsbl_site_match(const struct dnsbl_site *site, const unsigned char a[4])
{
    if (!site->filtered)
        return true;
    for (int i = 0; i < 4; i++)
        if (!(site->filter[i][a[i] >> 3] & (1u << (a[i] & 7))))
            return false;
    return true;
}

/* dnsbl_item_next - the next blank- or comma-separated item of a line. */
const char *
dnsbl_item_next(const char *line, size_t linelen, size_t *pos, size_t *len)
{
    size_t i = *pos, start;

    while (i < linelen && (line[i] == ' ' || line[i] == '\t' ||
                           line[i] == ',' || line[i] == '\r'))
        i++;
    if (i >= linelen || line[i] == '#') {
        *pos = linelen;
        return NULL;
    }
    start = i;
    while (i < linelen && line[i] != ' ' && line[i] != '\t' &&
           line[i] != ',' && line[i] != '\r' && line[i] != '#')
        i++;
    *pos = i;
    *len = i - start;
    return line + start;
}

/* ---- the lookups -------------------------------------------------------- */

void
dnsbl_init(struct dnsbl_lookup *l, struct dns *d, unsigned try_ms)
{
    size_t nsrv = d->nsrv < DNS_SERVERS_MAX ? d->nsrv : DNS_SERVERS_MAX;

    memset(l, 0, sizeof *l);
    l->d = d;
    l->fd[0] = l->fd[1] = -1;
    l->try_ms = try_ms ? try_ms : 1000;
    l->maxtries = (unsigned)nsrv * (d->rounds ? d->rounds : 1);
}

static size_t
nsrv(const struct dnsbl_lookup *l)
{
    return l->d->nsrv < DNS_SERVERS_MAX ? l->d->nsrv : DNS_SERVERS_MAX;
}

/* fail - q is done without an answer; prefix goes before its last why. */
static void
fail(struct dnsbl_query *q, const char *prefix, const char *suffix)
{
    char last[sizeof q->why];

    memcpy(last, q->why, sizeof last);
    if (!last[0])
        snprintf(q->why, sizeof q->why, "no DNS server to ask");
    else
        snprintf(q->why, sizeof q->why, "%s%s%s", prefix, last, suffix);
    q->st = DNSBL_FAILED;
}

/*
 * send_try - send q to the next server in turn (skipping servers a send
 * to fails), or fail it when every try is used.  q->why keeps the last
 * server's trouble for the failure's message.
 */
static void
send_try(struct dnsbl_lookup *l, struct dnsbl_query *q)
{
    while (q->st == DNSBL_PENDING) {
        size_t si;
        const struct dns_server *srv;
        struct sockaddr_storage ss;
        socklen_t sl;
        int fam, *fd;
        char name[IPADDR_FMT + 10];

        if (q->tries >= l->maxtries) {
            fail(q, "", "");
            return;
        }
        si = q->tries % nsrv(l);
        srv = &l->d->srv[si];
        q->tries++;
        sl = ipaddr_to_sockaddr(&srv->ip, srv->port, &ss);
        fam = ss.ss_family;
        fd = &l->fd[fam == AF_INET6];
        if (*fd == -1)
            *fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        dns_server_fmt(name, srv);
        if (*fd == -1) {
            snprintf(q->why, sizeof q->why, "%s: unable to create a UDP "
                     "socket: %s", name, strerror(errno));
            continue;
        }
        if (sendto(*fd, q->x.q, q->x.qlen, 0, (struct sockaddr *)&ss, sl) !=
            (ssize_t)q->x.qlen) {
            snprintf(q->why, sizeof q->why, "%s: unable to send the query: %s",
                     name, strerror(errno));
            continue;
        }
        q->sent |= 1u << si;
        q->next = deadline_in(l->try_ms);
        snprintf(q->why, sizeof q->why, "%s: no answer within %u ms", name,
                 l->try_ms);
        return;
    }
}

/* dnsbl_add - start the A lookup of name (see dnsbl.h).  A dropped
 * query's place is reused before q grows, so q never holds more than
 * DNSBL_QUERIES_MAX places. */
long
dnsbl_add(struct dnsbl_lookup *l, const char *name)
{
    char norm[DNS_NAME_MAX + 1];
    struct dnsbl_query *q;
    size_t at = l->n;

    if (!dns_name_norm(name, norm)) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->q[i].refs == 0) {
            if (at == l->n)
                at = i;
        } else if (strcmp(l->q[i].name, norm) == 0) {
            l->q[i].refs++;
            return (long)i;
        }
    }
    if (l->inuse >= DNSBL_QUERIES_MAX) {
        errno = ENOSPC;
        return -1;
    }
    if (at == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        struct dnsbl_query *p = reallocarray(l->q, cap, sizeof *p);

        if (!p)
            return -1;
        l->q = p;
        l->cap = cap;
    }
    q = &l->q[at];
    memset(q, 0, sizeof *q); /* refs 0: still free if the query fails */
    memcpy(q->name, norm, sizeof norm);
    q->st = DNSBL_PENDING;
    if (dns_make_query(l->d, &q->x, q->name, ns_t_a, false) == -1) {
        errno = EINVAL;
        return -1;
    }
    q->refs = 1;
    if (at == l->n)
        l->n++;
    l->inuse++;
    l->made++;
    send_try(l, q);
    return (long)at;
}

/* dnsbl_drop - one user fewer for query i (see dnsbl.h). */
void
dnsbl_drop(struct dnsbl_lookup *l, size_t i)
{
    if (i >= l->n || l->q[i].refs == 0)
        return;
    if (--l->q[i].refs == 0)
        l->inuse--;
}

/* server_trouble - the server at si could not answer q: the next one. */
static void
server_trouble(struct dnsbl_lookup *l, struct dnsbl_query *q, size_t si,
               const char *what)
{
    char name[IPADDR_FMT + 10];

    dns_server_fmt(name, &l->d->srv[si]);
    snprintf(q->why, sizeof q->why, "%s: %s", name, what);
    send_try(l, q);
}

/* answer - a datagram from server si that answers q. */
static void
answer(struct dnsbl_lookup *l, struct dnsbl_query *q, size_t si,
       const unsigned char *a, size_t n)
{
    struct dns_iplist ips = {0};
    struct bstr next = BSTR_INIT;
    int rcode = a[3] & 0x0f, r;

    /* an answer without our question (dns_answer_matches lets one
     * through on its id alone) is only ever a reason to ask again: a
     * forged "no such name" must not clear a listing */
    if (((unsigned)a[4] << 8 | a[5]) != 1) {
        server_trouble(l, q, si, (a[2] & 0x02) ? "truncated answer"
                                               : dns_rcode_text(rcode));
        return;
    }
    if (rcode == ns_r_nxdomain) {
        q->st = DNSBL_NOTLISTED;
        return;
    }
    if (rcode != ns_r_noerror) {
        server_trouble(l, q, si, dns_rcode_text(rcode));
        return;
    }
    r = dns_parse(l->d, a, n, q->name, ns_t_a, &ips, NULL, &next);
    if (r == DNS_OK && ips.n) {
        for (size_t i = 0; i < ips.n && q->naddr < DNSBL_ADDRS_MAX; i++)
            if (ips.ip[i].family == AF_INET)
                memcpy(q->addr[q->naddr++], ips.ip[i].b, 4);
        q->st = q->naddr ? DNSBL_LISTED : DNSBL_NOTLISTED;
    } else if (r == DNS_OK && next.len) {
        server_trouble(l, q, si, "a CNAME leads out of the answer");
    } else if (r == DNS_OK && (a[2] & 0x02)) {
        server_trouble(l, q, si, "truncated answer");
    } else if (r == DNS_OK || r == DNS_PERM) {
        q->st = DNSBL_NOTLISTED;
    } else {
        server_trouble(l, q, si, l->d->err.len ? l->d->err.s
                                               : "malformed answer");
    }
    dns_iplist_free(&ips);
    bstr_free(&next);
}

/* drain - read the datagrams waiting on fd (at most DRAIN_MAX, so that
 * a flood of junk cannot hold us past the deadline), and use those we
 * asked for. */
static void
drain(struct dnsbl_lookup *l, int fd)
{
    unsigned char buf[BUF_MAX];

    for (int got = 0; got < DRAIN_MAX; got++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_TRUNC,
                             (struct sockaddr *)&from, &flen);
        size_t si, k;

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return; /* EAGAIN, or an ICMP error: the try times out */
        if ((size_t)n > sizeof buf)
            continue;
        for (si = 0; si < nsrv(l); si++)
            if (dns_same_peer(&from, flen, &l->d->srv[si]))
                break;
        if (si == nsrv(l))
            continue; /* not a server of ours */
        for (k = 0; k < l->n; k++) {
            struct dnsbl_query *q = &l->q[k];

            if (q->refs && q->st == DNSBL_PENDING && (q->sent & 1u << si) &&
                dns_answer_matches(q->x.q, q->x.qend, buf, (size_t)n)) {
                answer(l, q, si, buf, (size_t)n);
                break;
            }
        }
    }
}

/* dnsbl_poll - gather answers until all are in or deadline (dnsbl.h). */
int
dnsbl_poll(struct dnsbl_lookup *l, long long deadline)
{
    /* answers that came while the session did other things are read
     * before any try is called up and sent again */
    for (int i = 0; i < 2; i++)
        if (l->fd[i] != -1)
            drain(l, l->fd[i]);
    for (;;) {
        long long now = datetime_mono_ms(), until = deadline;
        struct pollfd p[2];
        int np = 0, ms, r;
        bool pending = false;

        for (size_t k = 0; k < l->n; k++) {
            struct dnsbl_query *q = &l->q[k];

            if (q->refs == 0)
                continue; /* dropped: never sent again, nor waited for */
            if (q->st == DNSBL_PENDING && q->next <= now)
                send_try(l, q); /* this try is up: the next server */
            if (q->st != DNSBL_PENDING)
                continue;
            pending = true;
            if (until == DEADLINE_NONE || q->next < until)
                until = q->next;
        }
        if (!pending)
            return 0;
        if (deadline != DEADLINE_NONE && now >= deadline)
            return 0;
        for (int i = 0; i < 2; i++)
            if (l->fd[i] != -1)
                p[np++] = (struct pollfd){.fd = l->fd[i], .events = POLLIN};
        ms = until - now > 60000 ? 60000 : (int)(until - now);
        if (ms < 0)
            ms = 0;
        r = poll(p, (nfds_t)np, ms);
        if (r == -1 && errno != EINTR)
            return -1;
        for (int i = 0; r > 0 && i < np; i++)
            if (p[i].revents)
                drain(l, p[i].fd);
    }
}

/* dnsbl_wait - dnsbl_poll, then what is still pending has failed. */
int
dnsbl_wait(struct dnsbl_lookup *l, long long deadline)
{
    if (dnsbl_poll(l, deadline) == -1)
        return -1;
    for (size_t k = 0; k < l->n; k++)
        if (l->q[k].refs && l->q[k].st == DNSBL_PENDING)
            fail(&l->q[k], "timed out (", ")");
    return 0;
}

enum dnsbl_state
dnsbl_result(const struct dnsbl_lookup *l, size_t i,
             const unsigned char (**addr)[4], size_t *naddr, const char **why)
{
    const struct dnsbl_query *q = &l->q[i];

    if (addr)
        *addr = (const unsigned char (*)[4])q->addr;
    if (naddr)
        *naddr = q->naddr;
    if (why)
        *why = q->why;
    return q->st;
}

const char *
dnsbl_qname(const struct dnsbl_lookup *l, size_t i)
{
    return l->q[i].name;
}

/* dnsbl_free - sockets closed, queries freed. */
void
dnsbl_free(struct dnsbl_lookup *l)
{
    for (int i = 0; i < 2; i++)
        if (l->fd[i] != -1)
            close(l->fd[i]);
    free(l->q);
    l->q = NULL;
    l->n = l->cap = l->inuse = 0;
    l->fd[0] = l->fd[1] = -1;
}
