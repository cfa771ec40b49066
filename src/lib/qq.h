/* SPDX-License-Identifier: ISC */
/*
 * qq - hand messages to qmail-queue (or $QMAILQUEUE), as qmail's qmail.c
 * does, with one addition.
 *
 * Single mode (any queue program): per message, the message goes down
 * one pipe (the child's fd 0), then the envelope "Fsender\0Trcpt\0...\0"
 * down another (its fd 1); the child's exit code is the verdict
 * (outcome_from_qq()).
 * Batch mode (our own qmail-queue only): one "qmail-queue -m" serves every
 * message of a session over a socket (framing in src/queue/batch.h) and
 * answers each with the exit code single mode would have given.  The
 * trust boundary is unchanged: the same setuid program writes the queue.
 * A write error is remembered and reported at close, never lost.
 *
 * With qq_capture (qmail-smtpd), the child's stderr is a pipe read by qq:
 * what it writes about a message (qmail-queue's "unable to ..." line, or
 * a filter's words) is kept, QQ_SAID_MAX bytes at most, for the caller's
 * log (qq_said).  qq never waits on the child while the child could be
 * waiting on that pipe, so a chatty filter cannot stall a session.
 */
#ifndef QQ_H
#define QQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bstr.h"
#include "iob.h"

#define QQ_SAID_MAX 512

struct qq {
    const char *prog;
    bool batch;
    pid_t pid;  /* the qmail-queue serving the current message */
    int msgfd;  /* single mode: message pipe */
    int envfd;  /* single mode: envelope pipe */
    int sock;   /* batch mode: socket to qmail-queue -m */
    bool open;  /* a message is in progress */
    bool inenv; /* its message part is done; the envelope is being built */
    bool err;
    bool capture;   /* qq_capture: keep the child's stderr */
    int errfd;      /* read end of the child's fd 2, or -1 */
    size_t saidlen; /* bytes of said[] for the current message */
    bool saidcut;   /* it wrote more than QQ_SAID_MAX bytes */
    char said[QQ_SAID_MAX];
    unsigned long long bytes;
    struct iob out;      /* single mode */
    struct bstr env;     /* batch mode: the envelope being built */
    size_t fill;         /* batch mode: bytes in buf */
    char buf[16384];
};

void qq_init(struct qq *q, const char *prog, bool batch);
void qq_capture(struct qq *q);
int qq_open(struct qq *q) __attribute__((warn_unused_result));
void qq_put(struct qq *q, const void *p, size_t n);
void qq_puts(struct qq *q, const char *s);
void qq_from(struct qq *q, const char *sender, size_t len);
void qq_to(struct qq *q, const char *rcpt, size_t len);
int qq_close(struct qq *q);
void qq_abort(struct qq *q);
void qq_end(struct qq *q);
const char *qq_said(const struct qq *q, size_t *len, bool *cut);

#endif
