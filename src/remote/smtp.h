/* SPDX-License-Identifier: ISC */
/*
 * smtp - one SMTP client connection: connecting with a deadline and an
 * optional source address, commands out, replies in (reply.h), the EHLO
 * keywords, STARTTLS (the iob ops swapped for tls.h's), and the texts
 * qmail-remote reports when the connection fails.
 *
 * The socket stays non-blocking and every read and write waits at most
 * the remote timeout (iob.h), so a server that stalls anywhere, even in
 * the middle of DATA, costs one timeout, never a hung delivery.  Reading
 * a reply first writes out the commands queued before it, so a pipelined
 * group goes out in one write.  Nothing here exits or logs.
 */
#ifndef SMTP_H
#define SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "iob.h"
#include "ipaddr.h"
#include "reply.h"
#include "tls.h"

#define SMTP_INBUF 4096
#define SMTP_OUTBUF 16384
#define SMTP_QUIT_WAIT 10 /* seconds QUIT's reply is waited for at most */

enum smtp_ext {
    SMTP_PIPELINING = 1,
    SMTP_8BITMIME = 2,
    SMTP_SIZE = 4,
    SMTP_SMTPUTF8 = 8,
    SMTP_STARTTLS = 16,
    SMTP_AUTH_PLAIN = 32,
    SMTP_AUTH_LOGIN = 64,
};

struct smtp {
    int fd;                  /* -1 when closed */
    struct iob in, out;
    char inbuf[SMTP_INBUF];
    char outbuf[SMTP_OUTBUF];
    struct reply rep;        /* the last reply read */
    struct ipaddr ip;        /* the peer */
    char ipstr[IPADDR_FMT];
    unsigned port;
    unsigned timeout;        /* seconds per read or write */
    unsigned ext;            /* SMTP_* from the EHLO reply */
    unsigned long long sizemax; /* SIZE's limit; 0: none announced */
    int err;                 /* after a failure: errno, 0 for end of file */
    const char *bad;         /* after a failure: what was wrong in a reply */
    bool ready;              /* greeted and introduced: can take MAIL */
    struct tls_conn *tls;    /* after STARTTLS, else NULL */
    bool verified;           /* the TLS peer's certificate verified */
};

void smtp_init(struct smtp *s, unsigned timeout);
int smtp_connect(struct smtp *s, const struct ipaddr *ip, unsigned port,
                 const struct ipaddr *src, unsigned timeout) WUR;
int smtp_put(struct smtp *s, const char *p, size_t n) WUR;
int smtp_flush(struct smtp *s) WUR;
int smtp_read(struct smtp *s) WUR;
void smtp_ehlo_parse(struct smtp *s);
int smtp_starttls(struct smtp *s, struct tls_ctx *ctx, const char *sni,
                  struct bstr *err) WUR;
int smtp_said(const struct smtp *s, struct bstr *out) WUR;
int smtp_died(const struct smtp *s, bool critical, struct bstr *out) WUR;
void smtp_quit(struct smtp *s);
void smtp_close(struct smtp *s);
void smtp_free(struct smtp *s);

#endif
