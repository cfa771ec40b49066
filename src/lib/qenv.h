/* SPDX-License-Identifier: ISC */
/*
 * qenv - qmail's envelope stream "Fsender\0" then "Trcpt\0"... then "\0"
 * (qmail-queue's fd 1), read by an incremental push parser: feed bytes
 * in, take events out.  Items longer than the limit are refused, so a
 * hostile caller cannot make the reader grow without bound.
 */
#ifndef QENV_H
#define QENV_H

#include <stddef.h>

#include "bstr.h"

enum qenv_event {
    QENV_MORE,    /* all input used; feed more */
    QENV_SENDER,  /* item holds the sender (may be empty: bounce) */
    QENV_RCPT,    /* item holds one recipient */
    QENV_END,     /* the terminating empty record */
    QENV_FORMAT,  /* not an envelope (qmail-queue exit 91) */
    QENV_TOOLONG, /* an address over the limit (exit 11) */
    QENV_NOMEM,
};

struct qenv {
    int state;
    size_t max;
    struct bstr item;
};

void qenv_init(struct qenv *p, size_t max);
int qenv_push(struct qenv *p, const char *buf, size_t len, size_t *used);
void qenv_free(struct qenv *p);

#endif
