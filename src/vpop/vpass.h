/* SPDX-License-Identifier: ISC */
/*
 * vpass - making and checking vpopmail passwords.
 *
 * New passwords are hashed with yescrypt ("$y$", libxcrypt's default
 * cost).  Logins are checked against what vpopmail and its predecessors
 * left in vpasswd: yescrypt, SHA-512-crypt ($6$), SHA-256-crypt ($5$),
 * bcrypt ($2b$, $2y$, $2a$), MD5-crypt ($1$) and traditional DES (13
 * characters); any other hash, an empty one and a locked one ("!", "*")
 * never match.  CRAM-MD5 (RFC 2195) needs the clear text, which vpasswd
 * keeps in its last field only when control/vpopclearpasswd says 1
 * (vpopmail's --enable-clear-passwd); a clear text may hold ':', the
 * hash never does.  The SCRAM-SHA-256 keys of a password are made here
 * too (vscram stores them).  Comparisons take constant time, secrets are
 * wiped after use, and nothing here exits or logs.
 */
#ifndef VPASS_H
#define VPASS_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "scram.h"
#include "vpw.h"

#define VPASS_CLEAR_CONTROL "control/vpopclearpasswd"

int vpass_random(void *buf, size_t n) WUR;
bool vpass_hash_known(const char *hash);
int vpass_hash(const char *pass, struct bstr *out) WUR;
int vpass_check(const char *pass, const char *hash) WUR;
bool vpass_cram_ok(const char *clear, const char *chal, const char *digest);
bool vpass_apop_ok(const char *clear, const char *timestamp,
                   const char *digest);
int vpass_keepclear(void) WUR;
int vpass_set(struct vpw *pw, const char *pass, bool keepclear) WUR;
int vpass_scram_keys(const char *pass, size_t len, struct scram_keys *k) WUR;

#endif
