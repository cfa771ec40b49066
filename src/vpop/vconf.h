/* SPDX-License-Identifier: ISC */
/*
 * vconf - where the virtual domains live and whose they are.
 *
 * ~vpopmail (vpopmail's VPOPMAILDIR) is control/vpopmailhome when that
 * file exists, else the home of the user "vpopmail", else /home/vpopmail.
 * New domains go under ~vpopmail/domains/DOMAIN.  Run as root, they
 * belong to ~vpopmail's owner and group (vpopmail:vchkpw on a server, as
 * qmail-setup -r makes it; the owner of a single-user tree), or to the
 * user vpopmail and the group vchkpw when ~vpopmail is missing or root's;
 * run by another user, a single-user instance owns everything itself.  The account store is
 * control/vpopbackend: "cdb" (the default: vpasswd + vpasswd.cdb in each
 * domain's directory) or "pgsql" (control/vpoppgsql holds the libpq
 * connection string).  Paths relative to the caller's cwd, which is
 * $QMAIL_HOME (priv_home).  Nothing here exits or logs.
 */
#ifndef VCONF_H
#define VCONF_H

#include <stdbool.h>
#include <sys/types.h>

#include "bstr.h"

#define VCONF_USER "vpopmail"
#define VCONF_GROUP "vchkpw"
#define VCONF_HOME_DEFAULT "/home/vpopmail"

enum vconf_backend { VCONF_CDB, VCONF_PGSQL };

struct vconf {
    struct bstr home;     /* ~vpopmail, no trailing '/' */
    struct bstr qmailhome; /* $QMAIL_HOME as an absolute path */
    uid_t uid;            /* owner of new domains */
    gid_t gid;
    bool root;            /* running as root: files are chowned */
    enum vconf_backend backend;
    struct bstr pgconn;   /* control/vpoppgsql, for VCONF_PGSQL */
};

int vconf_load(struct vconf *c, const char **badfile) WUR;
void vconf_free(struct vconf *c);
int vconf_domains_dir(const struct vconf *c, struct bstr *out) WUR;

#endif
