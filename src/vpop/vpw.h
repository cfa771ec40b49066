/* SPDX-License-Identifier: ISC */
/*
 * vpw - vpopmail's per-domain account file, as vpopmail 5.4 writes
 * it, so that an existing tree works unchanged.  Pure: parsing,
 * checking, formatting and the table kept in memory; the tools read and
 * write the files (vpasswd, then vpasswd.cdb built from it).
 *
 * A line is
 *
 *   name:passwd:uid:gid:gecos:dir:quota[:clear]
 *
 * name: the mailbox (lower case); passwd: a crypt(3) hash, or empty (no
 * password); uid: 1 for POP, 2 for APOP (vpopmail's historic field);
 * gid: the account's flags (vpopmail's pw_gid bits: no POP, no IMAP, no
 * SMTP, ...); gecos: a comment, without ':' or newline; dir: the
 * account's directory (DOMAINDIR/[hash/]name); quota: "NOQUOTA", or
 * Maildir++'s "BYTESS[,COUNTC]" ("50000000S", "1000000S,1000C"); clear:
 * the clear-text password, only when the domain keeps them.  vpopmail
 * keeps the lines sorted by name (byte order) and reads a missing
 * trailing field as empty, a missing or empty number as 0; so does this.
 *
 * vpasswd.cdb has one record per line: the key is the name, the value
 * the rest of the line after the name's ':' (no newline).
 */
#ifndef VPW_H
#define VPW_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

#define VPW_NAME_MAX 32    /* vpopmail's MAX_PW_NAME */
#define VPW_FIELD_MAX 1024 /* any other field, in bytes */

/* vpopmail's flag bits in the gid field (vauth.h), for vmoduser. */
enum vpw_flag {
    VPW_NO_PASSWD_CHNG = 0x01,
    VPW_NO_POP = 0x02,
    VPW_NO_WEBMAIL = 0x04,
    VPW_NO_IMAP = 0x08,
    VPW_BOUNCE_MAIL = 0x10,
    VPW_NO_RELAY = 0x20,
    VPW_NO_DIALUP = 0x40,
    VPW_NO_SMTP = 0x800,
};

/* One account; the strings are owned by the entry (vpw_free). */
struct vpw {
    char *name;
    char *passwd;
    unsigned long uid;
    unsigned long gid;
    char *gecos;
    char *dir;
    char *quota;
    char *clear; /* NULL: the line had no clear-text field */
};

/* The accounts of one domain, sorted by name. */
struct vpw_table {
    struct vpw *e;
    size_t n;
};

bool vpw_name_ok(const char *name, size_t len);
int vpw_parse(const char *line, size_t len, struct vpw *pw) WUR;
int vpw_format(const struct vpw *pw, struct bstr *out) WUR;
void vpw_free(struct vpw *pw);

int vpw_table_parse(struct vpw_table *t, const char *text, size_t len,
                    size_t *badline) WUR;
int vpw_table_format(const struct vpw_table *t, struct bstr *out) WUR;
struct vpw *vpw_table_find(const struct vpw_table *t, const char *name);
int vpw_table_add(struct vpw_table *t, struct vpw *pw) WUR;
int vpw_table_del(struct vpw_table *t, const char *name) WUR;
void vpw_table_free(struct vpw_table *t);

#endif
