/* SPDX-License-Identifier: ISC */
/*
 * vstore - one domain's accounts on disk, in vpopmail's files: DIR/vpasswd
 * (the lines of vpw.h) and DIR/vpasswd.cdb built from it, changed
 * under vpopmail's lock file DIR/.vpasswd.lock, so that vpopmail's own
 * tools and ours can share a tree.
 *
 * A change is atomic: the new vpasswd is written to a temporary file,
 * fsynced and renamed over the old one, then vpasswd.cdb is rebuilt the
 * same way and the directory fsynced.  A crash between the two renames
 * leaves a cdb older than vpasswd; vstore_lock notices (the cdb's mtime
 * is older than vpasswd's) and rebuilds it before any change, and
 * vstore_lookup, which reads the cdb, sees the old state until then.
 * Files are mode 600 and, when running as root, owned by the domain's
 * uid and gid, as vpopmail leaves them.  Nothing here exits or logs.
 */
#ifndef VSTORE_H
#define VSTORE_H

#include <sys/types.h>

#include "bstr.h"
#include "vpw.h"

#define VSTORE_LOCK_WAIT 30 /* seconds to wait for another tool's lock */

struct vstore {
    char *dir;
    int lockfd; /* -1 when not locked */
    uid_t uid;  /* the domain's owner, for the files written as root */
    gid_t gid;
};

int vstore_lock(struct vstore *vs, const char *dir, uid_t uid, gid_t gid) WUR;
int vstore_load(const struct vstore *vs, struct vpw_table *t,
                size_t *badline) WUR;
int vstore_save(const struct vstore *vs, const struct vpw_table *t) WUR;
int vstore_rebuild_cdb(const struct vstore *vs, const struct vpw_table *t) WUR;
void vstore_unlock(struct vstore *vs);

int vstore_lookup(const char *dir, const char *name, struct vpw *pw) WUR;

#endif
