/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dns - DNS answers as dns_parse reads them, and servers files as
 * dns_servers_parse reads them.  The first byte chooses: bits 0-2 the
 * record type asked (A, AAAA, MX, PTR), a servers file (4: dnsservers
 * syntax, 5: resolv.conf), a TXT answer (6) or a $DNSCACHEIP value (7);
 * bit 3 takes the name asked from the packet's
 * own question, so that mutations get past the question check.  What
 * comes out must hold: plain lower-case host names of bounded length,
 * addresses of the family asked, sorted MX hosts, texts whose lengths
 * add up to less than the packet, an error text with every failure.  Any broken property aborts.
 */
#include <arpa/nameser.h>
#include <resolv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"

static void
must(int cond)
{
    if (!cond)
        abort();
}

/* plain - a name dns_parse may hand out. */
static void
plain(const char *s)
{
    size_t n = strlen(s);

    must(n > 0 && n <= DNS_NAME_MAX);
    must(s[0] != '.' && s[n - 1] != '.');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        must(c > ' ' && c < 0x7f && c != '\\' && !(c >= 'A' && c <= 'Z'));
        must(!(c == '.' && s[i + 1] == '.'));
    }
}

static void
answers(const uint8_t *data, size_t size, int type, int own_question)
{
    struct dns d;
    struct dns_iplist ips = {0};
    struct dns_mxlist names = {0};
    struct bstr next = BSTR_INIT;
    char qname[NS_MAXDNAME] = "example.test";
    int r;

    memset(&d, 0, sizeof d);
    if (own_question && size > 12 &&
        dn_expand(data, data + size, data + 12, qname, sizeof qname) < 1)
        strcpy(qname, "example.test");
    r = dns_parse(&d, data, size, qname, type, &ips, &names, &next);
    must(r == DNS_OK || r == DNS_TEMP || r == DNS_PERM);
    if (r != DNS_OK) {
        must(d.err.len > 0);
        must(ips.n == 0 && names.n == 0 && next.len == 0);
    }
    if (next.len) {
        must(r == DNS_OK && ips.n == 0 && names.n == 0);
        plain(next.s);
    }
    for (size_t i = 0; i < ips.n; i++)
        must(ips.ip[i].family == (type == ns_t_a ? AF_INET : AF_INET6));
    for (size_t i = 0; i < names.n; i++) {
        plain(names.mx[i].name);
        must(names.mx[i].pref <= 65535);
        must(type == ns_t_mx || names.mx[i].pref == 0);
    }
    if (type == ns_t_mx) {
        dns_mx_sort(&names);
        for (size_t i = 1; i < names.n; i++)
            must(names.mx[i - 1].pref <= names.mx[i].pref);
    }
    dns_iplist_free(&ips);
    dns_mxlist_free(&names);
    bstr_free(&next);
    bstr_free(&d.err);
}

static void
servers(const uint8_t *data, size_t size, bool resolvconf)
{
    struct dns d;
    int r;

    memset(&d, 0, sizeof d);
    r = dns_servers_parse(&d, (const char *)data, size, resolvconf);
    must(r == 0 || r == -1);
    must(r == 0 || (!resolvconf && d.err.len > 0));
    must(d.nsrv <= DNS_SERVERS_MAX);
    for (size_t i = 0; i < d.nsrv; i++) {
        must(d.srv[i].ip.family == AF_INET || d.srv[i].ip.family == AF_INET6);
        must(d.srv[i].port >= 1 && d.srv[i].port <= 65535);
    }
    bstr_free(&d.err);
}

static void
txt_answer(const uint8_t *data, size_t size, int own_question)
{
    struct dns d;
    struct dns_txtlist t = {0};
    struct bstr next = BSTR_INIT;
    char qname[NS_MAXDNAME] = "2.0.0.127.zen.example";
    size_t total = 0;
    int r;

    memset(&d, 0, sizeof d);
    if (own_question && size > 12 &&
        dn_expand(data, data + size, data + 12, qname, sizeof qname) < 1)
        strcpy(qname, "2.0.0.127.zen.example");
    r = dns_parse_txt(&d, data, size, qname, &t, &next);
    must(r == DNS_OK || r == DNS_TEMP || r == DNS_PERM);
    if (r != DNS_OK)
        must(d.err.len > 0 && t.n == 0 && next.len == 0);
    if (next.len) {
        must(r == DNS_OK && t.n == 0);
        plain(next.s);
    }
    for (size_t i = 0; i < t.n; i++) {
        must(t.txt[i].s != NULL && t.txt[i].s[t.txt[i].len] == '\0');
        total += t.txt[i].len + 1; /* a length byte at least */
    }
    must(total <= size);
    dns_txtlist_free(&t);
    bstr_free(&next);
    bstr_free(&d.err);
}

static void
cacheip(const uint8_t *data, size_t size)
{
    struct dns d;
    char *v = malloc(size + 1);
    int r;

    if (!v)
        return;
    memcpy(v, data, size);
    v[size] = '\0'; /* an environment value ends at its first NUL */
    memset(&d, 0, sizeof d);
    d.nsrv = 1;
    d.srv[0].ip.family = AF_INET;
    d.srv[0].port = 53;
    r = dns_servers_env(&d, v);
    must(r == 0 || (r == -1 && d.err.len > 0 && d.nsrv == 1));
    must(d.nsrv >= 1 && d.nsrv <= DNS_SERVERS_MAX);
    for (size_t i = 0; i < d.nsrv; i++) {
        must(d.srv[i].ip.family == AF_INET || d.srv[i].ip.family == AF_INET6);
        must(d.srv[i].port >= 1 && d.srv[i].port <= 65535);
    }
    bstr_free(&d.err);
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int types[4] = {ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr};
    unsigned mode;

    if (size < 1 || size > 70000)
        return 0;
    mode = data[0] & 7;
    if (mode < 4)
        answers(data + 1, size - 1, types[mode], data[0] & 8);
    else if (mode == 4 || mode == 5)
        servers(data + 1, size - 1, mode == 5);
    else if (mode == 6)
        txt_answer(data + 1, size - 1, data[0] & 8);
    else
        cacheip(data + 1, size - 1);
    return 0;
}
