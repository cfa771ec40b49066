/* SPDX-License-Identifier: ISC */
/*
 * test_dns - DNS answers built byte by byte and parsed by dns_parse
 * (compression, CNAME chains and loops, lying counts, truncation, wrong
 * questions, bad records, null MX), MX ordering, reverse names, and the
 * servers files.  No network: the exchange is tested end to end in
 * tests/e2e/test_dns.py.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "harness.h"

/* --- a packet builder ------------------------------------------------- */

struct pkt {
    unsigned char b[8192];
    size_t n;
};

static void
put8(struct pkt *p, unsigned v)
{
    if (p->n < sizeof p->b)
        p->b[p->n++] = (unsigned char)v;
}

static void
put16(struct pkt *p, unsigned v)
{
    put8(p, v >> 8);
    put8(p, v & 0xff);
}

static void
put32(struct pkt *p, unsigned long v)
{
    put16(p, (unsigned)(v >> 16));
    put16(p, (unsigned)(v & 0xffff));
}

/* name - a text name as uncompressed labels, ending with the root unless
 * the text ends in '+' (then a pointer is to follow).  Its offset. */
static size_t
name(struct pkt *p, const char *text)
{
    size_t at = p->n;
    const char *s = text;

    while (*s && *s != '+') {
        const char *dot = strchr(s, '.');
        const char *end = dot ? dot : s + strlen(s);

        if (end > s && end[-1] == '+')
            end--;
        put8(p, (unsigned)(end - s));
        for (const char *c = s; c < end; c++)
            put8(p, (unsigned char)*c);
        s = *end == '.' ? end + 1 : end;
    }
    if (*s != '+')
        put8(p, 0);
    return at;
}

static void
ptr(struct pkt *p, size_t off)
{
    put16(p, 0xc000 | (unsigned)off);
}

/* header - id 0x1234, a response with RD and RA, the counts given. */
static void
header(struct pkt *p, unsigned rcode, unsigned qd, unsigned an, unsigned ns,
       unsigned ar)
{
    p->n = 0;
    put16(p, 0x1234);
    put16(p, 0x8180 | rcode);
    put16(p, qd);
    put16(p, an);
    put16(p, ns);
    put16(p, ar);
}

static size_t
question(struct pkt *p, const char *qname, unsigned type)
{
    size_t at = name(p, qname);

    put16(p, type);
    put16(p, ns_c_in);
    return at;
}

/* rr - the fixed part of a record after its owner; returns where rdlength
 * goes, for rdend. */
static size_t
rr(struct pkt *p, unsigned type, unsigned class)
{
    size_t at;

    put16(p, type);
    put16(p, class);
    put32(p, 300);
    at = p->n;
    put16(p, 0);
    return at;
}

static void
rdend(struct pkt *p, size_t at)
{
    size_t len = p->n - at - 2;

    p->b[at] = (unsigned char)(len >> 8);
    p->b[at + 1] = (unsigned char)len;
}

/* rr_name - a record owned by owner (text) whose rdata is a name. */
static void
rr_name(struct pkt *p, const char *owner, unsigned type, const char *target)
{
    size_t at;

    name(p, owner);
    at = rr(p, type, ns_c_in);
    name(p, target);
    rdend(p, at);
}

static void
rr_a(struct pkt *p, const char *owner, unsigned a, unsigned b, unsigned c,
     unsigned d)
{
    size_t at;

    name(p, owner);
    at = rr(p, ns_t_a, ns_c_in);
    put8(p, a);
    put8(p, b);
    put8(p, c);
    put8(p, d);
    rdend(p, at);
}

static void
rr_mx(struct pkt *p, const char *owner, unsigned pref, const char *target)
{
    size_t at;

    name(p, owner);
    at = rr(p, ns_t_mx, ns_c_in);
    put16(p, pref);
    name(p, target);
    rdend(p, at);
}

/* The result of one dns_parse. */
struct res {
    int r;
    struct dns d;
    struct dns_iplist ips;
    struct dns_mxlist names;
    struct bstr next;
};

static void
run(struct res *x, const struct pkt *p, const char *qname, int type)
{
    memset(x, 0, sizeof *x);
    x->r = dns_parse(&x->d, p->b, p->n, qname, type, &x->ips, &x->names,
                     &x->next);
    if (!x->d.err.s)
        CHECK(bstr_copys(&x->d.err, "") == 0);
}

static void
done(struct res *x)
{
    dns_iplist_free(&x->ips);
    dns_mxlist_free(&x->names);
    bstr_free(&x->next);
    bstr_free(&x->d.err);
}

static bool
has(const struct bstr *b, const char *s)
{
    return b->s && strstr(b->s, s) != NULL;
}

static const char *
ipstr(const struct dns_iplist *l, size_t i, char buf[IPADDR_FMT])
{
    if (i >= l->n)
        return "(none)";
    ipaddr_fmt(buf, &l->ip[i]);
    return buf;
}

/* --- answers ---------------------------------------------------------- */

static void
test_a_and_aaaa(void)
{
    struct pkt p;
    struct res x;
    char buf[IPADDR_FMT];
    size_t at;

    header(&p, 0, 1, 2, 0, 0);
    question(&p, "example.test", ns_t_a);
    rr_a(&p, "example.test", 192, 0, 2, 1);
    ptr(&p, 12);
    at = rr(&p, ns_t_a, ns_c_in);
    put32(&p, 0xc0000202);
    rdend(&p, at);
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.ips.n, 2);
    CHECK_STR(ipstr(&x.ips, 0, buf), "192.0.2.1");
    CHECK_STR(ipstr(&x.ips, 1, buf), "192.0.2.2");
    CHECK_INT(x.next.len, 0);
    done(&x);

    header(&p, 0, 1, 1, 0, 0);
    question(&p, "example.test", ns_t_aaaa);
    ptr(&p, 12);
    at = rr(&p, ns_t_aaaa, ns_c_in);
    put32(&p, 0x20010db8);
    put32(&p, 0);
    put32(&p, 0);
    put32(&p, 1);
    rdend(&p, at);
    run(&x, &p, "Example.Test.", ns_t_aaaa);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.ips.n, 1);
    CHECK_STR(ipstr(&x.ips, 0, buf), "2001:db8::1");
    done(&x);
}

static void
test_mx_compression(void)
{
    struct pkt p;
    struct res x;
    size_t at, mx1;

    header(&p, 0, 1, 3, 0, 0);
    question(&p, "example.test", ns_t_mx);
    /* owner: a pointer to the question; exchange: "mx1" + pointer */
    ptr(&p, 12);
    at = rr(&p, ns_t_mx, ns_c_in);
    put16(&p, 10);
    mx1 = name(&p, "mx1+");
    ptr(&p, 12);
    rdend(&p, at);
    /* exchange entirely a pointer into the first exchange */
    ptr(&p, 12);
    at = rr(&p, ns_t_mx, ns_c_in);
    put16(&p, 20);
    ptr(&p, mx1);
    rdend(&p, at);
    /* upper case owner and exchange, uncompressed */
    rr_mx(&p, "EXAMPLE.test", 5, "MX0.Example.TEST");
    run(&x, &p, "example.test", ns_t_mx);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.names.n, 3);
    if (x.names.n == 3) {
        CHECK_STR(x.names.mx[0].name, "mx1.example.test");
        CHECK_INT(x.names.mx[0].pref, 10);
        CHECK_STR(x.names.mx[1].name, "mx1.example.test");
        CHECK_INT(x.names.mx[1].pref, 20);
        CHECK_STR(x.names.mx[2].name, "mx0.example.test");
        CHECK_INT(x.names.mx[2].pref, 5);
    }
    done(&x);
}

static void
test_cname_chain_inside(void)
{
    struct pkt p;
    struct res x;
    char buf[IPADDR_FMT];

    /* the records in a scrambled order, as nothing promises one */
    header(&p, 0, 1, 3, 0, 0);
    question(&p, "a.test", ns_t_a);
    rr_a(&p, "c.test", 192, 0, 2, 9);
    rr_name(&p, "b.test", ns_t_cname, "C.test.");
    rr_name(&p, "a.test", ns_t_cname, "b.test");
    run(&x, &p, "a.test", ns_t_a);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.ips.n, 1);
    CHECK_STR(ipstr(&x.ips, 0, buf), "192.0.2.9");
    CHECK_INT(x.next.len, 0);
    done(&x);
}

static void
test_cname_leaves_answer(void)
{
    struct pkt p;
    struct res x;

    header(&p, 0, 1, 2, 0, 0);
    question(&p, "a.test", ns_t_mx);
    rr_name(&p, "a.test", ns_t_cname, "b.test");
    rr_name(&p, "b.test", ns_t_cname, "elsewhere.example");
    run(&x, &p, "a.test", ns_t_mx);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.names.n, 0);
    CHECK_BSTR(x.next, "elsewhere.example");
    done(&x);
}

static void
test_cname_loops(void)
{
    struct pkt p;
    struct res x;

    header(&p, 0, 1, 2, 0, 0);
    question(&p, "a.test", ns_t_a);
    rr_name(&p, "a.test", ns_t_cname, "b.test");
    rr_name(&p, "b.test", ns_t_cname, "A.TEST");
    run(&x, &p, "a.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "CNAME lookup failed temporarily"));
    CHECK(has(&x.d.err, "a.test -> b.test -> a.test"));
    done(&x);

    header(&p, 0, 1, 1, 0, 0);
    question(&p, "self.test", ns_t_mx);
    rr_name(&p, "self.test", ns_t_cname, "self.test");
    run(&x, &p, "self.test", ns_t_mx);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "loop"));
    done(&x);
}

/* chain - links CNAMEs c0 -> c1 -> ... -> c<links>, then an A record. */
static void
chain(struct pkt *p, int links)
{
    header(p, 0, 1, (unsigned)links + 1, 0, 0);
    question(p, "c0.test", ns_t_a);
    for (int i = 0; i < links; i++) {
        char from[16], to[16];

        snprintf(from, sizeof from, "c%d.test", i);
        snprintf(to, sizeof to, "c%d.test", i + 1);
        rr_name(p, from, ns_t_cname, to);
    }
    {
        char last[16];

        snprintf(last, sizeof last, "c%d.test", links);
        rr_a(p, last, 192, 0, 2, 1);
    }
}

static void
test_cname_too_long(void)
{
    struct pkt p;
    struct res x;

    chain(&p, DNS_CNAME_MAX);
    run(&x, &p, "c0.test", ns_t_a);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.ips.n, 1);
    done(&x);

    chain(&p, DNS_CNAME_MAX + 1);
    run(&x, &p, "c0.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "more than 8 CNAME links from c0.test"));
    done(&x);
}

static void
test_lying_counts(void)
{
    struct pkt p;
    struct res x;

    /* three answers announced, one present */
    header(&p, 0, 1, 3, 0, 0);
    question(&p, "example.test", ns_t_a);
    rr_a(&p, "example.test", 192, 0, 2, 1);
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "malformed answer"));
    CHECK_INT(x.ips.n, 0);
    done(&x);

    /* an answer hidden after the counted sections */
    header(&p, 0, 1, 0, 0, 0);
    question(&p, "example.test", ns_t_a);
    rr_a(&p, "example.test", 192, 0, 2, 1);
    run(&x, &p, "example.test", ns_t_a);
    CHECK(x.r == DNS_TEMP || (x.r == DNS_OK && x.ips.n == 0));
    done(&x);

    /* an rdlength running past the end */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, "example.test", ns_t_a);
    ptr(&p, 12);
    rr(&p, ns_t_a, ns_c_in);
    p.b[p.n - 1] = 200;
    put32(&p, 0xc0000201);
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);

    /* 65535 answers announced in a small packet */
    header(&p, 0, 1, 0xffff, 0xffff, 0xffff);
    question(&p, "example.test", ns_t_a);
    rr_a(&p, "example.test", 192, 0, 2, 1);
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);
}

static void
test_truncated_packets(void)
{
    struct pkt p, cut;
    size_t full;

    header(&p, 0, 1, 2, 0, 0);
    question(&p, "example.test", ns_t_mx);
    rr_mx(&p, "example.test", 10, "mx1.example.test");
    rr_mx(&p, "example.test", 20, "mx2.example.test");
    full = p.n;
    for (size_t len = 0; len < full; len++) {
        struct res x;

        memcpy(cut.b, p.b, len);
        cut.n = len;
        run(&x, &cut, "example.test", ns_t_mx);
        if (!CHECK_INT(x.r, DNS_TEMP))
            printf("    accepted a packet cut to %zu of %zu bytes\n", len,
                   full);
        CHECK_INT(x.names.n, 0);
        done(&x);
    }
}

static void
test_wrong_question(void)
{
    struct pkt p;
    struct res x;

    header(&p, 0, 1, 1, 0, 0);
    question(&p, "other.test", ns_t_a);
    rr_a(&p, "other.test", 192, 0, 2, 66);
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "another question"));
    CHECK_INT(x.ips.n, 0);
    done(&x);

    header(&p, 0, 1, 1, 0, 0);
    question(&p, "example.test", ns_t_aaaa);
    rr_a(&p, "example.test", 192, 0, 2, 66);
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);

    header(&p, 0, 0, 1, 0, 0);
    rr_a(&p, "example.test", 192, 0, 2, 66);
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);

    header(&p, 0, 2, 0, 0, 0);
    question(&p, "example.test", ns_t_a);
    question(&p, "example.test", ns_t_a);
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);
}

static void
test_pointer_abuse(void)
{
    struct pkt p;
    struct res x;
    size_t at;

    /* an owner pointing at itself */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, "example.test", ns_t_a);
    ptr(&p, p.n);
    at = rr(&p, ns_t_a, ns_c_in);
    put32(&p, 0xc0000201);
    rdend(&p, at);
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);

    /* two pointers pointing at each other, inside an MX exchange */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, "example.test", ns_t_mx);
    ptr(&p, 12);
    at = rr(&p, ns_t_mx, ns_c_in);
    put16(&p, 10);
    ptr(&p, p.n + 2);
    ptr(&p, p.n - 2);
    rdend(&p, at);
    run(&x, &p, "example.test", ns_t_mx);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);

    /* a pointer past the end */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, "example.test", ns_t_a);
    ptr(&p, 0x3fff);
    at = rr(&p, ns_t_a, ns_c_in);
    put32(&p, 0xc0000201);
    rdend(&p, at);
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);

    /* a label length past the end of the packet */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, "example.test", ns_t_a);
    put8(&p, 63);
    put8(&p, 'x');
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);
}

static void
test_rcodes(void)
{
    struct pkt p;
    struct res x;

    header(&p, ns_r_nxdomain, 1, 0, 0, 0);
    question(&p, "nosuch.test", ns_t_mx);
    run(&x, &p, "nosuch.test", ns_t_mx);
    CHECK_INT(x.r, DNS_PERM);
    CHECK(has(&x.d.err, "nosuch.test does not exist (NXDOMAIN)"));
    done(&x);

    /* NXDOMAIN is about the end of the chain */
    header(&p, ns_r_nxdomain, 1, 1, 0, 0);
    question(&p, "alias.test", ns_t_mx);
    rr_name(&p, "alias.test", ns_t_cname, "gone.test");
    run(&x, &p, "alias.test", ns_t_mx);
    CHECK_INT(x.r, DNS_PERM);
    CHECK(has(&x.d.err, "gone.test, the canonical name of alias.test"));
    CHECK_INT(x.next.len, 0);
    done(&x);

    header(&p, ns_r_noerror, 1, 0, 0, 0);
    question(&p, "nodata.test", ns_t_mx);
    run(&x, &p, "nodata.test", ns_t_mx);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.names.n, 0);
    CHECK_INT(x.next.len, 0);
    done(&x);

    header(&p, ns_r_servfail, 1, 0, 0, 0);
    question(&p, "example.test", ns_t_mx);
    run(&x, &p, "example.test", ns_t_mx);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "SERVFAIL"));
    done(&x);

    header(&p, ns_r_refused, 1, 0, 0, 0);
    question(&p, "example.test", ns_t_mx);
    run(&x, &p, "example.test", ns_t_mx);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "REFUSED"));
    done(&x);
}

static void
test_bad_records(void)
{
    struct pkt p;
    struct res x;
    size_t at;

    /* an A record of 5 bytes */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, "example.test", ns_t_a);
    ptr(&p, 12);
    at = rr(&p, ns_t_a, ns_c_in);
    put32(&p, 0xc0000201);
    put8(&p, 7);
    rdend(&p, at);
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "wrong length"));
    done(&x);

    /* an MX whose rdlength stops inside its name */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, "example.test", ns_t_mx);
    ptr(&p, 12);
    at = rr(&p, ns_t_mx, ns_c_in);
    put16(&p, 10);
    name(&p, "mx.example.test");
    put16(&p, 0); /* two bytes more that the next record would own */
    rdend(&p, at);
    p.b[at + 1] = (unsigned char)(p.b[at + 1] - 4);
    p.n -= 2;
    run(&x, &p, "example.test", ns_t_mx);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);

    /* an MX with a byte after its name */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, "example.test", ns_t_mx);
    ptr(&p, 12);
    at = rr(&p, ns_t_mx, ns_c_in);
    put16(&p, 10);
    name(&p, "mx.example.test");
    put8(&p, 0);
    rdend(&p, at);
    run(&x, &p, "example.test", ns_t_mx);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);

    /* an MX of 2 bytes: a preference and no name */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, "example.test", ns_t_mx);
    ptr(&p, 12);
    at = rr(&p, ns_t_mx, ns_c_in);
    put16(&p, 10);
    rdend(&p, at);
    run(&x, &p, "example.test", ns_t_mx);
    CHECK_INT(x.r, DNS_TEMP);
    done(&x);
}

static void
test_other_owners_and_classes(void)
{
    struct pkt p;
    struct res x;
    size_t at;
    char buf[IPADDR_FMT];

    header(&p, 0, 1, 4, 1, 1);
    question(&p, "example.test", ns_t_a);
    rr_a(&p, "other.test", 192, 0, 2, 66);
    rr_a(&p, "sub.example.test", 192, 0, 2, 67);
    ptr(&p, 12);
    at = rr(&p, ns_t_a, ns_c_chaos);
    put32(&p, 0xc0000244);
    rdend(&p, at);
    rr_a(&p, "example.test", 192, 0, 2, 1);
    rr_a(&p, "example.test", 192, 0, 2, 70); /* authority: not an answer */
    rr_a(&p, "example.test", 192, 0, 2, 71); /* additional */
    run(&x, &p, "example.test", ns_t_a);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.ips.n, 1);
    CHECK_STR(ipstr(&x.ips, 0, buf), "192.0.2.1");
    done(&x);
}

static void
test_null_mx(void)
{
    struct pkt p;
    struct res x;

    header(&p, 0, 1, 1, 0, 0);
    question(&p, "nomail.test", ns_t_mx);
    rr_mx(&p, "nomail.test", 0, "");
    run(&x, &p, "nomail.test", ns_t_mx);
    CHECK_INT(x.r, DNS_PERM);
    CHECK(has(&x.d.err, "nomail.test accepts no mail"));
    CHECK(has(&x.d.err, "RFC 7505"));
    CHECK(x.d.nullmx);
    done(&x);

    /* beside a real MX host, a "." is ignored */
    header(&p, 0, 1, 2, 0, 0);
    question(&p, "mixed.test", ns_t_mx);
    rr_mx(&p, "mixed.test", 0, "");
    rr_mx(&p, "mixed.test", 10, "mx.mixed.test");
    run(&x, &p, "mixed.test", ns_t_mx);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.names.n, 1);
    CHECK(!x.d.nullmx);
    done(&x);
}

static void
test_odd_names(void)
{
    struct pkt p;
    struct res x;
    size_t at;

    /* an MX host with a space and one with a NUL in a label */
    header(&p, 0, 1, 2, 0, 0);
    question(&p, "example.test", ns_t_mx);
    rr_mx(&p, "example.test", 10, "bad name.test");
    ptr(&p, 12);
    at = rr(&p, ns_t_mx, ns_c_in);
    put16(&p, 20);
    put8(&p, 3);
    put8(&p, 'a');
    put8(&p, 0);
    put8(&p, 'b');
    put8(&p, 0);
    rdend(&p, at);
    run(&x, &p, "example.test", ns_t_mx);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "no MX record names a valid host"));
    done(&x);

    /* one odd host among good ones is left out */
    header(&p, 0, 1, 2, 0, 0);
    question(&p, "example.test", ns_t_mx);
    rr_mx(&p, "example.test", 10, "a\\b.test");
    rr_mx(&p, "example.test", 20, "good.test");
    run(&x, &p, "example.test", ns_t_mx);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.names.n, 1);
    if (x.names.n == 1)
        CHECK_STR(x.names.mx[0].name, "good.test");
    done(&x);

    /* a PTR to an odd name: no name */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, "1.2.0.192.in-addr.arpa", ns_t_ptr);
    rr_name(&p, "1.2.0.192.in-addr.arpa", ns_t_ptr, "x@y.test");
    run(&x, &p, "1.2.0.192.in-addr.arpa", ns_t_ptr);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.names.n, 0);
    done(&x);

    /* a CNAME to an odd name */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, "a.test", ns_t_a);
    rr_name(&p, "a.test", ns_t_cname, "(b).test");
    run(&x, &p, "a.test", ns_t_a);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "alias of an invalid name"));
    done(&x);
}

static void
test_qnames(void)
{
    static const struct {
        const char *name;
        int ok;
    } cases[] = {
        {"example.test", 1},
        {"example.test.", 1},
        {"EXAMPLE.test", 1},
        {"a", 1},
        {"", 0},
        {".", 0},
        {"a..b", 0},
        {".a", 0},
        {"a.b..", 0},
        {"a b.test", 0},
        {"a@b.test", 0},
        {"a\\.b.test", 0},
        {"caf\xc3\xa9.test", 0},
        {"under_score.test", 1},
    };
    char label63[80], label64[80], long253[300], long254[300];
    struct pkt p;

    header(&p, 0, 1, 0, 0, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct res x;

        run(&x, &p, cases[i].name, ns_t_a);
        if (cases[i].ok)
            CHECK(x.r != DNS_PERM);
        else if (!CHECK_INT(x.r, DNS_PERM))
            printf("    accepted \"%s\"\n", cases[i].name);
        done(&x);
    }
    memset(label63, 'a', 63);
    strcpy(label63 + 63, ".test");
    memset(label64, 'a', 64);
    strcpy(label64 + 64, ".test");
    /* 253 characters: labels of 63, 63, 63 and 61, and three dots */
    memset(long253, 'b', 253);
    long253[63] = long253[127] = long253[191] = '.';
    long253[253] = '\0';
    memcpy(long254, long253, 253);
    strcpy(long254 + 253, "c");
    {
        struct res x;

        run(&x, &p, label63, ns_t_a);
        CHECK(x.r != DNS_PERM);
        done(&x);
        run(&x, &p, label64, ns_t_a);
        CHECK_INT(x.r, DNS_PERM);
        CHECK(has(&x.d.err, "not a valid domain name"));
        done(&x);
        run(&x, &p, long253, ns_t_a);
        CHECK(x.r != DNS_PERM);
        done(&x);
        run(&x, &p, long254, ns_t_a);
        CHECK_INT(x.r, DNS_PERM);
        done(&x);
    }
}

/* --- MX order --------------------------------------------------------- */

static void
test_mx_sort(void)
{
    static const char *const four[] = {"a", "b", "c", "d"};
    bool seen[4][4][4][4];
    size_t orders = 0;
    struct dns_mx mx[7];
    struct dns_mxlist l;

    memset(seen, 0, sizeof seen);
    for (int round = 0; round < 2000; round++) {
        static const unsigned prefs[7] = {30, 10, 20, 10, 5, 10, 10};
        static const char *const names[7] = {"z", "a", "y", "b", "x",
                                             "c", "d"};
        int idx[4];

        for (int i = 0; i < 7; i++) {
            mx[i].pref = prefs[i];
            mx[i].name = (char *)names[i];
        }
        l.mx = mx;
        l.n = 7;
        dns_mx_sort(&l);
        CHECK_STR(mx[0].name, "x");
        for (int i = 1; i < 7; i++)
            if (!CHECK(mx[i - 1].pref <= mx[i].pref))
                return;
        CHECK_STR(mx[5].name, "y");
        CHECK_STR(mx[6].name, "z");
        for (int i = 0; i < 4; i++) {
            idx[i] = -1;
            for (int k = 0; k < 4; k++)
                if (strcmp(mx[1 + i].name, four[k]) == 0)
                    idx[i] = k;
            if (!CHECK(idx[i] >= 0))
                return;
        }
        if (!seen[idx[0]][idx[1]][idx[2]][idx[3]]) {
            seen[idx[0]][idx[1]][idx[2]][idx[3]] = true;
            orders++;
        }
    }
    /* all 24 orders of the four equal hosts come up */
    CHECK_INT(orders, 24);

    l.mx = NULL;
    l.n = 0;
    dns_mx_sort(&l);
    CHECK_INT(l.n, 0);
}

/* --- reverse names ---------------------------------------------------- */

static void
test_ptrname(void)
{
    static const struct {
        const char *ip, *name;
    } cases[] = {
        {"192.0.2.1", "1.2.0.192.in-addr.arpa"},
        {"10.20.30.255", "255.30.20.10.in-addr.arpa"},
        {"::ffff:192.0.2.1", "1.2.0.192.in-addr.arpa"},
        {"2001:db8::567:89ab",
         "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
         "ip6.arpa"},
        {"::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                "0.0.ip6.arpa"},
    };
    struct bstr out = BSTR_INIT;
    struct ipaddr ip;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(ipaddr_scan(cases[i].ip, strlen(cases[i].ip), &ip));
        CHECK_INT(dns_ptrname(&out, &ip), 0);
        CHECK_BSTR(out, cases[i].name);
    }
    memset(&ip, 0, sizeof ip);
    CHECK_INT(dns_ptrname(&out, &ip), -1);
    bstr_free(&out);
}

/* --- servers ---------------------------------------------------------- */

static const char *
srvtext(const struct dns *d, size_t i, char buf[80])
{
    char ip[IPADDR_FMT];

    if (i >= d->nsrv)
        return "(none)";
    ipaddr_fmt(ip, &d->srv[i].ip);
    snprintf(buf, 80, "%s %s %u", d->srv[i].ip.family == AF_INET ? "4" : "6",
             ip, d->srv[i].port);
    return buf;
}

static void
test_servers_parse(void)
{
    static const struct {
        const char *line, *want; /* want NULL: refused */
    } cases[] = {
        {"127.0.0.1", "4 127.0.0.1 53"},
        {"127.0.0.1:5353", "4 127.0.0.1 5353"},
        {"  10.0.0.1:1 \t# the lab resolver\r", "4 10.0.0.1 1"},
        {"::1", "6 ::1 53"},
        {"2001:db8::53", "6 2001:db8::53 53"},
        {"::1:53", "6 ::1:53 53"}, /* an address: ports need brackets */
        {"[::1]", "6 ::1 53"},
        {"[::1]:5353", "6 ::1 5353"},
        {"[2001:db8::1]:65535", "6 2001:db8::1 65535"},
        {"127.0.0.1:0", NULL},
        {"127.0.0.1:65536", NULL},
        {"127.0.0.1:", NULL},
        {"127.0.0.1:53x", NULL},
        {"127.0.0.1:+53", NULL},
        {"127.0.0.1 53", NULL},
        {"1.2.3", NULL},
        {"localhost", NULL},
        {"[::1", NULL},
        {"[::1]53", NULL},
        {"[127.0.0.1]:53", NULL},
        {"[::1]:", NULL},
        {"fe80::1%eth0", NULL},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dns d;
        char buf[80];
        int r;

        memset(&d, 0, sizeof d);
        r = dns_servers_parse(&d, cases[i].line, strlen(cases[i].line),
                              false);
        if (cases[i].want) {
            if (!CHECK_INT(r, 0) || !CHECK_INT(d.nsrv, 1))
                printf("    line \"%s\": %s\n", cases[i].line,
                       d.err.s ? d.err.s : "");
            else
                CHECK_STR(srvtext(&d, 0, buf), cases[i].want);
        } else {
            if (!CHECK_INT(r, -1))
                printf("    accepted \"%s\"\n", cases[i].line);
            CHECK_INT(errno, EINVAL);
            CHECK(has(&d.err, "line 1"));
        }
        bstr_free(&d.err);
    }
}

static void
test_servers_file(void)
{
    static const char text[] = "# our resolvers\n"
                               "\n"
                               "127.0.0.1:5353\n"
                               "   # indented comment\n"
                               "[::1]:5354\n"
                               "192.0.2.53";
    static const char bad[] = "127.0.0.1\nnot-a-server\n";
    char path[512], buf[80];
    struct dns d;
    FILE *f;

    snprintf(path, sizeof path, "%s/dnsservers", harness_tmpdir());
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
    CHECK_INT(dns_init(&d, path), 0);
    CHECK_INT(d.nsrv, 3);
    CHECK_STR(srvtext(&d, 0, buf), "4 127.0.0.1 5353");
    CHECK_STR(srvtext(&d, 1, buf), "6 ::1 5354");
    CHECK_STR(srvtext(&d, 2, buf), "4 192.0.2.53 53");
    CHECK_INT(d.timeout_ms, 5000);
    CHECK_INT(d.rounds, 2);
    dns_free(&d);

    /* more than DNS_SERVERS_MAX: the first ones */
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    for (int i = 1; i <= 12; i++)
        fprintf(f, "192.0.2.%d\n", i);
    fclose(f);
    CHECK_INT(dns_init(&d, path), 0);
    CHECK_INT(d.nsrv, DNS_SERVERS_MAX);
    CHECK_STR(srvtext(&d, 7, buf), "4 192.0.2.8 53");
    dns_free(&d);

    f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(bad, f);
    fclose(f);
    errno = 0;
    CHECK_INT(dns_init(&d, path), -1);
    CHECK_INT(errno, EINVAL);
    CHECK(has(&d.err, path));
    CHECK(has(&d.err, "line 2"));
    CHECK(has(&d.err, "not-a-server"));
    dns_free(&d);

    /* absent, or empty: resolv.conf, else 127.0.0.1 */
    snprintf(path, sizeof path, "%s/absent", harness_tmpdir());
    CHECK_INT(dns_init(&d, path), 0);
    CHECK(d.nsrv >= 1);
    dns_free(&d);
    CHECK_INT(dns_init(&d, NULL), 0);
    CHECK(d.nsrv >= 1);
    dns_free(&d);
}

static void
test_resolvconf(void)
{
    static const char text[] =
        "# generated\n"
        "search example.test\n"
        "nameserver 192.0.2.1\n"
        "nameserver\t2001:db8::1 ; trailing\n"
        "  nameserver 192.0.2.2#comment\n"
        "nameserver fe80::1%eth0\n"
        "nameserver junk\n"
        "nameservers 192.0.2.99\n"
        "; nameserver 192.0.2.98\n"
        "options timeout:1\n"
        "nameserver 192.0.2.3:5353\n"
        "nameserver 192.0.2.4";
    struct dns d;
    char buf[80];

    memset(&d, 0, sizeof d);
    CHECK_INT(dns_servers_parse(&d, text, strlen(text), true), 0);
    CHECK_INT(d.nsrv, 4);
    CHECK_STR(srvtext(&d, 0, buf), "4 192.0.2.1 53");
    CHECK_STR(srvtext(&d, 1, buf), "6 2001:db8::1 53");
    CHECK_STR(srvtext(&d, 2, buf), "4 192.0.2.2 53");
    CHECK_STR(srvtext(&d, 3, buf), "4 192.0.2.4 53");
    bstr_free(&d.err);
}

/* --- TXT --------------------------------------------------------------- */

/* rr_txt - a TXT record of owner whose rdata is raw[0..n) as given. */
static void
rr_txt(struct pkt *p, const char *owner, const void *raw, size_t n)
{
    size_t at;

    name(p, owner);
    at = rr(p, ns_t_txt, ns_c_in);
    for (size_t i = 0; i < n; i++)
        put8(p, ((const unsigned char *)raw)[i]);
    rdend(p, at);
}

struct txtres {
    int r;
    struct dns d;
    struct dns_txtlist t;
    struct bstr next;
};

static void
run_txt(struct txtres *x, const struct pkt *p, const char *qname)
{
    memset(x, 0, sizeof *x);
    x->r = dns_parse_txt(&x->d, p->b, p->n, qname, &x->t, &x->next);
    if (!x->d.err.s)
        CHECK(bstr_copys(&x->d.err, "") == 0);
}

static void
done_txt(struct txtres *x)
{
    dns_txtlist_free(&x->t);
    bstr_free(&x->next);
    bstr_free(&x->d.err);
}

/* RFC 1035 3.3.14: one or more character-strings; RFC 7208 3.3 joins them */
static void
test_txt_strings(void)
{
    static const char q[] = "2.0.0.127.zen.example";
    struct pkt p;
    struct txtres x;
    char big[256];

    /* one record of three strings, one record of one, one of an empty one */
    header(&p, 0, 1, 3, 0, 0);
    question(&p, q, ns_t_txt);
    rr_txt(&p, q, "\x09" "listed at\x01 \x04" "zen!", 17);
    ptr(&p, 12);
    {
        size_t at = rr(&p, ns_t_txt, ns_c_in);

        put8(&p, 5);
        for (const char *c = "other"; *c; c++)
            put8(&p, (unsigned char)*c);
        rdend(&p, at);
    }
    rr_txt(&p, q, "\x00", 1);
    run_txt(&x, &p, "2.0.0.127.ZEN.example.");
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.t.n, 3);
    if (x.t.n == 3) {
        CHECK_BSTR(x.t.txt[0], "listed at zen!");
        CHECK_BSTR(x.t.txt[1], "other");
        CHECK_INT(x.t.txt[2].len, 0);
        CHECK(x.t.txt[2].s != NULL);
    }
    done_txt(&x);

    /* hostile bytes are kept as they are, NUL included: callers clean up */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, q, ns_t_txt);
    rr_txt(&p, q, "\x0b" "a\r\n250 ok\0\xff!", 12);
    run_txt(&x, &p, q);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.t.n, 1);
    if (x.t.n == 1)
        harness_check_mem(x.t.txt[0].s, x.t.txt[0].len, "a\r\n250 ok\0\xff!",
                          11, "hostile text", __FILE__, __LINE__);
    done_txt(&x);

    /* a 255-byte string, the longest there is */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, q, ns_t_txt);
    big[0] = (char)255;
    memset(big + 1, 'x', 255);
    rr_txt(&p, q, big, 256);
    run_txt(&x, &p, q);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.t.n, 1);
    if (x.t.n == 1)
        CHECK_INT(x.t.txt[0].len, 255);
    done_txt(&x);
}

static void
test_txt_malformed(void)
{
    static const char q[] = "txt.example";
    static const struct {
        const char *raw;
        size_t n;
    } bad[] = {
        {"", 0},              /* no string at all */
        {"\x05" "abc", 4},       /* a length past the end */
        {"\x03" "abc\x02" "x", 6},  /* the second string cut short */
        {"\xff", 1},
    };
    struct pkt p;
    struct txtres x;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        header(&p, 0, 1, 2, 0, 0);
        question(&p, q, ns_t_txt);
        rr_txt(&p, q, "\x02ok", 3);
        rr_txt(&p, q, bad[i].raw, bad[i].n);
        run_txt(&x, &p, q);
        CHECK_INT(x.r, DNS_TEMP);
        CHECK_INT(x.t.n, 0); /* nothing from an answer that fails */
        CHECK(has(&x.d.err, "bad TXT record"));
        CHECK(has(&x.d.err, "TXT lookup of txt.example"));
        done_txt(&x);
    }
}

static void
test_txt_outcomes(void)
{
    static const char q[] = "9.2.0.192.zen.example";
    struct pkt p;
    struct txtres x;

    /* NXDOMAIN: not listed, and PERM */
    header(&p, ns_r_nxdomain, 1, 0, 0, 0);
    question(&p, q, ns_t_txt);
    run_txt(&x, &p, q);
    CHECK_INT(x.r, DNS_PERM);
    CHECK_INT(x.t.n, 0);
    CHECK(has(&x.d.err, "does not exist"));
    done_txt(&x);

    /* the name exists with an A record only: OK, no text */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, q, ns_t_txt);
    rr_a(&p, q, 127, 0, 0, 2);
    run_txt(&x, &p, q);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.t.n, 0);
    done_txt(&x);

    /* SERVFAIL: TEMP */
    header(&p, ns_r_servfail, 1, 0, 0, 0);
    question(&p, q, ns_t_txt);
    run_txt(&x, &p, q);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "SERVFAIL"));
    done_txt(&x);

    /* another owner's TXT is not ours; a TXT answer to an A question is
       refused as another question */
    header(&p, 0, 1, 1, 0, 0);
    question(&p, q, ns_t_txt);
    rr_txt(&p, "evil.example", "\x04" "evil", 5);
    run_txt(&x, &p, q);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.t.n, 0);
    done_txt(&x);
    header(&p, 0, 1, 1, 0, 0);
    question(&p, q, ns_t_a);
    rr_txt(&p, q, "\x04" "evil", 5);
    run_txt(&x, &p, q);
    CHECK_INT(x.r, DNS_TEMP);
    CHECK(has(&x.d.err, "another question"));
    done_txt(&x);

    /* a CNAME inside the answer is followed to its TXT */
    header(&p, 0, 1, 2, 0, 0);
    question(&p, q, ns_t_txt);
    rr_name(&p, q, ns_t_cname, "text.zen.example");
    rr_txt(&p, "text.zen.example", "\x06listed", 7);
    run_txt(&x, &p, q);
    CHECK_INT(x.r, DNS_OK);
    CHECK_INT(x.t.n, 1);
    if (x.t.n == 1)
        CHECK_BSTR(x.t.txt[0], "listed");
    done_txt(&x);
}

/* $DNSCACHEIP as ucspi-tcp reads it, and our dnsservers syntax in it */
static void
test_servers_env(void)
{
    static const struct {
        const char *in;
        const char *want; /* servers as dns_server_fmt would show them */
    } ok[] = {
        {"127.0.0.1", "127.0.0.1"},
        {"127.0.0.1.10.0.0.2", "127.0.0.1 10.0.0.2"},
        {"127.0.0.1 ::1, [::1]:5353", "127.0.0.1 ::1 [::1]:5353"},
        {"127.0.0.1:5353", "127.0.0.1:5353"},
        {"  ", "192.0.2.53"}, /* none named: the earlier servers stay */
        {"", "192.0.2.53"},
    };
    static const char *const bad[] = {
        "localhost", "127.0.0.1.", "127.0.0", "1.2.3.4.5", "127.0.0.1:0",
        "::1:53x", "127.0.0.1 junk",
    };
    char buf[256];

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct dns d;

        memset(&d, 0, sizeof d);
        d.nsrv = 1;
        d.srv[0].ip.family = AF_INET;
        memcpy(d.srv[0].ip.b, "\xc0\x00\x02\x35", 4);
        d.srv[0].port = 53;
        CHECK_INT(dns_servers_env(&d, ok[i].in), 0);
        buf[0] = '\0';
        for (size_t k = 0; k < d.nsrv; k++) {
            char ip[IPADDR_FMT];
            size_t n = strlen(buf);

            ipaddr_fmt(ip, &d.srv[k].ip);
            if (d.srv[k].port != 53)
                snprintf(buf + n, sizeof buf - n, "%s%s%s%s:%u", n ? " " : "",
                         d.srv[k].ip.family == AF_INET6 ? "[" : "", ip,
                         d.srv[k].ip.family == AF_INET6 ? "]" : "",
                         d.srv[k].port);
            else
                snprintf(buf + n, sizeof buf - n, "%s%s", n ? " " : "", ip);
        }
        CHECK_STR(buf, ok[i].want);
        bstr_free(&d.err);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dns d;

        memset(&d, 0, sizeof d);
        d.nsrv = 1;
        d.srv[0].ip.family = AF_INET;
        errno = 0;
        CHECK_INT(dns_servers_env(&d, bad[i]), -1);
        CHECK_INT(errno, EINVAL);
        CHECK_INT(d.nsrv, 1);
        CHECK(has(&d.err, "is not a server address"));
        bstr_free(&d.err);
    }
    {
        /* more than DNS_SERVERS_MAX: the first ones are kept */
        struct dns d;

        memset(&d, 0, sizeof d);
        CHECK_INT(dns_servers_env(&d, "10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 "
                                      "10.0.0.5 10.0.0.6 10.0.0.7 10.0.0.8 "
                                      "10.0.0.9 10.0.0.10"),
                  0);
        CHECK_INT(d.nsrv, DNS_SERVERS_MAX);
        CHECK_INT(d.srv[DNS_SERVERS_MAX - 1].ip.b[3], DNS_SERVERS_MAX);
        /* and the ones past the limit did not overwrite the first */
        CHECK_INT(d.srv[0].ip.b[3], 1);
        bstr_free(&d.err);
    }
}

static const struct test_case cases[] = {
    {"a and aaaa", test_a_and_aaaa},
    {"mx compression", test_mx_compression},
    {"cname chain inside", test_cname_chain_inside},
    {"cname leaves answer", test_cname_leaves_answer},
    {"cname loops", test_cname_loops},
    {"cname too long", test_cname_too_long},
    {"lying counts", test_lying_counts},
    {"truncated packets", test_truncated_packets},
    {"wrong question", test_wrong_question},
    {"pointer abuse", test_pointer_abuse},
    {"rcodes", test_rcodes},
    {"bad records", test_bad_records},
    {"other owners and classes", test_other_owners_and_classes},
    {"null mx", test_null_mx},
    {"odd names", test_odd_names},
    {"qnames", test_qnames},
    {"mx sort", test_mx_sort},
    {"ptrname", test_ptrname},
    {"servers parse", test_servers_parse},
    {"servers file", test_servers_file},
    {"resolv.conf", test_resolvconf},
    {"txt strings", test_txt_strings},
    {"txt malformed", test_txt_malformed},
    {"txt outcomes", test_txt_outcomes},
    {"servers env", test_servers_env},
};

TEST_MAIN(cases)
