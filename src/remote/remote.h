/* SPDX-License-Identifier: ISC */
/*
 * remote - qmail-remote's work: its settings, one destination's
 * connection, and delivering messages over it.
 *
 * A struct remote belongs to one destination domain.  remote_deliver()
 * takes one message (sender, recipients, the message file) and leaves a
 * result for each recipient and for the message: it opens a connection
 * when there is none (the candidates of hosts.h, skipping addresses
 * tcpto.h says are down, the next one on a refused or timed-out connect
 * or a failed greeting), or says RSET on the one left open by the
 * previous message, then runs MAIL, RCPT and DATA, pipelined when the
 * server allows.  report.c turns the results into qmail-remote's output.
 */
#ifndef REMOTE_H
#define REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "hosts.h"
#include "ipme.h"
#include "result.h"
#include "routes.h"
#include "smtp.h"
#include "tlspolicy.h"

#define REMOTE_WINDOW 100 /* pipelined commands per write at most */
#define REMOTE_NOMEM RESULT_NOMEM_TEXT "\n"

/* The settings, read once from control/ (the table is in conf.c). */
struct remote_conf {
    struct bstr me;
    struct bstr helohost;
    unsigned long timeoutconnect;
    unsigned long timeoutremote;
    struct bstr outgoingip;
    struct bstr smtproutes;
    struct bstr moreipme;
    struct bstr notipme;
    struct bstr tlsdestinations;
};

struct remote {
    const struct remote_conf *c;
    const char *host;     /* the destination domain, lower case */
    struct routes routes;
    struct ipme ipme;
    struct hosts_resolver res;
    const char *tcpto;    /* the downed-host file, NULL: none */
    struct ipaddr src4, src6;
    bool has_src4, has_src6;
    struct smtp s;        /* the connection, open or not */
    char *ctldir;              /* $QMAIL_HOME/control, absolute: files
                                  read after the chdir to the queue */
    struct tlspolicy tlsdest;  /* control/tlsdestinations */
    struct authroutes auth;    /* control/smtproutes-auth */
    struct tls_policy policy;  /* the destination's */
    struct tls_ctx *ctx;       /* the client context (system CAs) */
    struct tls_ctx *hostctx;   /* one with control/tlshosts/NAME.pem */
    char *hostca;              /* ... which it was made from */
    bool ctxfailed;            /* the client context could not be made */
    struct bstr ctxerr;        /* ... and why */
    struct bstr tlsnote;       /* about TLS on this connection, for the
                                  results ("TLS: ..." lines) */
    unsigned long connections; /* opened so far */
};

/*
 * One recipient's result: 0 not reached, 'r' accepted, 'h', 's'.  The
 * last tail bytes of text are for batch reports only: what qmail-1.03's
 * qmail-rspawn added from the message's own result ("Giving up on IP."
 * after a refused RCPT), which the classic interface leaves to it.
 */
struct remote_rcpt {
    const char *addr;
    char code;
    struct bstr text;
    size_t tail;
};

struct remote_msg {
    const char *sender;
    struct remote_rcpt *r;
    size_t n;
    int fd;                 /* the message, LF line ends */
    char final;             /* 'K', 'Z' or 'D' */
    struct bstr text;       /* the final text, lines ended by '\n' */
    bool nomem;             /* the text is REMOTE_NOMEM (it could not be
                               stored); final is 'Z' */
};

int remote_conf_load(struct remote_conf *c, const char **badfile) WUR;
void remote_conf_free(struct remote_conf *c);
int remote_init(struct remote *rm, const struct remote_conf *c,
                const char *host, struct bstr *why) WUR;
void remote_free(struct remote *rm);

/* secure.c: STARTTLS and AUTH after EHLO (see there). */
enum {
    REMOTE_SECURE_OK = 0,
    REMOTE_SECURE_FAIL = -1,
    REMOTE_SECURE_PLAIN = -2,
};
int remote_secure(struct remote *rm, const char *name, bool plain,
                  struct bstr *why) WUR;

int remote_msg_init(struct remote_msg *m, const char *sender,
                    const char *const *rcpts, size_t n, int fd) WUR;
void remote_msg_free(struct remote_msg *m);
void remote_deliver(struct remote *rm, struct remote_msg *m);
void remote_finish(struct remote *rm);

int remote_report_classic(const struct remote_msg *m, struct bstr *out) WUR;
int remote_report_batch(const struct remote_msg *m, unsigned slot,
                        struct bstr *out) WUR;

#endif
