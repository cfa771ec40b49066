/* SPDX-License-Identifier: ISC */
/*
 * result - delivery results as data: every failure text that local and
 * remote delivery write (qmail-local, qmail-lspawn, qmail-remote,
 * qmail-rspawn, vdelivermail, qmail-send), formatted from one table and
 * parsed back in one place (for bounces).
 *
 * Each reason has a name, a kind (temporary or permanent), an RFC 3463
 * code and qmail's text with "%s" where the caller's words go.  The
 * texts are a compatibility contract (qmail-1.03's, which scripts and
 * logs parse): they come out byte for byte as qmail-ng always wrote
 * them, and tests/unit/test_result.c pins every one.  Handlers name a
 * reason and never write a "(#x.y.z)" by hand.  Never exits or logs.
 */
#ifndef RESULT_H
#define RESULT_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "fmt.h"
#include "ipaddr.h"
#include "outcome.h"

/* the line qmail-remote puts before the remote server's reply */
#define RESULT_SAID "Remote host said: "
/* qmail's warning in RS_DIED and RS_SENT_BAD when the whole message went
 * out and only its reply is missing: the server may have it */
#define RESULT_DUPLICATE "Possible duplicate! "
/* RS_NOMEM's text, for reports that must be made without memory */
#define RESULT_NOMEM_TEXT "Out of memory. (#4.3.0)"

enum result_reason {
    /* qmail-local: the home directory and the .qmail file */
    RS_NOMEM,
    RS_HOME_STAT,
    RS_HOME_WRITABLE,
    RS_HOME_STICKY,
    RS_OPEN,
    RS_READ,
    RS_CHDIR,
    RS_DOTQMAIL_WRITABLE,
    RS_DOTQMAIL_TOOBIG,
    RS_DOTQMAIL_BLANK,
    RS_DOTQMAIL_XBIT,
    RS_DOTQMAIL_LINE,
    RS_NOMAILBOX,
    /* qmail-local: the deliveries */
    RS_REWIND,
    RS_READ_MSG,
    RS_LOOP,
    RS_MAILDIR_OPEN,
    RS_MAILDIR_FULL,
    RS_MAILDIR_WRITE,
    RS_MBOX_OPEN,
    RS_MBOX_DOTLOCK,
    RS_MBOX_LOCK,
    RS_MBOX_LOCKED,
    RS_MBOX_WRITE,
    RS_FORK,
    RS_RUN_SH,
    RS_WAIT,
    RS_CRASHED,
    /* qmail-lspawn */
    RS_MESS_OPEN,
    RS_MESS_SETUP,
    RS_LSPAWN_NOMEM,
    RS_USERS,
    RS_ROOT,
    RS_SETUSER,
    RS_RUN,
    RS_LOCAL_CRASHED,
    RS_LSPAWN_ONE,
    RS_LSPAWN_BUSY,
    RS_LSPAWN_PIPE,
    RS_LSPAWN_FORK,
    /* qmail-remote: set-up */
    RS_MISUSED,
    RS_CTL_READ,
    RS_CTLS_READ,
    RS_HOME_CHDIR,
    RS_DNS_SETUP,
    RS_OSERR,
    RS_OUTGOINGIP_BAD,
    RS_OUTGOINGIP_TWO,
    RS_AUTH_MODE,
    RS_AUTH_LINE,
    RS_ROUTES_LINE,
    RS_IPME_BAD,
    RS_TLSDEST_LINE,
    /* qmail-remote: finding and reaching the host */
    RS_HOST_NONE,
    RS_HOST_NULLMX,
    RS_HOST_TEMP,
    RS_MX_LOOP,
    RS_NOCONN,
    RS_UNBOUND,
    RS_SENT_BAD,
    RS_DIED,
    RS_TLS_FAILED,
    RS_AUTH_NOTLS,
    RS_AUTH_NOMECH,
    RS_AUTH_REFUSED,
    /* qmail-remote: the message */
    RS_NOREAD,
    RS_SENDER_CTL,
    RS_RCPT_CTL,
    RS_NORCPT_LEFT,
    RS_SENDER_UTF8,
    RS_RCPT_UTF8,
    RS_TOOBIG,
    /* qmail-remote: who said what; the reply that follows decides */
    RS_R_GREETING,
    RS_R_HELO,
    RS_R_SENDER,
    RS_R_RCPT,
    RS_R_GIVEUP,
    RS_R_DATA,
    RS_R_AFTERDATA,
    RS_R_ACCEPTED,
    /* qmail-remote: the line on how the message travelled */
    RS_NOTE_PLAIN,
    RS_NOTE_TLS,
    /* qmail-rspawn */
    RS_REMOTE_START,
    RS_REMOTE_CRASHED,
    RS_REMOTE_FAILED,
    RS_REMOTE_NOREPORT,
    RS_REMOTE_GARBLED,
    RS_NORCPTS,
    /* qmail-send */
    RS_EXPIRED,
    RS_COUNT
};

struct result {
    enum result_reason reason;
    const char *name;       /* short tag */
    enum outcome_kind kind; /* OUTCOME_TEMP or OUTCOME_PERM; for a line
                               the reply decides, what it is without one */
    const char *esc;        /* RFC 3463 code; NULL: the reply's, if any */
    const char *text;       /* qmail's text; "%s" for each argument */
};

/* RESULT_ARGS - the argument list of result_cat/result_set from strings. */
#define RESULT_ARGS(...)                                                       \
    (const char *const[]){__VA_ARGS__},                                        \
        (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
#define RESULT_NOARGS NULL, 0

const struct result *result_get(enum result_reason r);
int result_exit(enum result_reason r);
size_t result_nargs(enum result_reason r);
int result_cat(struct bstr *out, enum result_reason r, const char *const *args,
               size_t nargs) WUR;
int result_line(struct bstr *out, enum result_reason r, const char *const *args,
                size_t nargs) WUR;
int result_set(struct bstr *out, enum result_reason r, const char *const *args,
               size_t nargs);
const char *result_num(char buf[FMT_ULONG], unsigned long long u);
int result_said(struct bstr *out, const char *reply, size_t len) WUR;

/* What a result text says, read back (for bounces). */
struct result_view {
    char esc[16];     /* the RFC 3463 code, "" when the text has none */
    const char *said; /* the remote server's reply lines, or NULL */
    size_t saidlen;
    bool has_ip; /* the text starts with the address talked to */
    struct ipaddr ip;
};

void result_parse(const char *t, size_t n, struct result_view *v);

#endif
