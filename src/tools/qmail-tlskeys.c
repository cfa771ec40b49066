/* SPDX-License-Identifier: ISC */
/*
 * qmail-tlskeys - rotate the TLS session ticket keys that every
 * qmail-smtpd process of a listener shares, so that a returning client
 * resumes its session in the next process (RFC 5077):
 *
 *   qmail-tlskeys [-k keepseconds] /var/qmail/control/tlsticketkeys
 *
 * Adds a fresh key (the one new tickets are sealed with) and drops keys
 * older than keepseconds (default a day: tickets issued within it stay
 * good).  The file is replaced atomically and keeps its owner and mode.
 * Exit 0, 111 on trouble, 100 on a usage error.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "outcome.h"
#include "tls.h"

int
main(int argc, char **argv)
{
    long keep = 86400;
    struct bstr err = BSTR_INIT;
    int opt;

    log_init("qmail-tlskeys");
    while ((opt = getopt(argc, argv, "k:")) != -1) {
        char *end;

        if (opt != 'k')
            log_die(EXIT_PERM, "usage: qmail-tlskeys [-k keepseconds] file");
        keep = strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end || keep < 0)
            log_die(EXIT_PERM, "-k wants a number of seconds, not %s", optarg);
    }
    if (optind != argc - 1)
        log_die(EXIT_PERM, "usage: qmail-tlskeys [-k keepseconds] file");
    if (tls_ticketkeys_rotate(argv[optind], keep, &err) == -1)
        log_die(EXIT_TEMP, "unable to rotate %s: %s", argv[optind],
                err.len ? err.s : "out of memory");
    return 0;
}
