/* SPDX-License-Identifier: ISC */
/*
 * outcome - every way a mail step can end: ok, temporary, permanent.
 *
 * One table (outcome.c) gives each reason its SMTP code, its RFC 3463
 * enhanced status code and qmail's text.  Handlers name a reason and
 * never write codes by hand.  When in doubt a failure is temporary: mail
 * accepted is never lost.  A text with "%s" (the DNS blocklists', where
 * the zone goes) is formatted by outcome_cat, never sent as it is.
 */
#ifndef OUTCOME_H
#define OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

enum outcome_kind { OUTCOME_OK, OUTCOME_TEMP, OUTCOME_PERM };

/* Exit codes between programs (qmail's). */
#define EXIT_OK 0
#define EXIT_PERM 100
#define EXIT_TEMP 111

/* qmail-queue's exit codes (qmail-queue(8)); 11-40 are permanent. */
enum qq_exit {
    QQ_OK = 0,
    QQ_ADDR_TOO_LONG = 11,
    QQ_PERM_REFUSED = 31,
    QQ_NOMEM = 51,
    QQ_TIMEOUT = 52,
    QQ_WRITE = 53,
    QQ_READ = 54,
    QQ_CONFIG = 55,
    QQ_NETWORK = 56,
    QQ_HOME = 61,
    QQ_QUEUEDIR = 62,
    QQ_PID = 63,
    QQ_MESS = 64,
    QQ_INTD = 65,
    QQ_TODO = 66,
    QQ_TEMP_REFUSED = 71,
    QQ_CONN_TIMEOUT = 72,
    QQ_CONN_REJECTED = 73,
    QQ_COMM_FAILED = 74,
    QQ_BUG = 81,
    QQ_ENVELOPE = 91,
    QQ_EXEC = 120 /* not qmail-queue's own: the exec itself failed */
};

enum reason {
    /* ok */
    OC_OK,
    OC_MAIL_OK,
    OC_RCPT_OK,
    OC_RSET,
    OC_VRFY,
    OC_HELP,
    OC_DATA_GO,
    OC_GREET,
    OC_HELO,
    OC_QUIT,
    OC_TLS_GO,
    OC_AUTH_OK,
    OC_AUTH_MORE,
    /* SMTP protocol errors */
    OC_SYNTAX,
    OC_UNIMPL,
    OC_BADCMD,
    OC_LONGCMD,
    OC_WANTMAIL,
    OC_WANTRCPT,
    OC_NESTEDMAIL,
    OC_BADPARAM,
    OC_NEEDUTF8,
    OC_BADUTF8,
    OC_BDAT_MIX,
    OC_TOOMANYERR,
    OC_TOOMANYRCPT,
    /* STARTTLS (RFC 3207) and AUTH (RFC 4954) */
    OC_TLS_ARG,
    OC_TLS_TEMP,
    OC_TLS_NEEDED,
    OC_AUTH_UNAVAIL,
    OC_AUTH_TWICE,
    OC_AUTH_INTXN,
    OC_AUTH_MECH,
    OC_AUTH_INPUT,
    OC_AUTH_CANCEL,
    OC_AUTH_LONG,
    OC_AUTH_NEEDTLS,
    OC_AUTH_FAILED,
    OC_AUTH_TEMP,
    OC_AUTH_NEEDED,
    OC_AUTH_TOOMANY,
    /* policy */
    OC_BADMAILFROM,
    OC_NOGATEWAY,
    OC_ROUTING,
    OC_NOMAILBOX,
    OC_MBOXFULL_TEMP,
    OC_MBOXFULL,
    OC_TOOBIG,
    OC_HOPS,
    /* message content */
    OC_BARENL,
    OC_NUL,
    OC_LONGLINE,
    /* local trouble */
    OC_TIMEOUT,
    OC_SLOWCMD,
    OC_SLOWDATA,
    OC_NOMEM,
    OC_CONTROL,
    OC_TEMPFAIL,
    OC_ROOT,
    /* qmail-queue results */
    OC_QQ_ADDR,
    OC_QQ_PERM,
    OC_QQ_NOMEM,
    OC_QQ_TIMEOUT,
    OC_QQ_WRITE,
    OC_QQ_READ,
    OC_QQ_CONFIG,
    OC_QQ_NETWORK,
    OC_QQ_HOME,
    OC_QQ_QUEUE,
    OC_QQ_TEMPREFUSED,
    OC_QQ_CONNTIMEOUT,
    OC_QQ_CONNREJECTED,
    OC_QQ_COMM,
    OC_QQ_BUG,
    OC_QQ_EXEC,
    OC_QQ_PERMOTHER,
    OC_QQ_TEMPOTHER,
    /* DNS blocklists (src/smtpd/dnsbl.c) */
    OC_DNSBL,      /* the client's IP is listed (control/dnsbl) */
    OC_RHSBL_HELO, /* its HELO domain is listed (control/rhsbl) */
    OC_RHSBL_FROM, /* the sender's domain is listed (control/rhsbl) */
    OC_DNSBL_BUDGET, /* a session's blocklist lookups are used up */
    /* spamcontrol's checks (src/smtpd/checks.c) */
    OC_BADHELO,
    OC_HELO_ME,
    OC_HELO_BAREIP,
    OC_HELO_SYNTAX,
    OC_BADRCPTTO,
    OC_MFDNS,
    OC_MAXRCPT,
    OC_PREGREET,
    /* rate limits and send quotas (src/smtpd/ratelimit.c) */
    OC_RATE_CONN,   /* connections per ip or net over its limit */
    OC_RATE_MSGS,   /* messages per ip or net */
    OC_RATE_RCPTS,  /* recipients per ip or net */
    OC_QUOTA_MSGS,  /* an AUTH user's (or its domain's) send quota */
    OC_QUOTA_RCPTS,
    /* greylisting (src/smtpd/greylist.c) */
    OC_GREYLIST,       /* first sight of the triplet */
    OC_GREYLIST_EARLY, /* retried before the delay was over */
    OC_GREYLIST_LATE,  /* retried after the window: first sight again */
    OC_COUNT
};

struct outcome {
    enum reason reason;
    const char *name;     /* short tag for log lines */
    unsigned short smtp;  /* reply code */
    const char *esc;      /* RFC 3463 code, NULL for 354 */
    const char *text;     /* qmail's text; rejections end in "(#x.y.z)" */
};

/* OUTCOME_ARGS - the argument list of outcome_cat from strings. */
#define OUTCOME_ARGS(...)                                                      \
    (const char *const[]){__VA_ARGS__},                                        \
        (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

const struct outcome *outcome_get(enum reason r);
enum outcome_kind outcome_kind(enum reason r);
enum reason outcome_from_qq(int exitcode);
enum outcome_kind outcome_qq_kind(int exitcode);
bool outcome_errno_temp(int e);
size_t outcome_nargs(enum reason r);
int outcome_cat(struct bstr *out, enum reason r, const char *const *args,
                size_t nargs) WUR;

#endif
