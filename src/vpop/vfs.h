/* SPDX-License-Identifier: ISC */
/*
 * vfs - the file-system chores of the account tools, done without
 * following symbolic links (a user who controls a mailbox must not make
 * root remove or chown something outside it): removing a tree, making a
 * Maildir with its owner, setting owner and modes over a tree as
 * vpopmail leaves them (directories 700, files 600).  Nothing here exits
 * or logs.
 */
#ifndef VFS_H
#define VFS_H

#include <stdbool.h>
#include <sys/types.h>

#include "bstr.h"

struct vfs_fix {
    unsigned long dirs, files, changed; /* seen, and those fixed */
    unsigned long skipped;              /* symbolic links and others */
    unsigned long failed;               /* could not be changed */
    int first_errno;                    /* why the first of those */
};

int vfs_rmtree(const char *path) WUR;
int vfs_mkdir(const char *path, mode_t mode, uid_t uid, gid_t gid,
              bool chown_it) WUR;
int vfs_maildir(const char *dir, uid_t uid, gid_t gid, bool chown_it) WUR;
int vfs_fixtree(const char *path, uid_t uid, gid_t gid, bool chown_it,
                struct vfs_fix *st) WUR;

#endif
