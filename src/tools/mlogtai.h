/* SPDX-License-Identifier: ISC */
/*
 * mlogtai - tai64nlocal's filter: a line that starts with a TAI64N label
 * ("@" and 24 hex digits, as multilog's t writes it) gets the label
 * replaced by the local time "YYYY-MM-DD HH:MM:SS.nnnnnnnnn"; every
 * other byte passes through unchanged, lines of any length included.
 * A label followed directly by another hex digit, or one that names no
 * valid moment, is not a label and is left alone.  Push-based: bytes in,
 * text out; nothing here reads, writes or exits.
 */
#ifndef MLOGTAI_H
#define MLOGTAI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "bstr.h"
#include "datetime.h"

#define MLOGTAI_LOCAL_MAX 64 /* "YYYY-MM-DD HH:MM:SS.nnnnnnnnn" and room */

struct mlogtai {
    bool pass;                   /* the rest of this line passes through */
    size_t n;                    /* bytes of the line's start held in pre */
    char pre[TAI64N_LEN + 1];    /* the label and the byte after it */
};

void mlogtai_init(struct mlogtai *f);
int mlogtai_push(struct mlogtai *f, const char *in, size_t n,
                 struct bstr *out) WUR;
int mlogtai_eof(struct mlogtai *f, struct bstr *out) WUR;
size_t mlogtai_local(char out[MLOGTAI_LOCAL_MAX], const struct timespec *ts);

#endif
