/* SPDX-License-Identifier: ISC */
/*
 * users - which user gets a local address: users/cdb first, then the
 * passwd database by qmail-getpw(8)'s rules, then the alias user.
 *
 * qmail-getpw's rules: the longest prefix of the local part that ends
 * before a '-' (or is all of it) and names an account, if that account
 * has a nonzero uid, an all-lowercase name shorter than 32 characters,
 * and a home directory that exists and belongs to it.  Otherwise the
 * alias user gets the address, with the whole local part as extension:
 * ~alias/.qmail-<local>, then ~alias/.qmail-default.  The alias user's
 * home is always $QMAIL_HOME/alias (qmail-setup makes it), so several
 * instances each have their own.  The passwd calls go through a table,
 * so tests can supply their own accounts.
 */
#ifndef USERS_H
#define USERS_H

#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "assign.h"

#define USERS_NAME_MAX 31 /* qmail-getpw: names shorter than 32 */
#define USERS_ALIAS "alias"

struct users_ops {
    struct passwd *(*getpwnam)(const char *name);
    int (*stat)(const char *path, struct stat *st);
};

extern const struct users_ops users_system;

struct users_conf {
    const struct users_ops *ops;
    const char *cdb;       /* users/cdb, or NULL to skip it */
    const char *aliashome; /* $QMAIL_HOME/alias */
    bool rootmode;         /* alias's uid/gid come from passwd */
    unsigned long uid, gid; /* the instance's ids (single-user mode) */
};

int users_passwd(const struct users_ops *ops, const char *local, size_t len,
                 struct local_user *u) WUR;
int users_alias(const struct users_conf *c, const char *local, size_t len,
                struct local_user *u) WUR;
int users_find(const struct users_conf *c, const char *local, size_t len,
               struct local_user *u, const char **why) WUR;

#endif
