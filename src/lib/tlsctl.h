/* SPDX-License-Identifier: ISC */
/*
 * tlsctl - a TLS server context from qmail's control files, made the one
 * way qmail-smtpd and qmail-popup make it: DIR/servercert.pem (its key
 * and chain, required), and when present DIR/servercert2.pem (a second
 * key type), DIR/dh2048.pem and DIR/tlsticketkeys; the cipher lists and
 * the oldest protocol as the caller read them (tlsserverciphers,
 * tlsserverciphersuites, tlsserverminprotocol).  A damaged ticket key
 * file costs resumption, not TLS; an unknown protocol name means
 * TLSv1.2.  Never logs: what the caller should log comes back as lines.
 */
#ifndef TLSCTL_H
#define TLSCTL_H

#include "bstr.h"
#include "tls.h"

struct tlsctl_conf {
    const char *dir;      /* "control", or $QMAIL_HOME/control */
    const char *ciphers;  /* NULL or "": OpenSSL's */
    const char *suites;   /* NULL or "": OpenSSL's */
    const char *minproto; /* "TLSv1.2" ..., NULL or "": TLS 1.2 */
};

/*
 * tlsctl_server - the context, or NULL with the reason in err.  warn
 * gets one line (ending in '\n') per thing worth a warning either way:
 * an unknown minproto, a ticket key file that could not be used.
 */
struct tls_ctx *tlsctl_server(const struct tlsctl_conf *c, struct bstr *warn,
                              struct bstr *err);

/* tlsctl_minversion - "TLSv1.2" as TLS_V1_2; 0 for anything unknown. */
enum tls_version tlsctl_minversion(const char *name);

#endif
