/* SPDX-License-Identifier: ISC */
/*
 * body - a queued message (LF line ends) as SMTP DATA puts it on the wire.
 *
 * Every line ends in CRLF; a line starting with '.' gets one more (RFC
 * 5321 §4.5.2); the end is CRLF "." CRLF, after a CRLF added when the
 * message does not end with a newline.  No lone CR or LF ever reaches
 * the wire, so no receiver can be fooled into seeing an early end of data
 * (SMTP smuggling): a CR before an LF is part of that line end, and any
 * other CR ends a line like an LF.  The encoder is a push parser: bytes
 * in, wire bytes out, constant memory; with a NULL output it only counts,
 * which gives the size to announce (RFC 1870: CRLFs counted, stuffing
 * dots and the final "." not) and whether the message has 8-bit bytes.
 */
#ifndef BODY_H
#define BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

struct body_enc {
    bool bol;              /* at the start of a line */
    bool cr;               /* a CR held back, waiting for the next byte */
    bool eightbit;         /* a byte >= 0x80 was seen */
    unsigned long long size; /* bytes produced, stuffing and end excluded */
};

void body_init(struct body_enc *e);
int body_push(struct body_enc *e, const char *in, size_t len,
              struct bstr *out) WUR;
int body_end(struct body_enc *e, struct bstr *out) WUR;
int body_scan(int fd, unsigned long long *size, bool *eightbit) WUR;

#endif
