/* SPDX-License-Identifier: ISC */
/*
 * dnsservers - which servers a struct dns asks (see dns_init in dns.h):
 * control/dnsservers when the caller names it, else the nameserver
 * lines of /etc/resolv.conf, else 127.0.0.1.  A line of the servers file
 * that is not an address is an error naming that line; resolv.conf's
 * other lines, and addresses it holds that cannot be used (scoped IPv6),
 * are skipped, as its other readers do.  At most DNS_SERVERS_MAX are
 * kept.  Also the resolver library's state that res_nmkquery needs.
 */
#include <errno.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dnsint.h"
#include "fmt.h"
#include "readfile.h"

#define FILE_MAX 65536 /* a servers file larger is a mistake */

/* dns_server_fmt - "1.2.3.4", "1.2.3.4:5353", "::1" or "[::1]:5353". */
void
dns_server_fmt(char buf[IPADDR_FMT + 10], const struct dns_server *s)
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
               scan_port(colon + 1, len - (size_t)(colon + 1 - s), &srv->port);
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
dns_servers_parse(struct dns *d, const char *text, size_t len, bool resolvconf)
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
            return dns_seterr(d, -1,
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

/*
 * scan_djb - a dotted list of IPv4 addresses, as djbdns reads
 * $DNSCACHEIP ("127.0.0.1.10.0.0.1": each address's four numbers, a
 * dot, the next address).  Adds them to the n servers in srv (at most
 * DNS_SERVERS_MAX).  false when s is not such a list.
 */
static bool
scan_djb(const char *s, size_t len, struct dns_server *srv, size_t *n)
{
    size_t i = 0;

    while (i < len) {
        size_t j = i, dots = 0;
        struct dns_server one;

        while (j < len && !(s[j] == '.' && ++dots == 4))
            j++;
        memset(&one, 0, sizeof one);
        one.port = 53;
        one.ip.family = AF_INET;
        if (dots < 3 || !ipaddr_scan4(s + i, j - i, one.ip.b))
            return false;
        if (*n < DNS_SERVERS_MAX)
            srv[(*n)++] = one;
        i = j + 1;
        if (j < len && i == len)
            return false; /* a trailing dot */
    }
    return true;
}

/* dns_servers_env - the servers of $DNSCACHEIP (see dns.h). */
int
dns_servers_env(struct dns *d, const char *value)
{
    struct dns_server srv[DNS_SERVERS_MAX];
    size_t n = 0, i = 0, len = strlen(value);

    while (i < len) {
        struct dns_server one;
        size_t j;

        if (strchr(" \t\r\n,", value[i])) {
            i++;
            continue;
        }
        for (j = i; j < len && !strchr(" \t\r\n,", value[j]); j++)
            ;
        /* scanned aside: past DNS_SERVERS_MAX the rest are dropped, and
         * must not overwrite the first */
        if (scan_server(value + i, j - i, &one)) {
            if (n < DNS_SERVERS_MAX)
                srv[n++] = one;
        } else if (!scan_djb(value + i, j - i, srv, &n)) {
            errno = EINVAL;
            return dns_seterr(d, -1,
                              "\"%.*s\" is not a server address (1.2.3.4, "
                              "1.2.3.4:port, ::1 or [::1]:port)",
                              (int)(j - i > 100 ? 100 : j - i), value + i);
        }
        i = j;
    }
    if (n) {
        memcpy(d->srv, srv, n * sizeof *srv);
        d->nsrv = n;
        d->noedns = 0;
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
        return dns_seterr(d, -1, "out of memory");
    }
    /* res_ninit reads resolv.conf's options; res_nmkquery needs it */
    if (res_ninit(d->res) == -1) {
        free(d->res);
        d->res = NULL;
        errno = ENOMEM;
        return dns_seterr(d, -1, "unable to initialize the resolver library");
    }
    if (serversfile) {
        r = readfile_path(serversfile, &text, FILE_MAX);
        if (r == -1) {
            int e = errno;

            bstr_free(&text);
            dns_seterr(d, -1, "unable to read %s: %s", serversfile,
                       strerror(e));
            errno = e;
            return -1;
        }
        if (r == 1 && dns_servers_parse(d, text.s, text.len, false) == -1) {
            struct bstr why = BSTR_INIT;

            if (bstr_copy(&why, &d->err) == 0)
                dns_seterr(d, -1, "%s %s", serversfile, why.s);
            bstr_free(&why);
            bstr_free(&text);
            errno = EINVAL;
            return -1;
        }
    }
    if (d->nsrv == 0 &&
        readfile_path("/etc/resolv.conf", &text, FILE_MAX) == 1 &&
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
