/* SPDX-License-Identifier: ISC */
/*
 * qq - hand a message to qmail-queue (or $QMAILQUEUE), as qmail's
 * qmail.c does: the message goes down one pipe (the child's fd 0), then
 * the envelope "Fsender\0Trcpt\0...\0" down another (its fd 1).  The
 * child's exit code is the verdict (outcome_from_qq()).  A write error
 * is remembered and reported at close, never lost.
 */
#ifndef QQ_H
#define QQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bstr.h"
#include "iob.h"

struct qq {
    pid_t pid;
    int msgfd;
    int envfd;
    bool err;
    unsigned long long bytes;
    struct iob out;
    char buf[16384];
};

int qq_open(struct qq *q, const char *prog, char *const envp[]) WUR;
void qq_put(struct qq *q, const void *p, size_t n);
void qq_puts(struct qq *q, const char *s);
void qq_from(struct qq *q, const char *sender, size_t len);
void qq_to(struct qq *q, const char *rcpt, size_t len);
int qq_close(struct qq *q);
void qq_abort(struct qq *q);

#endif
