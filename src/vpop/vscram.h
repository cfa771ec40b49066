/* SPDX-License-Identifier: ISC */
/*
 * vscram - the SCRAM-SHA-256 keys of a domain's accounts, kept beside
 * their crypt hashes so that SCRAM works without clear-text passwords.
 *
 * DOMAINDIR/vscram.cdb: the key is the account's name, the value
 *
 *   SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY HASH
 *
 * PostgreSQL's verifier text, a space, and the crypt hash of vpasswd the
 * keys were made with.  When the account's hash is no longer that one
 * (its password was changed by a tool that knows nothing of this file,
 * vpopmail's own vpasswd say), the keys are stale and never used.  The
 * file is rebuilt whole (temporary file, fsync, rename, directory fsync)
 * under the domain's .vpasswd.lock, mode 600 and, when run as root, owned
 * by the domain's owner, as vpasswd.cdb is.
 *
 * With PostgreSQL accounts (control/vpopbackend pgsql) the keys live in
 * the database instead, table vpopmail_scram (vauth_pg.h), so that every
 * host of a fleet sees them: vscram_load and vscram_store choose.
 *
 * Unknown users get made-up keys (vscram_fake) from a server secret,
 * ~vpopmail/etc/vscram.secret (mode 600, made at the first need), so the
 * same name always sees the same salt and nobody can tell on the wire
 * which names exist.  Nothing here exits or logs.
 */
#ifndef VSCRAM_H
#define VSCRAM_H

#include <sys/types.h>

#include "bstr.h"
#include "scram.h"
#include "vauth.h"

#define VSCRAM_FILE "vscram.cdb"
#define VSCRAM_TMP ".vscram.cdb.tmp" /* no account can have this name */
#define VSCRAM_SECRET "etc/vscram.secret"
#define VSCRAM_SECRET_LEN 32

int vscram_record(struct bstr *out, const struct scram_keys *k,
                  const char *hash) WUR;
int vscram_parse(const char *v, size_t n, struct scram_keys *k,
                 struct bstr *hash) WUR;
int vscram_get(const char *dir, const char *name, const char *hash,
               struct scram_keys *k) WUR;
int vscram_put(const char *dir, uid_t uid, gid_t gid, const char *name,
               const struct scram_keys *k, const char *hash, unsigned wait) WUR;
int vscram_load(struct vauth *a, const struct vdomain *d, const char *name,
                const char *hash, struct scram_keys *k) WUR;
int vscram_store(struct vauth *a, const struct vdomain *d, const char *name,
                 const struct scram_keys *k, const char *hash,
                 unsigned wait) WUR;
int vscram_secret(const char *home, uid_t uid, gid_t gid,
                  unsigned char out[VSCRAM_SECRET_LEN]) WUR;
int vscram_fake(const unsigned char secret[VSCRAM_SECRET_LEN],
                const char *login, size_t len, struct scram_keys *k) WUR;

#endif
