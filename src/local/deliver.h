/* SPDX-License-Identifier: ISC */
/*
 * deliver - qmail-local's deliveries of one message (on fd 0, seekable):
 * into a maildir, onto an mbox, through a program, or forwarded by
 * qmail-queue; and the header lines and loop check that go with them.
 *
 * Each action returns qmail-local's exit code for it (0 done, 100 give
 * up, 111 try later) and, on failure, the words for the report in
 * q->err.  Every action rewinds the message first, so they can follow
 * one another in any order.
 */
#ifndef DELIVER_H
#define DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "bstr.h"

struct qlocal {
    /* qmail-local's arguments */
    const char *user, *home, *local, *dash, *ext, *host, *sender;
    const char *qqprog; /* qmail-queue (or $QMAILQUEUE) */
    int msgfd;
    time_t now;
    /* the lines qmail-local adds, each ending in "\n" */
    struct bstr recipient; /* local@host, newlines made '_' */
    struct bstr dtline, rpline, ufline;
    struct bstr newsender; /* envelope sender for forwards */
    /* results */
    unsigned long nfile, nforward, nprogram;
    long qp; /* qmail-queue's pid of the forward, 0 if none */
    struct bstr err;
};

void qlocal_init(struct qlocal *q);
void qlocal_free(struct qlocal *q);
int qlocal_lines(struct qlocal *q) WUR;
bool qlocal_is_dtline(const char *line, size_t len,
                      const struct bstr *recipient);
int qlocal_loopcheck(struct qlocal *q);
int qlocal_rewind(struct qlocal *q);
int qlocal_maildir(struct qlocal *q, const char *dir);
int qlocal_mbox(struct qlocal *q, const char *path);
int qlocal_program(struct qlocal *q, const char *cmd, bool *stop);
int qlocal_forward(struct qlocal *q, const char *const *rcpts, size_t n);
int qlocal_hostpart(struct bstr *out, const char *host, int n) WUR;
const char *qlocal_extpart(const char *ext, int n);

#endif
