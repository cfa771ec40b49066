/* SPDX-License-Identifier: ISC */
/*
 * smtpd.h - qmail-smtpd's session, settings and internal interfaces.
 *
 * One process serves one SMTP connection on fds 0/1.  Settings are read
 * once into struct smtpd_config and never change afterwards; everything
 * that changes lives in struct smtpd_session and is passed explicitly.
 * The parsers (command lines, ESMTP parameters, message data, Received
 * fields) are pure functions that the unit tests and fuzzers call
 * directly.  Nothing in this family exits: handlers report how a session
 * must end in s->fate and qmail-smtpd.c's die paths act on it.
 */
#ifndef SMTPD_H
#define SMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bstr.h"
#include "cdbmap.h"
#include "iob.h"
#include "outcome.h"
#include "rcptmap.h"
#include "qq.h"
#include "tls.h"
#include "auth.h"
#include "checks.h"

#define SMTPD_CMD_MAX 1000     /* bytes of a command line, CRLF excluded */
#define SMTPD_RCPT_MAX 1000    /* recipients in one transaction */
#define SMTPD_LINE_MAX 65536   /* bytes of a message line, CRLF excluded */
#define SMTPD_HOPS_MAX 100     /* Received:/Delivered-To: lines allowed */
#define SMTPD_FIELD_MAX 200    /* bytes of one Received field (HELO etc.) */
#define SMTPD_AUTH_FAILS 3     /* failed AUTH attempts before the end */
#define SMTPD_AUTH_TIMEOUT 60  /* seconds a checkpassword program has */
#define SMTPD_INBUF 65536
#define SMTPD_OUTBUF 8192

/* ---- settings (qmail-smtpd.c reads them with ctl_load) -------------- */

struct smtpd_config {
    struct bstr me;
    struct bstr greeting;    /* smtpgreeting, first line */
    struct bstr localiphost; /* replaces [our own IP] in recipients */
    struct bstr rcpthosts;   /* list; lowercased by smtpd_policy_init */
    struct bstr badmailfrom; /* list; lowercased by smtpd_policy_init */
    bool rcpthosts_present;  /* absent file: no relay control (qmail) */
    struct bstr norcptcheck; /* domains whose unknown names are taken */
    struct bstr overquota;   /* "defer" (452) or "bounce" (552) */
    unsigned long databytes; /* 0: no limit */
    unsigned long timeout;   /* seconds per read or write */
    unsigned long cmdtimeout;  /* seconds for a whole command line, 0: none */
    unsigned long datatimeout; /* seconds a message has before... */
    unsigned long minrate;     /* ...it must come at this many bytes/s */

    /* TLS (starttls.c): control files, then tcpserver's environment */
    bool tls_cert;             /* control/servercert.pem exists */
    struct bstr tlsciphers;    /* tlsserverciphers: TLS <= 1.2 */
    struct bstr tlssuites;     /* tlsserverciphersuites: TLS 1.3 */
    struct bstr tlsmin;        /* tlsserverminprotocol: TLSv1.2 */
    bool smtps;                /* $SMTPS: TLS from the first byte (465) */
    bool tls_off;              /* $UCSPITLS is "-": no STARTTLS */
    bool tls_required;         /* $UCSPITLS is "!": MAIL only after TLS */

    /* AUTH (auth.c): the checkpassword program from the command line */
    char **checkpw;            /* NULL: no AUTH */
    const char *authhost;      /* the CRAM-MD5 challenge's host name */
    unsigned long authplain;   /* authplaintext: AUTH offered without TLS */
    bool auth_off;             /* $SMTPAUTH is "-" */
    bool auth_required;        /* $SMTPAUTH is "!": MAIL only after AUTH */
    bool auth_scram;           /* $SMTPAUTHSCRAM is "1": the program speaks
                                * doc/vchkpw.8's SCRAM conversation */

    /* POP-before-SMTP: seconds a POP3/IMAP login lets its IP relay
     * (users/open-smtp, src/lib/opensmtp.h); 0: off */
    unsigned long opensmtpage;

    /* DNS blocklists (src/smtpd/dnsbl.c) */
    struct bstr dnsbl;          /* control/dnsbl: IP blocklist sites */
    struct bstr rhsbl;          /* control/rhsbl: domain blocklist sites */
    struct bstr dnsblthreshold; /* the score that refuses (default 1) */
    unsigned long dnsbltimeout; /* seconds the lookups may take */
    struct smtpd_dnsbl_conf *dnsblc; /* all that, parsed (dnsbl.c) */
    /* spamcontrol's checks (src/smtpd/checks.c) */
    struct bstr badhelo;        /* lists; lowercased by smtpd_checks_init */
    struct bstr badrcptto;
    struct bstr helocheck;      /* "me", "bareip", "syntax" */
    unsigned long mfdnscheck;   /* 1: a sender's domain must exist */
    unsigned long maxrcpt;      /* recipients per message, 0: no limit */
    unsigned long maxerrors;    /* errors per session, 0: no limit */
    unsigned long tarpitcount;  /* RCPTs before the tarpit, 0: none */
    unsigned long tarpiterrors; /* errors before the tarpit, 0: none */
    struct bstr tarpitdelay;    /* seconds ("0.5" too) */
    struct bstr greetdelay;     /* seconds before the greeting */
    struct smtpd_checks_cf *checks; /* all that, compiled (checks.c) */
    const char *checks_bad;     /* the control file checks.c refused */
    /* rate limits and send quotas (src/smtpd/ratelimit.c) */
    struct bstr ratelimits;     /* control/ratelimits: the rules' lines */
    struct smtpd_rate *ratec;   /* them parsed, and the store (ratelimit.c) */
    /* greylisting (src/smtpd/greylist.c) */
    unsigned long greylist;        /* seconds before a retry passes; 0: off */
    unsigned long greylistwindow;  /* seconds after first sight it may come */
    unsigned long greylistmaxage;  /* seconds a passed triplet stays good */
    unsigned long greylistclients; /* passes that allow a network; 0: never */
};

/* ---- policy.c: relay control and badmailfrom ------------------------ */

/* A read-only set of NUL-terminated strings, hashed for O(1) lookups. */
struct smtpd_set {
    const char **slot;
    size_t mask;
};

struct smtpd_policy {
    struct smtpd_set rcpthosts;
    struct smtpd_set badmailfrom;
    struct smtpd_set norcptcheck; /* "*" in it: no domain is checked */
    bool overquota_bounce;
    struct rcptmap_result mbox;   /* what the last mailbox check found */
    bool relaycontrol;        /* rcpthosts exists */
    bool more;                /* morercpthosts.cdb is open */
    struct cdbmap morercpthosts;
    const char *localiphost;
    struct bstr key;          /* scratch for lookups */
    struct bstr val;
};

int smtpd_set_build(struct smtpd_set *set, const struct bstr *list);
bool smtpd_set_has(const struct smtpd_set *set, const char *s, size_t len);
void smtpd_set_free(struct smtpd_set *set);

int smtpd_policy_init(struct smtpd_policy *p, struct smtpd_config *cf,
                      const char *morepath);
void smtpd_policy_free(struct smtpd_policy *p);
bool smtpd_policy_badmailfrom(const struct smtpd_policy *p, const char *a,
                              size_t len);
enum reason smtpd_policy_rcpt(struct smtpd_policy *p, struct bstr *addr,
                              bool trusted);
enum reason smtpd_policy_mailbox(struct smtpd_policy *p,
                                 const struct bstr *addr, time_t now);
int smtpd_ipme(const char *literal, size_t len);

/* ---- data.c: the DATA/BDAT push parser ------------------------------ */

/*
 * Feed the raw bytes of a DATA or BDAT body in any pieces; get back the
 * message as the queue stores it (dot-unstuffed, LF line ends) and, for
 * DATA, the event "end of data" exactly at CRLF.CRLF, or "bare" at the
 * first bare LF or bare CR: then the client's idea of where the data
 * ends is not ours, and the session must end at once (qmail's smtplf
 * rule).  Other problems are remembered in err (the first one found) and
 * never stop the parsing: the caller must read to the end to stay in
 * step with the client.  In BDAT a bare LF or CR is one of those.  Once
 * err is set no more output is produced.
 */
enum smtpd_data_ev { SMTPD_DATA_MORE, SMTPD_DATA_END, SMTPD_DATA_BARE };

struct smtpd_data {
    bool dot;                /* DATA: dot-stuffed, ends at CRLF.CRLF */
    unsigned char st;        /* transport state (data.c) */
    bool inheader;           /* before the first empty line */
    unsigned char hdrlen;    /* bytes of hdr[] in use */
    char hdr[14];            /* start of the line, lowercased */
    unsigned hops;           /* Received:/Delivered-To: lines seen */
    size_t linelen;          /* bytes of the current line so far */
    unsigned long long max;  /* size cap, 0: none */
    unsigned long long bytes; /* message bytes as stored */
    enum reason err;         /* OC_OK, or the first problem found */
};

void smtpd_data_init(struct smtpd_data *d, bool dot, unsigned long long max);
enum smtpd_data_ev smtpd_data_feed(struct smtpd_data *d, const char *in,
                                   size_t n, size_t *used, char *out,
                                   size_t *outlen);
enum reason smtpd_data_finish(struct smtpd_data *d);

/* ---- received.c ----------------------------------------------------- */

struct smtpd_trace {
    const char *remotehost; /* TCPREMOTEHOST or "unknown" */
    const char *helo;       /* NULL when the client gave none */
    const char *remoteinfo; /* TCPREMOTEINFO or NULL */
    const char *remoteip;
    const char *local;      /* TCPLOCALHOST, TCPLOCALIP or "unknown" */
    bool utf8;              /* SMTPUTF8 used: protocol UTF8SMTP */
    const char *tls;        /* "TLSv1.3 CIPHER" after STARTTLS, or NULL */
    bool auth;              /* AUTH succeeded: ESMTPA (RFC 3848) */
};

int smtpd_received(struct bstr *out, const struct smtpd_trace *t,
                   time_t now) WUR;
int smtpd_safe_cat(struct bstr *out, const char *s, size_t max) WUR;

/* ---- commands.c: parsing (pure) -------------------------------------- */

struct smtpd_session;
typedef int (*smtpd_handler)(struct smtpd_session *s, const char *arg,
                             size_t len);

enum smtpd_verb_flag {
    VERB_NEEDARG = 1, /* without an argument: 555 syntax error */
};

struct smtpd_verb {
    const char *name;
    smtpd_handler fn;
    unsigned flags;
};

struct smtpd_cmd {
    const struct smtpd_verb *verb; /* the "unknown verb" entry if none */
    const char *arg;               /* after the verb and its spaces */
    size_t arglen;
};

struct smtpd_mail_arg {
    struct bstr addr;           /* caller-owned; "" for <> */
    unsigned long long size;    /* SIZE=, ULLONG_MAX when it overflowed */
    bool size_given;
    bool body8;                 /* BODY=8BITMIME */
    bool utf8;                  /* SMTPUTF8 */
};

enum reason smtpd_cmd_parse(const char *line, size_t len,
                            struct smtpd_cmd *c);
enum reason smtpd_parse_mail(const char *arg, size_t len,
                             struct smtpd_mail_arg *m);
enum reason smtpd_parse_rcpt(const char *arg, size_t len, bool utf8,
                             struct bstr *addr);
int smtpd_parse_bdat(const char *arg, size_t len, unsigned long long *size,
                     bool *last);

/* ---- commands.c: the session ---------------------------------------- */

/*
 * Where the dialogue is.  qmail-1.03 takes MAIL without a HELO, so START
 * and HELLO differ only in what the Received line and the log can say.
 * STARTTLS (RFC 3207 4.2) and a second HELO/EHLO return to START/HELLO
 * with the transaction forgotten.
 */
enum smtpd_state {
    SMTPD_START,  /* greeted; no HELO or EHLO yet */
    SMTPD_HELLO,  /* no transaction */
    SMTPD_MAIL,   /* MAIL accepted: RCPT, then DATA or BDAT */
    SMTPD_CHUNKS, /* a BDAT chunk of the message is in */
};

/*
 * One mail transaction: everything MAIL starts and the end of the
 * message, RSET, HELO, EHLO or STARTTLS forgets.  txn_reset (commands.c)
 * keeps the two strings' memory and is otherwise one assignment.
 */
struct smtpd_txn {
    struct bstr sender;
    struct bstr rcpts;        /* NUL-terminated addresses */
    unsigned long nrcpt;
    bool utf8;                /* MAIL ... SMTPUTF8 */
    bool qq_open;             /* qmail-queue has this message's start */
    long long body_start;     /* when the message's data began (mono ms) */
    unsigned long long body_bytes; /* bytes of it read from the client */
};

struct smtpd_session {
    const struct smtpd_config *cf;
    struct smtpd_policy *pol;
    struct iob in, out;

    /* from tcpserver (never NULL except remoteinfo and relayclient) */
    const char *remoteip, *remotehost, *remoteinfo, *local;
    const char *relayclient;
    const char *tcpremoteinfo, *tcprelayclient; /* as tcpserver set them */
    const char *qqprog;

    /* session */
    enum smtpd_state state;
    struct bstr helo;
    bool esmtp;               /* EHLO: enhanced status codes on replies */
    bool wfail;               /* a reply could not be written */
    unsigned errors;
    unsigned long msgs, rcpts_total;
    unsigned long long bytes_total;

    /* TLS and AUTH (starttls.c, auth glue in commands.c) */
    struct tls_ctx *tlsctx;   /* made at the first STARTTLS */
    struct tls_conn *tls;     /* NULL: plaintext */
    char tlsinfo[128];        /* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
    struct bstr authuser;     /* who AUTH said the client is; empty: none */
    unsigned authfails;
    struct smtpd_auth auth;
    bool secrets;             /* STARTTLS or AUTH was tried: the process
                               * must not serve another session */

    struct smtpd_txn txn;
    unsigned char deadline;   /* which limit s->in's deadline is (commands.c) */
    struct qq qq;             /* qmail-queue, for the whole session */
    int qq_exit;              /* for a refusal's log: qq's exit code, or -1 */
    bool qq_said;             /* and what it said (qq_said) */
    struct smtpd_data data;

    /* what a refusal is about, for its log line (set by the act steps) */
    const char *cur_from;
    size_t cur_from_len;
    const char *cur_rcpt;
    size_t cur_rcpt_len;

    /* scratch */
    struct bstr line;
    struct smtpd_mail_arg marg;
    struct bstr tmp;
    char *databuf;            /* SMTPD_INBUF bytes: parser output */

    /* how the session ends: a reply (OC_OK: none) and a word for the log */
    enum reason fate;
    const char *how;

    /* DNS blocklists (src/smtpd/dnsbl.c) */
    struct smtpd_dnsbl *dnsbl; /* this connection's lookups; NULL: none */
    const char *detail;        /* the next refusal's log detail= field (any
                                * check may set it; log_reject clears it) */
    /* spamcontrol's checks (src/smtpd/checks.c) */
    struct smtpd_checks chk;   /* this session's settings and counters */
    /* rate limits and send quotas (src/smtpd/ratelimit.c) */
    bool rate_skip;            /* trusted or $RATELIMITSKIP: no ip/net limits */
    bool rate_tried;           /* the store's opening was tried */
    bool rate_warned;          /* a key could not be counted: logged */
    /* greylisting (src/smtpd/greylist.c) */
    unsigned char grey_client; /* 0 not looked up, 1 allowed, 2 not */
    bool grey_warned;          /* the expiry's trouble is logged */
    unsigned grey_new;         /* triplets this session recorded */
};

extern const struct smtpd_verb smtpd_verbs[];

/* ---- starttls.c ----------------------------------------------------- */

int smtpd_tls_prepare(struct smtpd_session *s) WUR;
int smtpd_tls_begin(struct smtpd_session *s) WUR;
void smtpd_tls_end(struct smtpd_session *s);
bool smtpd_tls_offered(const struct smtpd_session *s);

/* the check steps: pure, no reply, no log, no change to the session */
enum reason smtpd_check_mail(const struct smtpd_session *s, const char *arg,
                             size_t len, struct smtpd_mail_arg *m);
enum reason smtpd_check_rcpt(const struct smtpd_session *s, const char *arg,
                             size_t len, struct bstr *a);
enum reason smtpd_check_data(const struct smtpd_session *s, bool bdat);
enum reason smtpd_check_starttls(const struct smtpd_session *s,
                                 size_t arglen);
bool smtpd_auth_offered(const struct smtpd_session *s);
enum reason smtpd_check_auth(const struct smtpd_session *s);

/* ---- dnsbl.c: the built-in DNSBL and RHSBL checks ------------------ */

int smtpd_dnsbl_load(struct smtpd_config *cf);
void smtpd_dnsbl_start(struct smtpd_session *s);
void smtpd_dnsbl_helo(struct smtpd_session *s);
int smtpd_dnsbl_mail(struct smtpd_session *s, const char *from, size_t len);
void smtpd_dnsbl_end(struct smtpd_session *s);

int smtpd_session_init(struct smtpd_session *s, char *inbuf, char *outbuf,
                       char *databuf) WUR;
int smtpd_read_command(struct smtpd_session *s) WUR;
int smtpd_dispatch(struct smtpd_session *s) WUR;
void smtpd_reply(struct smtpd_session *s, enum reason r, const char *extra);
void smtpd_reply_quiet(struct smtpd_session *s, enum reason r,
                       const char *extra);
void smtpd_reply_text(struct smtpd_session *s, enum reason r,
                      const char *text);
void smtpd_reply_retry(struct smtpd_session *s, enum reason r);
int smtpd_flush(struct smtpd_session *s);
void smtpd_greet(struct smtpd_session *s);
void smtpd_abort(struct smtpd_session *s);
void smtpd_forget(struct smtpd_session *s);
void smtpd_session_free(struct smtpd_session *s);

#endif
