/* SPDX-License-Identifier: ISC */
/*
 * base64 - RFC 4648 section 4 base64, without line breaks, as SMTP AUTH
 * (RFC 4954) and POP3/IMAP SASL exchanges carry it.  Decoding is strict:
 * anything but the alphabet with correct '=' padding is refused, so no
 * two inputs decode to the same bytes by accident.  Never exits or logs.
 */
#ifndef BASE64_H
#define BASE64_H

#include <stddef.h>

#include "bstr.h"

/* base64_encode - append the encoding of in[0..n) to out: 0 or -1. */
int base64_encode(struct bstr *out, const void *in, size_t n) WUR;
/* base64_decode - append the bytes in[0..n) encodes: 0, or -1 with errno
 * EINVAL (not strict base64) or ENOMEM. */
int base64_decode(struct bstr *out, const char *in, size_t n) WUR;

#endif
