/* SPDX-License-Identifier: ISC */
/*
 * header - the header section of a message (RFC 5322 §2.2) as a push
 * parser: feed bytes in chunks of any size, get one event at a time.
 *
 * Events: a complete field (its folded lines joined exactly as written,
 * ending in LF), an mbox "From " line (qmail turns it into MBOX-Line:),
 * or the end of the header section.  Lines end in LF: callers that read
 * CRLF normalise first.  As in qmail's headerbody, a line that cannot
 * start a field (no colon, a name with blanks or control characters)
 * ends the header and is the body's first line.  The parser never holds
 * more than `max` bytes of header (EMSGSIZE beyond), never reads past
 * what it was given, and neither exits nor logs.
 */
#ifndef HEADER_H
#define HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

enum header_event {
    HEADER_MORE,  /* all input consumed, no event yet */
    HEADER_FIELD, /* h->field holds one field */
    HEADER_MBOX,  /* h->field holds a "From " line (and its folds) */
    HEADER_END    /* end of the header section; see h->end */
};

enum header_end {
    HEADER_END_BLANK, /* an empty line ended it (consumed) */
    HEADER_END_BODY,  /* a non-field line: h->field holds its start */
    HEADER_END_EOF    /* the input ended inside the header */
};

struct header {
    int state;
    size_t max;          /* cap on header bytes */
    size_t total;        /* header bytes consumed so far */
    struct bstr field;   /* the field being built, then reported */
    size_t namelen;      /* reported field: name length, blanks excluded */
    size_t value;        /* reported field: offset just past the colon */
    enum header_end end; /* with HEADER_END */
};

void header_init(struct header *h, size_t max);
int header_feed(struct header *h, const char *p, size_t n, size_t *used)
    __attribute__((warn_unused_result));
int header_eof(struct header *h) __attribute__((warn_unused_result));
bool header_name_is(const struct header *h, const char *name);
void header_free(struct header *h);

#endif
