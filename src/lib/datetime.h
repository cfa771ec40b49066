/* SPDX-License-Identifier: ISC */
/*
 * datetime - the two time formats qmail writes: RFC 5322 dates as qmail
 * prints them ("11 Oct 2003 09:22:30 -0000", always UTC) and TAI64N
 * labels ("@4000000065a1b2c3" plus 8 hex digits of nanoseconds).
 */
#ifndef DATETIME_H
#define DATETIME_H

#include <stddef.h>
#include <time.h>

#include "bstr.h"

#define TAI64N_LEN 25 /* '@' + 24 hex digits */

int date822_cat(struct bstr *out, time_t t) WUR;
void tai64n_fmt(char out[TAI64N_LEN], const struct timespec *ts);
void tai64n_now(char out[TAI64N_LEN]);
int tai64n_scan(const char *s, size_t len, struct timespec *ts) WUR;
long long datetime_mono_ms(void);

#endif
