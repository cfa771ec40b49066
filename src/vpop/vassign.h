/* SPDX-License-Identifier: ISC */
/*
 * vassign - the virtual domains' lines of users/assign, as vpopmail's
 * vadddomain writes them:
 *
 *   +dom.com-:dom.com:UID:GID:/home/vpopmail/domains/dom.com:-::
 *
 * (qmail-users(5): every address starting with "dom.com-" is delivered
 * as the user dom.com with that uid, gid and home, whose .qmail-default
 * runs vdelivermail).  Pure text edits: the caller reads the file,
 * writes the result atomically and runs qmail-newu.  Every other line,
 * comment or not, is kept byte for byte, and the final "." line stays
 * last (it is added when missing, as qmail-newu needs it).
 */
#ifndef VASSIGN_H
#define VASSIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

#define VDOMAIN_MAX 255

bool vdomain_name_ok(const char *d, size_t len);
int vassign_set(const char *text, size_t len, const char *domain,
                unsigned long uid, unsigned long gid, const char *dir,
                struct bstr *out) WUR;
int vassign_set_alias(const char *text, size_t len, const char *domain,
                      const char *real, unsigned long uid, unsigned long gid,
                      const char *dir, struct bstr *out) WUR;
int vassign_del(const char *text, size_t len, const char *domain,
                struct bstr *out) WUR;
int vassign_find(const char *text, size_t len, const char *domain,
                 struct bstr *line) WUR;

/* One virtual domain's line; the pointers point into the text. */
struct vassign_line {
    const char *domain, *real, *dir;
    size_t domainlen, reallen, dirlen;
    unsigned long uid, gid;
};

int vassign_next(const char *text, size_t len, size_t *pos,
                 struct vassign_line *v) WUR;

#endif
