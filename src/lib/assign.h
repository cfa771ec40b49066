/* SPDX-License-Identifier: ISC */
/*
 * assign - users/assign (qmail-users(5)) and its compiled form users/cdb.
 *
 * The cdb is qmail-1.03's, so a users/cdb built by qmail's qmail-newu
 * works here and the other way round: an exact entry "=local:..." is the
 * key "!local\0", a wildcard "+loc:..." the key "!loc", the value is
 * "user\0uid\0gid\0home\0dash\0ext", and the empty key lists the last
 * characters of all wildcard prefixes (so a lookup tries only prefixes
 * that can match).  Keys are lowercase.  A lookup takes the exact entry,
 * else the longest wildcard prefix; the first of several equal entries
 * wins.
 */
#ifndef ASSIGN_H
#define ASSIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

#define ASSIGN_MAX_ERRORS 20 /* lines quoted in one error report */

/* One line of users/assign; the pointers point into the line. */
struct assign_entry {
    char type; /* '=' exact, '+' wildcard */
    const char *local;
    size_t locallen;
    const char *user;
    size_t userlen;
    unsigned long uid, gid;
    const char *home;
    size_t homelen;
    const char *dash;
    size_t dashlen;
    const char *ext;
    size_t extlen;
};

enum assign_kind { ASSIGN_ENTRY, ASSIGN_END, ASSIGN_BAD };

/* Who gets an address: qmail-getpw's six fields. */
struct local_user {
    struct bstr user;
    unsigned long uid, gid;
    struct bstr home, dash, ext;
};

int assign_parse_line(const char *line, size_t len, struct assign_entry *e,
                      const char **why);
int assign_key(struct bstr *key, const struct assign_entry *e) WUR;
int assign_value(struct bstr *val, const struct assign_entry *e) WUR;
int assign_compile(const char *text, size_t len, const char *cdb,
                   const char *tmp, struct bstr *errs, size_t *nentries) WUR;

void local_user_init(struct local_user *u);
void local_user_free(struct local_user *u);
int assign_value_parse(const char *v, size_t len, struct local_user *u) WUR;
int assign_lookup(const char *cdbpath, const char *local, size_t len,
                  struct local_user *u) WUR;

#endif
