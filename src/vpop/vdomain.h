/* SPDX-License-Identifier: ISC */
/*
 * vdomain - finding a virtual domain as vpopmail's vget_assign does: the
 * wildcard entry "+DOMAIN-" of users/assign, compiled into users/cdb
 * (key "!DOMAIN-").  Its user field is the real domain (an alias domain's
 * line names the domain it stands for), its home the domain's directory,
 * its uid and gid the owner of the domain's files.  Read-only; the cwd is
 * $QMAIL_HOME.  Nothing here exits or logs.
 */
#ifndef VDOMAIN_H
#define VDOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bstr.h"

#define VDOMAIN_USERS_CDB "users/cdb"

struct vdomain {
    struct bstr name; /* as asked, lower case */
    struct bstr real; /* the domain it is (differs for an alias domain) */
    struct bstr dir;  /* the domain's directory */
    uid_t uid;
    gid_t gid;
};

int vdomain_lower(const char *d, size_t len, struct bstr *out) WUR;
int vdomain_find(const char *domain, size_t len, struct vdomain *d) WUR;
bool vdomain_is_alias(const struct vdomain *d);
void vdomain_free(struct vdomain *d);

#endif
