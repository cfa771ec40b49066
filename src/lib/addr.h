/* SPDX-License-Identifier: ISC */
/*
 * addr - RFC 5321 paths: parsing, length caps, quoting.
 *
 * The parser turns "<@relay:\"john doe\"@example.com>" into the form the
 * queue stores: the local part unquoted, '@', the domain ("john
 * doe@example.com"); source routes are checked and dropped, as qmail
 * does.  It is strict about what a mailbox may contain (RFC 5321 §4.1.2,
 * RFC 6531 when SMTPUTF8 is in effect) and never reads past len.
 * It refuses: control characters, unbalanced quotes or brackets, empty
 * labels, over-long parts, non-ASCII without SMTPUTF8, invalid UTF-8.
 */
#ifndef ADDR_H
#define ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

#define ADDR_MAX 900      /* whole address, as stored in the queue */
#define ADDR_LOCAL_MAX 255 /* RFC 5321 says 64; VERP and SRS need more */
#define ADDR_DOMAIN_MAX 255

enum addr_flag {
    ADDR_F_UTF8 = 1,      /* SMTPUTF8: UTF-8 local parts and domains */
    ADDR_F_NULL_OK = 2,   /* "<>" is acceptable (reverse-path) */
    ADDR_F_NOBRACKET = 4, /* tolerate a path without <> (qmail did) */
};

enum addr_status {
    ADDR_OK = 0,
    ADDR_SYNTAX,
    ADDR_TOOLONG,
    ADDR_NEEDUTF8,
    ADDR_BADUTF8,
};

int addr_parse_path(const char *s, size_t len, unsigned flags,
                    struct bstr *out, size_t *used) WUR;
size_t addr_utf8_valid(const char *s, size_t len);
bool addr_is_ascii(const char *s, size_t len);
bool addr_domain_valid(const char *s, size_t len, bool utf8);
size_t addr_at(const char *a, size_t len);
int addr_quote(struct bstr *out, const char *a, size_t len) WUR;

#endif
