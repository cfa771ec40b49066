/* SPDX-License-Identifier: ISC */
/*
 * dnsptr - the name of each IP address (its first PTR record), one line
 * per address:
 *
 *   $ dnsptr 192.0.2.25 2001:db8::25
 *   mail.sm66.com
 *   mail.sm66.com
 *
 * An address whose reverse name exists without a PTR record prints an
 * empty line.  Servers: $QMAIL_HOME/control/dnsservers when it exists,
 * else /etc/resolv.conf.  The first failure stops the program: exit 111
 * when it was temporary, 100 when the reverse name does not exist or
 * an argument is not an IP address; 0 when every address was looked up.
 */
#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"

/* die_dns - the lookup's failure on stderr, and its exit code. */
static void __attribute__((noreturn))
die_dns(const struct dns *d, int r, const char *ip)
{
    int code = r == DNS_PERM ? EXIT_PERM : EXIT_TEMP;

    fflush(stdout); /* the lines of the addresses before stay in order */
    if (d->err.len)
        log_die(code, "%s", d->err.s);
    log_die(code, "PTR lookup of %s failed", ip);
}

int
main(int argc, char **argv)
{
    struct bstr path = BSTR_INIT;
    struct dns d;

    log_init("dnsptr");
    if (argc < 2)
        log_die(EXIT_PERM, "usage: dnsptr ip...");
    if (bstr_copys(&path, priv_home()) == -1 ||
        bstr_cats(&path, "/control/dnsservers") == -1)
        log_die(EXIT_TEMP, "out of memory");
    if (dns_init(&d, path.s) == -1)
        log_die(EXIT_TEMP, "%s", d.err.s);
    for (int i = 1; i < argc; i++) {
        struct dns_mxlist l;
        struct ipaddr ip;
        int r;

        if (!ipaddr_scan(argv[i], strlen(argv[i]), &ip)) {
            fflush(stdout);
            log_die(EXIT_PERM, "%.100s is not an IP address", argv[i]);
        }
        r = dns_ptr(&d, &ip, &l);
        if (r != DNS_OK)
            die_dns(&d, r, argv[i]);
        printf("%s\n", l.n ? l.mx[0].name : "");
        dns_mxlist_free(&l);
    }
    if (fflush(stdout) == EOF || ferror(stdout))
        log_die_sys(EXIT_TEMP, "unable to write output");
    dns_free(&d);
    bstr_free(&path);
    return 0;
}
