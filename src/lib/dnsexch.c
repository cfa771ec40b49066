/* SPDX-License-Identifier: ISC */
/*
 * dnsexch - one query and its answer with one server (see dnsint.h).
 *
 * A query is built by res_nmkquery, with a random id and an EDNS0 OPT
 * record added here; it is sent over UDP and its answer awaited against
 * a deadline, over TCP when the answer comes back truncated.  Only an
 * answer from that server's address and port, with the query's id and
 * question, is believed: everything else is dropped unread.  The answer
 * is checked no further here (dnsparse.c does that); what this file
 * guarantees is that it is the answer to our question, at most
 * DNS_ANSWER_MAX bytes, with NOERROR or NXDOMAIN.  All waiting is
 * deadline.c's.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "dnsint.h"
#include "writeall.h"

#define EDNS_PAYLOAD 1232 /* the 2020 DNS flag day's UDP size */
#define OPT_LEN 11        /* an OPT record with no options */
#define HDR_LEN 12

/* dns_random_bytes - fill p from getrandom; a clock-and-pid mix if it fails. */
void
dns_random_bytes(void *p, size_t n)
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

/* dns_random_below - a uniform random number in [0, n), n > 0. */
uint32_t
dns_random_below(uint32_t n)
{
    uint32_t r, limit = UINT32_MAX - UINT32_MAX % n;

    do
        dns_random_bytes(&r, sizeof r);
    while (r >= limit);
    return r % n;
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
 * dns_answer_matches - a is an answer to query q: same id, a response,
 * the same opcode, and the same question (names compared ignoring ASCII
 * case).  An error or truncated answer without a question (how some
 * servers refuse EDNS0) matches on its id alone: it is only ever a
 * reason to ask again, never believed.
 */
bool
dns_answer_matches(const unsigned char *q, size_t qend,
                   const unsigned char *a, size_t alen)
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
        if (dns_lower((char)a[i]) != dns_lower((char)q[i]))
            return false;
    return true;
}

/* dns_same_peer - the address a datagram came from is the server's. */
bool
dns_same_peer(const struct sockaddr_storage *from, socklen_t flen,
              const struct dns_server *s)
{
    struct ipaddr ip;
    unsigned port;

    if (ipaddr_from_sockaddr(&ip, &port, (const struct sockaddr *)from, flen) ==
        -1)
        return false;
    return port == s->port && ipaddr_equal(&ip, &s->ip);
}

static int
why_sys(struct dns_exch *x, const char *what)
{
    int e = errno;

    bstr_truncate(x->why, 0);
    if (bstr_catf(x->why, "%s: %s", what, strerror(e)) == -1)
        bstr_truncate(x->why, 0);
    return 0;
}

static int
why_text(struct dns_exch *x, const char *text)
{
    bstr_truncate(x->why, 0);
    if (bstr_cats(x->why, text) == -1)
        bstr_truncate(x->why, 0);
    return 0;
}

static int
why_timeout(struct dns_exch *x, const char *proto)
{
    bstr_truncate(x->why, 0);
    if ((x->timeout_ms % 1000 ? bstr_catf(x->why, "no %s answer within %u ms",
                                          proto, x->timeout_ms)
                              : bstr_catf(x->why, "no %s answer within %u s",
                                          proto, x->timeout_ms / 1000)) == -1)
        bstr_truncate(x->why, 0);
    return 0;
}

/*
 * udp_ask - send x->q over UDP and wait for a matching answer, ignoring
 * every datagram from elsewhere or for another query.  1 answered, 0
 * failed (x->why says why).
 */
static int
udp_ask(struct dns_exch *x)
{
    struct sockaddr_storage ss, from;
    socklen_t sl = ipaddr_to_sockaddr(&x->srv->ip, x->srv->port, &ss);
    long long deadline = deadline_in(x->timeout_ms);
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

        if (deadline_wait(fd, POLLIN, deadline) == -1) {
            if (errno == ETIMEDOUT)
                why_timeout(x, "UDP");
            else
                why_sys(x, "unable to wait for the answer");
            break;
        }
        n = recvfrom(fd, x->a, DNS_ANSWER_MAX + 1, 0, (struct sockaddr *)&from,
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
        if (!dns_same_peer(&from, flen, x->srv) || (size_t)n > DNS_ANSWER_MAX ||
            !dns_answer_matches(x->q, x->qend, x->a, (size_t)n))
            continue; /* spoofed, stray or late: not our answer */
        x->alen = (size_t)n;
        r = 1;
        break;
    }
out:
    close(fd);
    return r;
}

/* read_all - exactly n bytes before deadline: 1, or 0. */
static int
read_all(struct dns_exch *x, int fd, unsigned char *p, size_t n,
         long long deadline)
{
    while (n) {
        ssize_t r = deadline_read(fd, p, n, deadline);

        if (r == -1 && errno == ETIMEDOUT)
            return why_timeout(x, "TCP");
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
tcp_ask(struct dns_exch *x)
{
    struct sockaddr_storage ss;
    socklen_t sl = ipaddr_to_sockaddr(&x->srv->ip, x->srv->port, &ss);
    long long deadline = deadline_in(x->timeout_ms);
    unsigned char buf[DNS_QUERY_MAX + 2], len[2];
    int fd, r = 0;
    size_t n;

    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1)
        return why_sys(x, "unable to create a TCP socket");
    if (deadline_connect(fd, (struct sockaddr *)&ss, sl, deadline) == -1) {
        if (errno == ETIMEDOUT)
            why_text(x, "timed out connecting over TCP");
        else
            why_sys(x, "unable to connect over TCP");
        goto out;
    }
    buf[0] = (unsigned char)(x->qlen >> 8);
    buf[1] = (unsigned char)x->qlen;
    memcpy(buf + 2, x->q, x->qlen);
    if (write_all_until(fd, buf, x->qlen + 2, deadline) == -1) {
        if (errno == ETIMEDOUT)
            why_timeout(x, "TCP");
        else
            why_sys(x, "unable to send the query over TCP");
        goto out;
    }
    if (!read_all(x, fd, len, 2, deadline))
        goto out;
    n = (size_t)len[0] << 8 | len[1];
    if (!read_all(x, fd, x->a, n, deadline))
        goto out;
    if (!dns_answer_matches(x->q, x->qend, x->a, n)) {
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
 * dns_make_query - name and type into x->q, with a fresh random id, the
 * RD bit, and with edns an OPT record (RFC 6891: root owner, type 41,
 * the UDP payload size as class, TTL 0, no options).  0, or -1.
 */
int
dns_make_query(struct dns *d, struct dns_exch *x, const char *name, int type,
               bool edns)
{
    int n = res_nmkquery(d->res, ns_o_query, name, ns_c_in, type, NULL, 0, NULL,
                         x->q, DNS_QUERY_MAX - OPT_LEN);

    if (n < HDR_LEN)
        return -1;
    x->qlen = (size_t)n;
    dns_random_bytes(x->q, 2);
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
ask(struct dns *d, size_t si, struct dns_exch *x, const char *name, int type)
{
    bool edns = !(d->noedns & 1u << si);
    ns_msg m;
    int rcode;

    if (dns_make_query(d, x, name, type, edns) == -1)
        return why_text(x, "unable to build the query");
    if (!udp_ask(x))
        return 0;
    rcode = x->a[3] & 0x0f;
    if (edns && rcode == ns_r_formerr) {
        /* RFC 6891 7: a server that does not know EDNS0 says FORMERR */
        d->noedns |= 1u << si;
        if (dns_make_query(d, x, name, type, false) == -1)
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
        return why_text(x, dns_rcode_text(rcode));
    if (ns_initparse(x->a, (int)x->alen, &m) == -1)
        return why_text(x, "malformed answer (its counts or names do not "
                           "fit the packet)");
    return 1;
}

/*
 * dns_query - ask each server in turn, d->rounds times, until one answers.
 * DNS_OK with x->a holding the answer and *si the server, or DNS_TEMP
 * with d->err saying what each server did.
 */
int
dns_query(struct dns *d, struct dns_exch *x, const char *name,
          const char *first, int type, size_t *si)
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
        if (bstr_catf(&d->err, "%s lookup of %s", dns_type_text(type), name) ==
                -1 ||
            (strcmp(name, first) != 0 &&
             bstr_catf(&d->err, " (an alias of %s)", first) == -1) ||
            bstr_cats(&d->err, " failed temporarily:") == -1)
            bstr_truncate(&d->err, 0);
        for (size_t i = 0; i < nsrv; i++) {
            char srv[IPADDR_FMT + 10];

            dns_server_fmt(srv, &d->srv[i]);
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
