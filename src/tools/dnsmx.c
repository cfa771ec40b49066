/* SPDX-License-Identifier: ISC */
/*
 * dnsmx - the MX hosts of a domain, one "PREF NAME" line each, in the
 * order qmail-remote tries them (by preference, equal preferences in
 * random order):
 *
 *   $ dnsmx sm66.com
 *   10 mail.sm66.com
 *
 * A domain without MX records prints "0 DOMAIN", the implicit MX that
 * mail falls back to.  Servers: $QMAIL_HOME/control/dnsservers when it
 * exists, else /etc/resolv.conf.  Exit 0; 111 when the lookup failed
 * temporarily; 100 when the domain does not exist or accepts no mail.
 */
#include <stdio.h>

#include "dns.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"

/* die_dns - the lookup's failure on stderr, and its exit code. */
static void __attribute__((noreturn))
die_dns(const struct dns *d, int r, const char *name)
{
    int code = r == DNS_PERM ? EXIT_PERM : EXIT_TEMP;

    if (d->err.len)
        log_die(code, "%s", d->err.s);
    log_die(code, "DNS lookup of %s failed", name);
}

/* print_name - name as dns_mx gives names back: lower case, no dot. */
static void
print_name(const char *name)
{
    size_t n = 0;

    while (name[n])
        n++;
    if (n && name[n - 1] == '.')
        n--;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];

        putchar(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
}

int
main(int argc, char **argv)
{
    struct bstr path = BSTR_INIT;
    struct dns_mxlist l;
    struct dns d;
    int r;

    log_init("dnsmx");
    if (argc != 2)
        log_die(EXIT_PERM, "usage: dnsmx name");
    if (bstr_copys(&path, priv_home()) == -1 ||
        bstr_cats(&path, "/control/dnsservers") == -1)
        log_die(EXIT_TEMP, "out of memory");
    if (dns_init(&d, path.s) == -1)
        log_die(EXIT_TEMP, "%s", d.err.s);
    r = dns_mx(&d, argv[1], &l);
    if (r != DNS_OK)
        die_dns(&d, r, argv[1]);
    for (size_t i = 0; i < l.n; i++)
        printf("%u %s\n", l.mx[i].pref, l.mx[i].name);
    if (l.n == 0) {
        printf("0 ");
        print_name(argv[1]);
        printf("\n");
    }
    if (fflush(stdout) == EOF || ferror(stdout))
        log_die_sys(EXIT_TEMP, "unable to write output");
    dns_mxlist_free(&l);
    dns_free(&d);
    bstr_free(&path);
    return 0;
}
