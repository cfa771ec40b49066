/* SPDX-License-Identifier: ISC */
/*
 * tcprulescheck - say which rule of rules.cdb tcpserver would apply to
 * the client described by $TCPREMOTEIP (default 0.0.0.0),
 * $TCPREMOTEHOST and $TCPREMOTEINFO, and what it would do.
 *
 *   rule 127.0.0.:
 *   set environment variable RELAYCLIENT=
 *   allow connection
 *
 * With no matching rule it prints "default:" and "allow connection", as
 * ucspi-tcp's does.  Exit codes: 0, 100 usage or bad $TCPREMOTEIP, 111
 * the cdb cannot be read or stdout cannot be written.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bstr.h"
#include "cdbmap.h"
#include "iob.h"
#include "log.h"
#include "outcome.h"
#include "rules.h"

static int
get(void *ctx, const char *key, size_t klen, struct bstr *val)
{
    return cdbmap_get(ctx, key, klen, val);
}

static void
out(struct iob *o, const void *p, size_t n)
{
    if (iob_put(o, p, n) == -1)
        log_die_sys(EXIT_TEMP, "unable to write output");
}

int
main(int argc, char **argv)
{
    static char obuf[4096];
    struct rules_client c;
    struct cdbmap map;
    struct bstr key = BSTR_INIT, val = BSTR_INIT, host = BSTR_INIT;
    struct rules_rec rec;
    struct iob o;
    const char *ip, *h;
    size_t pos = 0;
    bool deny = false;
    int r;

    log_init("tcprulescheck");
    if (argc != 2)
        log_die(EXIT_PERM, "usage: tcprulescheck rules.cdb");
    ip = getenv("TCPREMOTEIP");
    if (!ip)
        ip = "0.0.0.0";
    if (!ipaddr_scan(ip, strlen(ip), &c.ip))
        log_die(EXIT_PERM, "TCPREMOTEIP is not an IP address: %s", ip);
    ipaddr_unmap(&c.ip);
    c.info = getenv("TCPREMOTEINFO");
    c.host = NULL;
    h = getenv("TCPREMOTEHOST");
    if (h) {
        /* tcpserver lower-cases the names it sets; do as it does */
        size_t n = strlen(h);
        if (bstr_copys(&host, h) == -1)
            log_die(EXIT_TEMP, "out of memory");
        bstr_lower(&host);
        if (n && host.s[n - 1] == '.')
            bstr_truncate(&host, n - 1);
        c.host = host.s;
    }

    if (cdbmap_open(&map, argv[1]) == -1)
        log_die_sys(EXIT_TEMP, "unable to read %s", argv[1]);
    r = rules_lookup(&c, get, &map, &key, &val);
    if (r == -1)
        log_die_sys(EXIT_TEMP, "unable to read %s", argv[1]);
    cdbmap_close(&map);

    iob_init(&o, 1, obuf, sizeof obuf, NULL, NULL);
    if (r == 0) {
        out(&o, "default:\nallow connection\n",
            strlen("default:\nallow connection\n"));
    } else {
        out(&o, "rule ", 5);
        out(&o, key.s, key.len);
        out(&o, ":\n", 2);
        while (rules_rec_next(val.s, val.len, &pos, &rec)) {
            if (rec.type == 'D') {
                deny = true;
                break;
            }
            if (rec.type != '+')
                continue;
            out(&o, "set environment variable ", 25);
            out(&o, rec.name, rec.namelen + 1 + rec.valuelen);
            out(&o, "\n", 1);
        }
        if (deny)
            out(&o, "deny connection\n", 16);
        else
            out(&o, "allow connection\n", 17);
    }
    if (iob_flush(&o) == -1)
        log_die_sys(EXIT_TEMP, "unable to write output");
    bstr_free(&key);
    bstr_free(&val);
    bstr_free(&host);
    return 0;
}
