/* SPDX-License-Identifier: ISC */
/*
 * reply - reading an SMTP server's replies, a push parser.
 *
 * Feed the bytes the server sent; after REPLY_DONE the reply's code and
 * its lines are in the struct and the unused bytes (pipelined replies)
 * are left to the caller.  A reply is one or more lines "ddd-text" ended
 * by one "ddd text" (or "ddd"), all with the same code 200..599, each
 * ended by CRLF or a bare LF (RFC 5321 §4.2).  The parser never holds
 * more than REPLY_LINE_MAX bytes of a line, REPLY_LINES_MAX lines or
 * REPLY_BYTES_MAX bytes of one reply: beyond that, or on anything that
 * is not a reply, it stops with REPLY_BAD and a reason in err.  The text
 * kept for reports (lines joined by '\n', control bytes as '?') is cut
 * at REPLY_TEXT_MAX.
 */
#ifndef REPLY_H
#define REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

#define REPLY_LINE_MAX 1000  /* RFC 5321 allows 512 with CRLF; be lenient */
#define REPLY_LINES_MAX 200  /* an EHLO reply has a few dozen at most */
#define REPLY_BYTES_MAX 65536
#define REPLY_TEXT_MAX 4000

enum reply_event { REPLY_MORE, REPLY_DONE, REPLY_BAD, REPLY_NOMEM };

struct reply {
    unsigned code;     /* after REPLY_DONE: 200..599 */
    struct bstr text;  /* the lines, each ended by '\n', for people */
    struct bstr lines; /* each line's text after "ddd-", NUL-ended */
    size_t nlines;
    size_t total;      /* bytes of this reply so far */
    struct bstr line;  /* the line being read */
    const char *err;   /* after REPLY_BAD: what was wrong */
    bool done;
};

void reply_init(struct reply *r);
void reply_reset(struct reply *r);
int reply_push(struct reply *r, const char *buf, size_t len, size_t *used);
void reply_free(struct reply *r);
const char *reply_line_next(const struct reply *r, const char *prev);

#endif
