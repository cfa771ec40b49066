/* SPDX-License-Identifier: ISC */
/*
 * mbox - appending a message to an mbox file, qmail-local's way.
 *
 * The file is dot-locked (when its directory allows) and flocked, each
 * for at most 30 seconds; the message goes in after a "From " line and
 * the caller's header lines, every line that matches ">*From " gets one
 * more '>' (the mboxrd rule: unquoting is exact), a missing final newline
 * is added, and a blank line ends the message.  The file is fsynced; on
 * any failure it is cut back to its old length, so a reader never sees
 * half a message.  A file that is not a regular file (/dev/null) is just
 * written to.  The quoter is a push parser, so it is tested alone.
 */
#ifndef MBOX_H
#define MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>
#include <time.h>

#include "bstr.h"

#define MBOX_LOCK_SECONDS 30

struct mbox_quoter {
    int state;       /* at line start, matching "From ", inside a line */
    size_t gt;       /* '>' seen at the start of this line */
    size_t fromlen;  /* how much of "From " matched after them */
    bool any;        /* some output was produced */
    bool nl;         /* the last byte produced was a newline */
};

bool mbox_needs_quote(const char *line, size_t len);
void mbox_quote_init(struct mbox_quoter *q);
int mbox_quote_push(struct mbox_quoter *q, const char *in, size_t len,
                    struct bstr *out) WUR;
int mbox_quote_end(struct mbox_quoter *q, struct bstr *out) WUR;
int mbox_ufline(struct bstr *out, const char *sender, time_t t) WUR;
int mbox_append(const char *path, const struct iovec *head, int nhead,
                int msgfd, struct bstr *err) WUR;

#endif
