/* SPDX-License-Identifier: ISC */
/*
 * rspawn - qmail-rspawn's work: remote deliveries grouped by destination.
 *
 * qmail-send's requests (spawnproto.h) name recipients at one domain.
 * For each domain, qmail-rspawn runs up to `perdomain` workers,
 * `qmail-remote -m domain` in the queue directory, each holding one SMTP
 * connection: a request goes to an idle worker of its domain, or to a
 * new worker while the domain has fewer than perdomain, or waits in the
 * domain's line for the first worker to finish.  A worker gets one
 * request at a time and answers with one report, which goes to
 * qmail-send unchanged; so messages ready together for one destination
 * share a connection, RSET between them.  A worker idle for `linger_ms`
 * gets the end of its input (it says QUIT and exits); at most `idle_max`
 * workers stay idle at once.  A worker that dies or garbles its report
 * has its request reported as a temporary failure.  When qmail-send
 * closes the request pipe, running deliveries finish and are reported,
 * and qmail-rspawn exits.
 */
#ifndef RSPAWN_H
#define RSPAWN_H

struct rspawn_conf {
    const char *remote; /* the program: $QMAILREMOTE or bin/qmail-remote */
    unsigned perdomain; /* workers (connections) per domain at most */
    unsigned idle_max;  /* idle workers kept at most */
    unsigned linger_ms; /* how long an idle worker waits for more */
};

int rspawn_run(const struct rspawn_conf *c, int in, int out);

#endif
