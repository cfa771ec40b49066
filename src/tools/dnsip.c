/* SPDX-License-Identifier: ISC */
/*
 * dnsip - the IP addresses of each name, one line per name, addresses
 * separated by spaces, IPv4 (A) first, then IPv6 (AAAA):
 *
 *   $ dnsip mail.sm66.com localhost
 *   192.0.2.25 2001:db8::25
 *   127.0.0.1 ::1
 *
 * A name with no address prints an empty line.  Servers:
 * $QMAIL_HOME/control/dnsservers when it exists, else /etc/resolv.conf.
 * The first failure stops the program: exit 111 when it was temporary,
 * 100 when the name does not exist; 0 when every name was looked up.
 */
#include <stdio.h>
#include <sys/socket.h>

#include "dns.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"

/* die_dns - the lookup's failure on stderr, and its exit code. */
static void __attribute__((noreturn))
die_dns(const struct dns *d, int r, const char *name)
{
    int code = r == DNS_PERM ? EXIT_PERM : EXIT_TEMP;

    fflush(stdout); /* the lines of the names before stay in order */
    if (d->err.len)
        log_die(code, "%s", d->err.s);
    log_die(code, "DNS lookup of %s failed", name);
}

/* print_family - the addresses of l in family, each after a space but
 * the first one of the line. */
static void
print_family(const struct dns_iplist *l, int family, size_t *printed)
{
    for (size_t i = 0; i < l->n; i++) {
        char buf[IPADDR_FMT];

        if (l->ip[i].family != family)
            continue;
        ipaddr_fmt(buf, &l->ip[i]);
        printf("%s%s", *printed ? " " : "", buf);
        ++*printed;
    }
}

int
main(int argc, char **argv)
{
    struct bstr path = BSTR_INIT;
    struct dns d;

    log_init("dnsip");
    if (argc < 2)
        log_die(EXIT_PERM, "usage: dnsip name...");
    if (bstr_copys(&path, priv_home()) == -1 ||
        bstr_cats(&path, "/control/dnsservers") == -1)
        log_die(EXIT_TEMP, "out of memory");
    if (dns_init(&d, path.s) == -1)
        log_die(EXIT_TEMP, "%s", d.err.s);
    for (int i = 1; i < argc; i++) {
        struct dns_iplist l;
        size_t printed = 0;
        int r = dns_ip(&d, argv[i], AF_UNSPEC, &l);

        if (r != DNS_OK)
            die_dns(&d, r, argv[i]);
        print_family(&l, AF_INET, &printed);
        print_family(&l, AF_INET6, &printed);
        printf("\n");
        dns_iplist_free(&l);
    }
    if (fflush(stdout) == EOF || ferror(stdout))
        log_die_sys(EXIT_TEMP, "unable to write output");
    dns_free(&d);
    bstr_free(&path);
    return 0;
}
