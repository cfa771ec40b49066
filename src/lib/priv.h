/* SPDX-License-Identifier: ISC */
/*
 * priv - where the instance lives, who runs it, and dropping privileges.
 *
 * priv_home() is $QMAIL_HOME, unless the process runs with more
 * privilege than its caller (setuid/setgid, as qmail-queue in a root
 * install): then the caller's environment is ignored and the home fixed
 * at build time is used.  priv_drop() changes ids in a fixed order and
 * checks that the old ones cannot be regained.
 */
#ifndef PRIV_H
#define PRIV_H

#include <stdbool.h>
#include <sys/types.h>

#define WUR_P __attribute__((warn_unused_result))

bool priv_elevated(void);
const char *priv_home(void);
int priv_user(const char *name, uid_t *uid, gid_t *gid) WUR_P;
int priv_group(const char *name, gid_t *gid) WUR_P;
int priv_drop(uid_t uid, gid_t gid) WUR_P;

#endif
