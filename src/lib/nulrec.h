/* SPDX-License-Identifier: ISC */
/*
 * nulrec - streams of NUL-terminated records, read by a push parser.
 *
 * qmail's programs talk to each other in records ended by a NUL: the
 * queue envelope, qmail-send's requests to qmail-lspawn/qmail-rspawn and
 * their reports, qmail-send's requests to qmail-clean.  Feed bytes in,
 * take whole records out; a record longer than the limit is refused, so
 * a peer cannot make the reader grow without bound.
 */
#ifndef NULREC_H
#define NULREC_H

#include <stddef.h>

#include "bstr.h"

enum nulrec_event {
    NULREC_MORE,    /* all input used; feed more */
    NULREC_RECORD,  /* rec holds one record (without its NUL) */
    NULREC_TOOLONG, /* a record over the limit: the stream is unusable */
    NULREC_NOMEM,
};

struct nulrec {
    size_t max;
    int broken;
    int done; /* rec holds a finished record, cleared at the next push */
    struct bstr rec;
};

void nulrec_init(struct nulrec *p, size_t max);
int nulrec_push(struct nulrec *p, const char *buf, size_t len, size_t *used);
void nulrec_free(struct nulrec *p);

#endif
