/* SPDX-License-Identifier: ISC */
/*
 * spawnproto - how qmail-send talks to qmail-lspawn and qmail-rspawn.
 *
 * Both directions are NUL-terminated records (nulrec.h) on a pair of
 * pipes: qmail-send writes requests to the spawner's fd 0 and reads
 * reports from its fd 1.  Deliveries run in parallel; the slot number
 * ties a report to its request.
 *
 * Request, one per delivery:
 *   "<slot>\0<msgid>\0<sender>\0<rcpt>\0[<rcpt>\0...]\0"
 *   slot    decimal, below the channel's concurrency limit
 *   msgid   decimal message number; the message is mess/<msgid%23>/<msgid>
 *           under $QMAIL_HOME/queue, opened by the spawner
 *   sender  the envelope sender as queued ("" for a bounce)
 *   rcpt    recipients: exactly one for local deliveries (the address as
 *           routed by qmail-send, e.g. "prefix-user@virtual.example");
 *           one or more for remote deliveries, all at one domain
 *   ""      an empty record ends the request
 *
 * Report, one per request, in any order:
 *   "<slot>\0" then one record per recipient, in request order:
 *   "r<text>\0" delivered, "h<text>\0" failed permanently, "s<text>\0"
 *   failed temporarily; then one final record ending the report:
 *   "K<text>\0" all went through, "Z<text>\0" try again later, "D<text>\0"
 *   give up.  Text is for people (qmail-send logs the final one, with
 *   spaces as '_' and newlines as '/', and quotes recipient texts in
 *   bounces); it may be empty and holds no NUL.
 * These are qmail-remote's per-recipient and final codes, so a report
 * for one recipient reads like qmail-1.03's.
 *
 * A spawner that cannot even start a delivery (out of memory, cannot
 * fork) still reports it, with s/Z.  When qmail-send closes the request
 * pipe, the spawner finishes running deliveries, reports them and exits.
 */
#ifndef SPAWNPROTO_H
#define SPAWNPROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "nulrec.h"

#define SPAWN_RECORD_MAX 4096 /* addresses are at most 1003; texts are cut */
#define SPAWN_TEXT_MAX 2000
#define SPAWN_RCPTS_MAX 1000

int spawnproto_request(struct bstr *out, unsigned slot,
                       unsigned long long msgid, const char *sender,
                       size_t slen, const struct bstr *rcpts, size_t nrcpt)
    WUR;
int spawnproto_report_start(struct bstr *out, unsigned slot) WUR;
int spawnproto_report_rcpt(struct bstr *out, char code, const char *text,
                           size_t len) WUR;
int spawnproto_report_end(struct bstr *out, char code, const char *text,
                          size_t len) WUR;

/* Reading requests (the spawner's side). */
struct spawn_request {
    unsigned slot;
    unsigned long long msgid;
    struct bstr sender;
    struct bstr rcpts; /* each recipient followed by a NUL */
    size_t nrcpt;
};

enum spawnproto_event {
    SPAWNPROTO_MORE,
    SPAWNPROTO_REQUEST, /* req is complete */
    SPAWNPROTO_REPORT,  /* rep is complete */
    SPAWNPROTO_BAD,     /* malformed: the peer is broken, stop */
    SPAWNPROTO_NOMEM,
};

struct spawn_reqparser {
    struct nulrec nr;
    int field; /* 0 slot, 1 msgid, 2 sender, 3+ recipients */
    struct spawn_request req;
};

void spawnproto_req_init(struct spawn_reqparser *p);
int spawnproto_req_push(struct spawn_reqparser *p, const char *buf,
                        size_t len, size_t *used);
void spawnproto_req_free(struct spawn_reqparser *p);

/* Reading reports (qmail-send's side). */
struct spawn_report {
    unsigned slot;
    struct bstr codes; /* one of r/h/s per recipient */
    struct bstr texts; /* each recipient's text followed by a NUL */
    char final;        /* K, Z or D */
    struct bstr text;  /* the final text */
};

struct spawn_repparser {
    struct nulrec nr;
    int field; /* 0 slot, 1+ records */
    struct spawn_report rep;
};

void spawnproto_rep_init(struct spawn_repparser *p);
int spawnproto_rep_push(struct spawn_repparser *p, const char *buf,
                        size_t len, size_t *used);
void spawnproto_rep_free(struct spawn_repparser *p);

#endif
