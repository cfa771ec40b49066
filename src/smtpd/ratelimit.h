/* SPDX-License-Identifier: ISC */
/*
 * ratelimit - qmail-smtpd's rate limits and send quotas (issue 13 §3,
 * DESIGN §4.2 and §4.4), counted in the shared store of ratestore.h.
 *
 * Per client IP and per network (/24, /64): connections, messages and
 * recipients per minute, hour or day; per authenticated user and per
 * domain of that user: messages and recipients per minute, hour or day
 * (the send quotas: a stolen password cannot spray the world).  The
 * rules come from control/ratelimits, one a line:
 *     ip:conn/min:60          every client address
 *     net:msgs/min:300        every /24 or /64
 *     user:msgs/hour:500      every authenticated user
 *     domain:rcpts/day:20000  every domain, its users together
 *     user:joe@example.com:msgs/day:5000    one user's own (0: none)
 *     ip:192.0.2.7:conn/min:0              one client's own
 *     window:fixed            (or sliding, the default)
 * and for one tcpserver rule from $RATELIMIT (the same lines, separated
 * by spaces or commas, over the file's) and $RATELIMITSKIP (set: no
 * ip/net limits).  Trusted clients (RELAYCLIENT from tcpserver or
 * POP-before-SMTP) and authenticated sessions skip the ip/net limits of
 * messages and recipients; an authenticated user never skips its quotas.
 * A store that cannot be opened or is full means no limit, with a log
 * line: limits fail open, never refuse mail because of our own trouble.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bstr.h"
#include "outcome.h"
#include "ratestore.h"

enum ratelimit_class { RL_IP, RL_NET, RL_USER, RL_DOMAIN, RL_CLASSES };

struct ratelimit_override {
    char *key;                         /* "user:joe@example.com" */
    uint32_t limit[RATE_COUNTERS];
    uint16_t set;                      /* bit per counter given */
};

struct ratelimit_rules {
    uint32_t limit[RL_CLASSES][RATE_COUNTERS]; /* 0: none */
    struct ratelimit_override *ov;     /* sorted by key */
    size_t nov, aov;
    bool sliding;
};

/* the process's: rules from the file, this session's from $RATELIMIT,
 * the store (opened at first need, kept from session to session) */
struct smtpd_rate {
    struct ratelimit_rules file;
    struct ratelimit_rules env;        /* the file's, with $RATELIMIT over */
    bool env_given;
    struct ratestore store;
    bool store_open;
    const char *path;                  /* RATESTORE_PATH (tests: another) */
    struct bstr key, text;             /* scratch */
    char detail[RATESTORE_KEY_MAX + 64]; /* the refusal's detail= */
};

int ratelimit_parse(struct ratelimit_rules *r, const char *line, size_t len,
                    const char **why);
void ratelimit_rules_free(struct ratelimit_rules *r);
int ratelimit_rules_copy(struct ratelimit_rules *to,
                         const struct ratelimit_rules *from);
uint32_t ratelimit_limit(const struct ratelimit_rules *r,
                         enum ratelimit_class cls, const char *key,
                         unsigned counter);

struct smtpd_config;
struct smtpd_session;
int smtpd_rate_load(struct smtpd_config *cf);
int smtpd_rate_connect(struct smtpd_session *s);
enum reason smtpd_rate_mail(struct smtpd_session *s);
enum reason smtpd_rate_rcpt(struct smtpd_session *s);

#endif
