/* SPDX-License-Identifier: ISC */
/*
 * fmt, scan - integers to and from decimal text, with overflow detection.
 *
 * fmt_* write no NUL and return the number of bytes written; with a
 * NULL buffer they return the length that would be written.  scan_*
 * return the number of bytes consumed, 0 when no digit was found or the
 * value does not fit.
 */
#ifndef FMT_H
#define FMT_H

#include <stddef.h>

#define FMT_ULONG 24 /* enough for 2^64 in decimal, plus slack */

size_t fmt_ull(char *buf, unsigned long long u);
size_t fmt_ull0(char *buf, unsigned long long u, size_t width);
size_t fmt_hex(char *buf, unsigned long long u, size_t width);
size_t scan_ulong(const char *s, size_t len, unsigned long *u);
size_t scan_ull(const char *s, size_t len, unsigned long long *u);
int scan_xdigit(char c);

#endif
