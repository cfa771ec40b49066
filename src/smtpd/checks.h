/* SPDX-License-Identifier: ISC */
/*
 * checks.h - spamcontrol's checks in qmail-smtpd (checks.c): badhelo,
 * badrcptto, badmailfrom patterns, a sender domain that must exist, HELO
 * sanity, recipients and errors per session, tarpitting and pre-greeting
 * talkers.  Each is switched by a control file and, per tcp.smtp rule,
 * by an environment variable; trusted (RELAYCLIENT, POP-before-SMTP) and
 * authenticated clients skip them all.
 */
#ifndef SMTPD_CHECKS_H
#define SMTPD_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "outcome.h"

/* the compiled lists and patterns, made from the settings (checks.c) */
struct smtpd_checks_cf;

/* what the environment made of the settings for this session, and the
 * session's own counters; zero at the start of every session */
struct smtpd_checks {
    bool badhelo, badmailfrom, badrcptto; /* off: NOBADHELO etc. */
    bool helome, helobareip, helosyntax;  /* off: NOHELOCHECK */
    bool mfdns;                /* the sender's domain must exist */
    unsigned long maxrcpt;     /* 0: SMTPD_RCPT_MAX only */
    unsigned long maxerrors;   /* 0: no limit */
    unsigned long tarpitcount; /* 0: no tarpit after recipients */
    unsigned long tarpiterrors; /* 0: no tarpit after errors */
    unsigned long tarpitdelay; /* ms */
    unsigned long greetdelay;  /* ms, 0: no wait before the greeting */
    unsigned long rcpts;       /* RCPT commands since MAIL */
    bool tarpitting;           /* the tarpit's log line was written */
    char detail[128];          /* the pattern that refused, for the log */
    bool helo_known;           /* helo_r holds the verdict on this HELO */
    enum reason helo_r;        /* the HELO checks' verdict */
    struct dns *dns;           /* MFDNSCHECK's resolver, made at first use */
    struct bstr mfdns_dom;     /* the last sender domain looked up ... */
    int mfdns_found;           /* ... and whether it exists (1/0) */
};

struct smtpd_config;
struct smtpd_session;
struct smtpd_mail_arg;

int smtpd_checks_init(struct smtpd_config *cf) WUR;
void smtpd_checks_free(struct smtpd_config *cf);
void smtpd_checks_start(struct smtpd_session *s);
void smtpd_checks_end(struct smtpd_session *s);
void smtpd_checks_helo(struct smtpd_session *s);
int smtpd_checks_greet(struct smtpd_session *s) WUR;
bool smtpd_checks_skip(const struct smtpd_session *s);
bool smtpd_checks_badmailfrom(const struct smtpd_session *s, const char *a,
                              size_t len);
enum reason smtpd_checks_mail(struct smtpd_session *s,
                              const struct smtpd_mail_arg *m);
enum reason smtpd_checks_rcpt(const struct smtpd_session *s,
                              const struct bstr *a);
int smtpd_checks_tarpit(struct smtpd_session *s) WUR;
bool smtpd_checks_errors_over(const struct smtpd_session *s);
void smtpd_checks_detail(struct smtpd_session *s, enum reason r,
                         const char *a, size_t len);

/* for the unit tests: RFC 5321's Domain or address-literal; seconds
 * with up to three decimals ("5", "0.25") as milliseconds */
bool smtpd_checks_helo_syntax(const char *h, size_t len);
int smtpd_checks_secs(const char *s, unsigned long *ms) WUR;

#endif
