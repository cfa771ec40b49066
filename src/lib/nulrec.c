/* SPDX-License-Identifier: ISC */
/*
 * nulrec - NUL-terminated record parser (see nulrec.h).
 */
#include <string.h>

#include "nulrec.h"

void
nulrec_init(struct nulrec *p, size_t max)
{
    struct bstr empty = BSTR_INIT;

    p->max = max;
    p->broken = 0;
    p->done = 0;
    p->rec = empty;
}

void
nulrec_free(struct nulrec *p)
{
    bstr_free(&p->rec);
}

/*
 * nulrec_push - consume input up to the end of the next record.
 * After NULREC_RECORD, p->rec holds it until the next call; *used says
 * how much input was consumed either way.
 */
int
nulrec_push(struct nulrec *p, const char *buf, size_t len, size_t *used)
{
    const char *nul;
    size_t n;

    *used = 0;
    if (p->broken)
        return NULREC_TOOLONG;
    if (p->done) {
        /* the previous call returned a record: start a new one */
        bstr_truncate(&p->rec, 0);
        p->done = 0;
    }
    nul = len ? memchr(buf, '\0', len) : NULL;
    n = nul ? (size_t)(nul - buf) : len;
    if (p->rec.len + n > p->max) {
        p->broken = 1;
        *used = len;
        return NULREC_TOOLONG;
    }
    if (bstr_catb(&p->rec, buf, n) == -1)
        return NULREC_NOMEM;
    if (!nul) {
        *used = len;
        return NULREC_MORE;
    }
    if (bstr_ready(&p->rec, p->rec.len) == -1)
        return NULREC_NOMEM; /* an empty record still gets storage */
    p->done = 1;
    *used = n + 1;
    return NULREC_RECORD;
}
